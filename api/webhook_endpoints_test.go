package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/notify"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

// The real store and guard satisfy the interfaces the API declares.
var (
	_ WebhookEndpointStore = (*store.Store)(nil)
	_ URLChecker           = (*notify.Guard)(nil)
)

// mapResolver resolves names from a table that a test may change.
type mapResolver struct {
	mu    sync.Mutex
	names map[string]string
}

func (r *mapResolver) set(host, ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names[host] = ip
}

func (r *mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ip, ok := r.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(ip)}, nil
}

// newEndpointHarness is a server over the real store with the real SSRF
// guard; its resolver knows hooks.example.com (public) and internal.example
// (private). The guard's dialer fails the test: subscribing never connects.
func newEndpointHarness(t *testing.T, st *store.Store) (*harness, *mapResolver) {
	t.Helper()
	resolver := &mapResolver{names: map[string]string{"hooks.example.com": "93.184.215.14", "internal.example": "10.0.0.7"}}
	guard := notify.NewGuard(notify.GuardOptions{Resolver: resolver,
		Dial: func(_ context.Context, network, address string) (net.Conn, error) {
			t.Errorf("the API connected to %s %s", network, address)
			return nil, fmt.Errorf("no dialling in API tests")
		}})
	h := newStoreHarness(t, st, func(c *Config) {
		c.WebhookEndpoints = st
		c.WebhookURLs = guard
		c.RateBurst = 1000
	})
	return h, resolver
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func decodeInto[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
	return v
}

// endpointJSON decodes an endpoint answer, keeping track of which keys it had.
type endpointJSON struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Events                  []string   `json:"events"`
	Enabled                 bool       `json:"enabled"`
	DisabledReason          *string    `json:"disabled_reason"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	Secret                  *string    `json:"secret"`
}

func (h *harness) createEndpoint(key, url string, events ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/webhook-endpoints", jsonBody(h.t, map[string]any{"url": url, "events": events}), bearer(key))
}

func TestWebhookEndpointRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, _ := newEndpointHarness(t, st)

		rec := h.createEndpoint(merchantKeyDemo, "https://hooks.example.com/crossdock",
			"order.action_required", "order.stage_changed", "order.stage_changed")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		created := decodeInto[endpointJSON](t, rec)
		assert.True(t, strings.HasPrefix(created.ID, "we_"), created.ID)
		assert.Equal(t, "https://hooks.example.com/crossdock", created.URL)
		assert.Equal(t, []string{"order.stage_changed", "order.action_required"}, created.Events)
		assert.True(t, created.Enabled)
		assert.Nil(t, created.DisabledReason)
		assert.Nil(t, created.PreviousSecretExpiresAt)
		require.NotNil(t, created.Secret)
		assert.True(t, strings.HasPrefix(*created.Secret, "whsec_"))
		endpoint := "/v1/webhook-endpoints/" + created.ID

		rec = h.do(http.MethodGet, endpoint, nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "secret\"", "the secret is shown only once")
		assert.NotContains(t, rec.Body.String(), *created.Secret)

		h.createEndpoint(merchantKeyDemo, "https://hooks.example.com/second", "shipment.status_changed")
		rec = h.do(http.MethodGet, "/v1/webhook-endpoints?limit=1", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		page := decodeInto[struct {
			Data       []endpointJSON `json:"data"`
			NextCursor *string        `json:"next_cursor"`
		}](t, rec)
		require.Len(t, page.Data, 1)
		assert.Equal(t, "https://hooks.example.com/second", page.Data[0].URL, "newest first")
		assert.Nil(t, page.Data[0].Secret)
		require.NotNil(t, page.NextCursor)
		rec = h.do(http.MethodGet, "/v1/webhook-endpoints?limit=1&cursor="+*page.NextCursor, nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), created.ID)
		assert.Contains(t, rec.Body.String(), `"next_cursor":null`)

		rec = h.do(http.MethodPost, endpoint+"/rotate-secret", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rotated := decodeInto[endpointJSON](t, rec)
		require.NotNil(t, rotated.Secret)
		assert.NotEqual(t, *created.Secret, *rotated.Secret)
		require.NotNil(t, rotated.PreviousSecretExpiresAt, "the old secret signs for 24h")
		assert.WithinDuration(t, time.Now().Add(24*time.Hour), *rotated.PreviousSecretExpiresAt, time.Minute)

		rec = h.do(http.MethodGet, endpoint+"/deliveries", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"data":[],"next_cursor":null}`, rec.Body.String())

		t.Run("another merchant gets 404 on every route, as for a missing id", func(t *testing.T) {
			missing := "/v1/webhook-endpoints/we_01ARZ3NDEKTSV4RRFFQ69G5FAV"
			for _, r := range []struct{ method, suffix string }{
				{http.MethodGet, ""}, {http.MethodDelete, ""}, {http.MethodPost, "/rotate-secret"},
				{http.MethodPost, "/enable"}, {http.MethodGet, "/deliveries"},
				{http.MethodPost, "/deliveries/wd_01ARZ3NDEKTSV4RRFFQ69G5FAV/redeliver"},
			} {
				theirs := h.do(r.method, endpoint+r.suffix, nil, bearer(merchantKeyOther))
				absent := h.do(r.method, missing+r.suffix, nil, bearer(merchantKeyOther))
				require.Equal(t, http.StatusNotFound, theirs.Code, "%s %s: %s", r.method, r.suffix, theirs.Body.String())
				assert.Equal(t, absent.Body.String(), theirs.Body.String(), "%s %s", r.method, r.suffix)
				assert.Equal(t, "not_found", decodeError(t, theirs).Error.Code)
			}
			list := h.do(http.MethodGet, "/v1/webhook-endpoints", nil, bearer(merchantKeyOther))
			require.Equal(t, http.StatusOK, list.Code)
			assert.JSONEq(t, `{"data":[],"next_cursor":null}`, list.Body.String())
			still := h.do(http.MethodGet, endpoint, nil, bearer(merchantKeyDemo))
			assert.Equal(t, http.StatusOK, still.Code, "B's attempts changed nothing")
		})

		t.Run("an id that cannot be ours is a 404 too", func(t *testing.T) {
			rec := h.do(http.MethodGet, "/v1/webhook-endpoints/"+strings.Repeat("x", 80), nil, bearer(merchantKeyDemo))
			require.Equal(t, http.StatusNotFound, rec.Code)
		})

		t.Run("no key, no access", func(t *testing.T) {
			rec := h.do(http.MethodGet, "/v1/webhook-endpoints", nil, nil)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		})

		rec = h.do(http.MethodDelete, endpoint, nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		assert.Empty(t, rec.Body.String())
		rec = h.do(http.MethodGet, endpoint, nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "webhook endpoint not found", decodeError(t, rec).Error.Message)
	})
}

func TestWebhookEndpointValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, _ := newEndpointHarness(t, st)
		tests := []struct {
			name   string
			body   string
			status int
			fields []string
			want   string
		}{
			{"not JSON", `{"url":`, http.StatusBadRequest, []string{"body"}, "not valid JSON"},
			{"events not a list", `{"url":"https://hooks.example.com","events":"order.stage_changed"}`, 422, []string{"events"}, "array"},
			{"no events", `{"url":"https://hooks.example.com/x","events":[]}`, 422, []string{"events"}, "at least one"},
			{"unknown event", `{"url":"https://hooks.example.com/x","events":["order.stage_changed","order.created"]}`, 422,
				[]string{"events[1]"}, "must be one of order.stage_changed"},
			{"no url", `{"events":["order.stage_changed"]}`, 422, []string{"url"}, "required"},
			{"http", `{"url":"http://hooks.example.com/x","events":["order.stage_changed"]}`, 422, []string{"url"}, "https"},
			{"loopback", `{"url":"https://127.0.0.1:8443/x","events":["order.stage_changed"]}`, 422, []string{"url"}, "loopback"},
			{"metadata", `{"url":"https://169.254.169.254/latest","events":["order.stage_changed"]}`, 422, []string{"url"}, "metadata"},
			{"private name", `{"url":"https://internal.example/x","events":["order.stage_changed"]}`, 422, []string{"url"}, "private"},
			{"unresolvable", `{"url":"https://nowhere.example/x","events":["order.stage_changed"]}`, 422, []string{"url"}, "does not resolve"},
			{"both wrong", `{"url":"https://[::1]/x","events":["nope"]}`, 422, []string{"events[0]", "url"}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := h.do(http.MethodPost, "/v1/webhook-endpoints", []byte(tt.body), bearer(merchantKeyDemo))
				require.Equal(t, tt.status, rec.Code, rec.Body.String())
				e := decodeError(t, rec)
				assert.Equal(t, "invalid_request", e.Error.Code)
				assert.Equal(t, tt.fields, fields(e))
				if tt.want != "" {
					assert.Contains(t, e.Error.Details[0].Problem, tt.want)
				}
			})
		}
		list, _, err := st.ListWebhookEndpoints(t.Context(), "m_demo", 0, "")
		require.NoError(t, err)
		assert.Empty(t, list, "refused requests stored nothing")

		t.Run("bad list queries", func(t *testing.T) {
			rec := h.do(http.MethodGet, "/v1/webhook-endpoints?limit=500", nil, bearer(merchantKeyDemo))
			require.Equal(t, 422, rec.Code)
			assert.Equal(t, []string{"limit"}, fields(decodeError(t, rec)))
			rec = h.do(http.MethodGet, "/v1/webhook-endpoints?cursor=forged", nil, bearer(merchantKeyDemo))
			require.Equal(t, 422, rec.Code)
			assert.Equal(t, []string{"cursor"}, fields(decodeError(t, rec)))
		})

		t.Run("at most 10 endpoints per merchant", func(t *testing.T) {
			for i := range store.MaxWebhookEndpoints {
				rec := h.createEndpoint(merchantKeyDemo, fmt.Sprintf("https://hooks.example.com/%d", i), "order.stage_changed")
				require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			}
			rec := h.createEndpoint(merchantKeyDemo, "https://hooks.example.com/one-too-many", "order.stage_changed")
			require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
			assert.Contains(t, decodeError(t, rec).Error.Message, "at most 10")
			other := h.createEndpoint(merchantKeyOther, "https://hooks.example.com/other", "order.stage_changed")
			assert.Equal(t, http.StatusCreated, other.Code, "the limit is per merchant")
		})
	})
}

func TestWebhookEndpointsNotConfigured(t *testing.T) {
	h := newHarness(t)
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/v1/webhook-endpoints"}, {http.MethodGet, "/v1/webhook-endpoints"},
		{http.MethodGet, "/v1/webhook-endpoints/we_1"}, {http.MethodPost, "/v1/webhook-endpoints/we_1/enable"},
	} {
		rec := h.do(r.method, r.path, []byte(`{}`), bearer(merchantKeyDemo))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, r.path)
		assert.Contains(t, decodeError(t, rec).Error.Message, "not configured")
	}
	_, err := New(Config{Store: newFakeStore(), Temporal: &fakeTemporal{}, OrderWebhookSecrets: []string{secretOld},
		WebhookURLs: notify.NewGuard(notify.GuardOptions{})})
	require.ErrorContains(t, err, "set both or neither")
}

// deliverOnce fans the outbox out and records one attempt for every due
// delivery, as the sender would, with the given outcome.
func deliverOnce(t *testing.T, st *store.Store, at time.Time, status int, disableAfterFailing bool) {
	t.Helper()
	ctx := t.Context()
	_, err := st.FanOutEvents(ctx, at, 100)
	require.NoError(t, err)
	jobs, err := st.ClaimWebhookDeliveries(ctx, at, time.Minute, 100)
	require.NoError(t, err)
	for _, j := range jobs {
		rec := store.AttemptRecord{DeliveryID: j.DeliveryID, LeaseToken: j.LeaseToken, EndpointID: j.EndpointID,
			Number: j.Attempt, At: at, StatusCode: status, Duration: 40 * time.Millisecond}
		if status >= 200 && status < 300 {
			rec.Delivered = true
		} else {
			rec.Error, rec.Failures, rec.NextAttemptAt = fmt.Sprintf("HTTP %d", status), j.Failures+1, at.Add(time.Minute)
			if disableAfterFailing {
				rec.DisableIfFailingSince, rec.DisableReason = at, "every attempt failed for 72h"
			}
		}
		_, err := st.RecordWebhookAttempt(ctx, rec)
		require.NoError(t, err)
	}
}

func TestWebhookDeliveryLogRedeliverAndEnable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, resolver := newEndpointHarness(t, st)
		ctx := t.Context()
		rec := h.createEndpoint(merchantKeyDemo, "https://hooks.example.com/log", "order.stage_changed")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		ep := decodeInto[endpointJSON](t, rec)
		base := "/v1/webhook-endpoints/" + ep.ID

		_, err := st.AppendEvent(ctx, store.OutboundEvent{ID: "order/m_demo/TT-1/v1/order.stage_changed", MerchantID: "m_demo",
			OrderID: "TT-1", Type: "order.stage_changed", Payload: json.RawMessage(`{"stage":"screening"}`), OccurredAt: time.Now()})
		require.NoError(t, err)
		now := time.Now()
		deliverOnce(t, st, now, 500, false)
		deliverOnce(t, st, now.Add(time.Minute), 204, false)

		rec = h.do(http.MethodGet, base+"/deliveries", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var page struct {
			Data []struct {
				ID             string  `json:"id"`
				EventID        string  `json:"event_id"`
				EventType      string  `json:"event_type"`
				OrderID        string  `json:"order_id"`
				State          string  `json:"state"`
				LastStatusCode *int    `json:"last_status_code"`
				NextAttemptAt  *string `json:"next_attempt_at"`
				Attempts       []struct {
					Number     int    `json:"number"`
					Outcome    string `json:"outcome"`
					StatusCode *int   `json:"status_code"`
					Error      string `json:"error"`
					DurationMs int    `json:"duration_ms"`
				} `json:"attempts"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
		require.Len(t, page.Data, 1)
		d := page.Data[0]
		assert.Equal(t, "order/m_demo/TT-1/v1/order.stage_changed", d.EventID)
		assert.Equal(t, "order.stage_changed", d.EventType)
		assert.Equal(t, "TT-1", d.OrderID)
		assert.Equal(t, "delivered", d.State)
		assert.Nil(t, d.NextAttemptAt)
		require.Len(t, d.Attempts, 2)
		assert.Equal(t, "failed", d.Attempts[0].Outcome)
		assert.Equal(t, 500, *d.Attempts[0].StatusCode)
		assert.Equal(t, "HTTP 500", d.Attempts[0].Error)
		assert.Equal(t, 40, d.Attempts[0].DurationMs)
		assert.Equal(t, "delivered", d.Attempts[1].Outcome)

		filtered := h.do(http.MethodGet, base+"/deliveries?state=dead", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, filtered.Code)
		assert.JSONEq(t, `{"data":[],"next_cursor":null}`, filtered.Body.String())
		bad := h.do(http.MethodGet, base+"/deliveries?state=gone", nil, bearer(merchantKeyDemo))
		require.Equal(t, 422, bad.Code)
		assert.Equal(t, []string{"state"}, fields(decodeError(t, bad)))

		rec = h.do(http.MethodPost, base+"/deliveries/"+d.ID+"/redeliver", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), `"state":"pending"`)
		rec = h.do(http.MethodPost, base+"/deliveries/wd_01ARZ3NDEKTSV4RRFFQ69G5FAV/redeliver", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "webhook delivery not found", decodeError(t, rec).Error.Message)

		// Failing for long enough disables the endpoint; the merchant sees why.
		deliverOnce(t, st, time.Now().Add(2*time.Minute), 503, true)
		rec = h.do(http.MethodGet, base, nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code)
		disabled := decodeInto[endpointJSON](t, rec)
		assert.False(t, disabled.Enabled)
		require.NotNil(t, disabled.DisabledReason)
		assert.Equal(t, "every attempt failed for 72h", *disabled.DisabledReason)

		rec = h.do(http.MethodPost, base+"/deliveries/"+d.ID+"/redeliver", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
		assert.Contains(t, decodeError(t, rec).Error.Message, "enable it")

		// Enabling checks the URL again under today's rules.
		resolver.set("hooks.example.com", "192.168.7.7")
		rec = h.do(http.MethodPost, base+"/enable", nil, bearer(merchantKeyDemo))
		require.Equal(t, 422, rec.Code, rec.Body.String())
		assert.Equal(t, []string{"url"}, fields(decodeError(t, rec)))
		resolver.set("hooks.example.com", "93.184.215.14")

		rec = h.do(http.MethodPost, base+"/enable", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		enabled := decodeInto[endpointJSON](t, rec)
		assert.True(t, enabled.Enabled)
		assert.Nil(t, enabled.DisabledReason)
	})
}
