package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	carriersandbox "github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/logistics"
)

// TestEndToEndUnderFaults drives orders through the real stack while the
// sandbox carriers misbehave, one regional profile at a time, and checks
// each delivered order against what the carriers themselves did (the
// sandbox's /admin/shipments): every parcel booked exactly once, and every
// scan the carrier made in the merchant's timeline exactly once, oldest
// first, the status never moving backwards. At the end no carrier's API was
// called faster than the rate limit Crossdock was configured with (the
// sandbox's /admin/requests counts calls per real minute).
func TestEndToEndUnderFaults(t *testing.T) {
	// The post publishes 120 calls a minute; a run this short never comes
	// near that, so Crossdock is told 20 and must keep to it.
	const postLimit = 20
	channels := strings.Replace(string(carriersandbox.ChannelsFile), "rate_limit_per_minute: 120",
		fmt.Sprintf("rate_limit_per_minute: %d", postLimit), 1)
	require.NotEqual(t, string(carriersandbox.ChannelsFile), channels, "the post's published limit is in the channels file")
	channelsFile := filepath.Join(t.TempDir(), "channels.yaml")
	require.NoError(t, os.WriteFile(channelsFile, []byte(channels), 0o600))
	info := startTestStack(t, map[string]string{
		"CROSSDOCK_CHANNELS_FILE":   channelsFile,
		"CROSSDOCK_SANDBOX_SPEEDUP": "100000",
		"CROSSDOCK_POLL_INTERVAL":   "1s",
		// Enough tries for five failures in a row to open a carrier's
		// circuit breaker within one booking, quickly.
		"CROSSDOCK_CARRIER_MAX_ATTEMPTS":       "8",
		"CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL": "200ms",
	})

	t.Run("express pushes duplicated and out of order", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "duplicate_webhooks", "duration_s": 120}`)
		acceptOrder(t, info, expressOrder("FLT-DUP", "GB"))
		// The carrier swaps each pair of pushes from here on. Switched on
		// after an odd number of scans, the pair it swaps last is out for
		// delivery and delivered: the final push arrives before the one
		// it should follow.
		waitSandboxBooking(t, info, "FLT-DUP", func(b sandboxBooking) bool { return len(b.Scans)%2 == 1 })
		setFault(t, info, `{"carrier": "sbx_express", "kind": "reorder_webhooks", "duration_s": 120}`)
		order := waitDelivered(t, info, "FLT-DUP", time.Now().Add(90*time.Second))
		require.Equal(t, "sbx_express", order.Shipments[0].Carrier)
		timeline := requireTimelineIsTheCarriers(t, info, "FLT-DUP")
		assert.Contains(t, sources(timeline), "webhook")
	})

	t.Run("express pushes lost: silence is polled, the order still delivers", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "drop_webhooks", "duration_s": 120}`)
		acceptOrder(t, info, expressOrder("FLT-DROP", "GB"))
		order := waitDelivered(t, info, "FLT-DROP", time.Now().Add(90*time.Second))
		require.Equal(t, "sbx_express", order.Shipments[0].Carrier)
		timeline := requireTimelineIsTheCarriers(t, info, "FLT-DROP")
		assert.Equal(t, []string{"poll"}, sources(timeline), "no push got through: every scan was fetched")
	})

	t.Run("post polls under 429 with Retry-After, then slow answers", func(t *testing.T) {
		// Several parcels at once, so the post's API limit binds.
		ids := []string{"FLT-POST-DE", "FLT-POST-FR", "FLT-POST-AU", "FLT-POST-ES"}
		for _, id := range ids {
			o := demoOrder(demoMerchantID, id, "wh_szx", id[len(id)-2:])
			o["data"].(map[string]any)["incoterm"] = "DAP" // DAP goes with the post; DDP with the integrator
			acceptOrder(t, info, o)
		}
		for _, id := range ids {
			order := waitOrder(t, info, id, booked, "booked")
			require.Equal(t, "sbx_post", order.Shipments[0].Carrier, id)
		}
		setFault(t, info, `{"carrier": "sbx_post", "kind": "rate_limit", "duration_s": 3}`)
		time.Sleep(3 * time.Second)
		setFault(t, info, `{"carrier": "sbx_post", "kind": "slow", "duration_s": 6}`)
		for _, id := range ids {
			waitDelivered(t, info, id, time.Now().Add(90*time.Second))
			requireTimelineIsTheCarriers(t, info, id)
		}
	})

	t.Run("consolidator outage during line haul: delivered, two legs in one timeline", func(t *testing.T) {
		acceptOrder(t, info, demoOrder(demoMerchantID, "FLT-CONSOL", "wh_szx", "GB"))
		waitOrder(t, info, "FLT-CONSOL", func(o deliveredOrder) bool {
			return o.Stage == string(logistics.StageLineHaul)
		}, "the line haul departs")
		setFault(t, info, `{"carrier": "sbx_consol", "kind": "outage", "duration_s": 6}`)
		order := waitDelivered(t, info, "FLT-CONSOL", time.Now().Add(90*time.Second))
		require.Equal(t, "sbx_consol", order.Shipments[0].Carrier)
		timeline := requireTimelineIsTheCarriers(t, info, "FLT-CONSOL")
		numbers := map[string]string{}
		for _, e := range timeline.Events {
			numbers[e.TrackingNumber] = e.Carrier
		}
		assert.Len(t, numbers, 2, "the line haul's and the partner's tracking numbers")
		assert.ElementsMatch(t, []string{"sbx_consol", "sbx_post"}, mapValues(numbers))
	})

	t.Run("express outage opens the breaker: booked once, on another channel", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "outage", "duration_s": 120}`)
		acceptOrder(t, info, expressOrder("FLT-BREAKER", "GB"))
		order := waitDelivered(t, info, "FLT-BREAKER", time.Now().Add(90*time.Second))
		assert.NotEqual(t, "sbx_express", order.Shipments[0].Carrier, "the booking moved on from the broken carrier")
		requireTimelineIsTheCarriers(t, info, "FLT-BREAKER")
	})

	if dir := os.Getenv("CROSSDOCK_RECORD_HISTORY"); dir != "" {
		tc, err := client.Dial(client.Options{HostPort: info.TemporalHostPort, Logger: nopTemporalLogger{}})
		require.NoError(t, err)
		defer tc.Close()
		recordHistory(t, tc, logistics.ShipmentWorkflowID(demoMerchantID, "FLT-DROP", 1), filepath.Join(dir, "shipment_push_silent_polled.json"))
		recordHistory(t, tc, logistics.ShipmentWorkflowID(demoMerchantID, "FLT-DUP", 1), filepath.Join(dir, "shipment_push_reconciled.json"))
	}

	t.Run("no carrier was called faster than its rate limit", func(t *testing.T) {
		var got struct {
			Carriers []struct {
				Carrier            string `json:"carrier"`
				RateLimitPerMinute int    `json:"rate_limit_per_minute"`
				Requests           int    `json:"requests"`
				PeakPerMinute      int    `json:"peak_per_minute"`
			} `json:"carriers"`
		}
		sandboxGet(t, info, "/admin/requests", &got)
		for _, c := range got.Carriers {
			t.Logf("%s: %d calls, busiest minute %d (limit %d)", c.Carrier, c.Requests, c.PeakPerMinute, c.RateLimitPerMinute)
			limit := c.RateLimitPerMinute
			if c.Carrier == "sbx_post" {
				limit = postLimit
			}
			if limit > 0 {
				assert.LessOrEqual(t, c.PeakPerMinute, limit, c.Carrier)
			}
		}
	})
}

// startTestStack runs `crossdock dev` on loopback ports with env on top of
// the test defaults, and stops it (Temporal dev server included) when the
// test ends.
func startTestStack(t *testing.T, env map[string]string) stackInfo {
	t.Helper()
	cli := temporalCLIForTest(t)
	for _, k := range []string{"TEMPORAL_ADDRESS", "CROSSDOCK_DATABASE_URL", "CROSSDOCK_ORDER_WEBHOOK_SECRET",
		"CROSSDOCK_SANDBOX_WEBHOOK_SECRET", "CROSSDOCK_OPS_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("CROSSDOCK_DATA_DIR", t.TempDir())
	t.Setenv("CROSSDOCK_TEMPORAL_CLI", cli)
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := loadConfig()
	require.NoError(t, err)

	ctx, stop := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ready := make(chan stackInfo, 1)
	done := make(chan error, 1)
	go func() { done <- runStack(ctx, cfg, stackOptions{Logger: logger, Ephemeral: true, Ready: ready}) }()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("dev stack stopped with: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("dev stack did not stop within a minute")
		}
	})
	select {
	case info := <-ready:
		return info
	case err := <-done:
		stopped = true
		t.Fatalf("stack stopped before it was ready: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("stack not ready within 3 minutes")
	}
	return stackInfo{}
}

// booked is true once the order's shipment has a tracking number.
func booked(o deliveredOrder) bool {
	return len(o.Shipments) > 0 && o.Shipments[0].TrackingNumber != ""
}

// sandboxScan is one scan as the sandbox carrier made it.
type sandboxScan struct {
	Code       string    `json:"code"`
	OccurredAt time.Time `json:"occurred_at"`
}

// sandboxParcel is a parcel as its carrier knows it.
type sandboxParcel struct {
	Carrier        string        `json:"carrier"`
	TrackingNumber string        `json:"tracking_number"`
	Scans          []sandboxScan `json:"scans"`
}

// sandboxBooking is one line of the sandbox's GET /admin/shipments.
type sandboxBooking struct {
	sandboxParcel
	IdempotencyKey string         `json:"idempotency_key"`
	OrderID        string         `json:"order_id"`
	Partner        *sandboxParcel `json:"partner"`
}

// timeline is the part of GET /v1/orders/{id}/tracking the test reads.
type timeline struct {
	Status string `json:"status"`
	Events []struct {
		Status         string    `json:"status"`
		OccurredAt     time.Time `json:"occurred_at"`
		Carrier        string    `json:"carrier"`
		TrackingNumber string    `json:"tracking_number"`
		RawCode        string    `json:"raw_code"`
		Source         string    `json:"source"`
	} `json:"events"`
}

// requireTimelineIsTheCarriers checks a delivered order against the
// sandbox's own record: one booking for the order across every carrier,
// the one shipment the merchant sees, and a timeline holding each scan of
// that booking (and of its last-mile partner) exactly once, oldest first,
// its status never moving backwards.
func requireTimelineIsTheCarriers(t *testing.T, info stackInfo, orderID string) timeline {
	t.Helper()
	var all struct {
		Shipments []sandboxBooking `json:"shipments"`
	}
	sandboxGet(t, info, "/admin/shipments", &all)
	var bookings []sandboxBooking
	for _, b := range all.Shipments {
		if b.OrderID == orderID {
			bookings = append(bookings, b)
		}
	}
	require.Len(t, bookings, 1, "the carriers booked order %s exactly once: %+v", orderID, bookings)
	b := bookings[0]

	status, body := merchantGet(t, info, "/v1/orders/"+orderID)
	require.Equal(t, http.StatusOK, status, string(body))
	var order deliveredOrder
	require.NoError(t, json.Unmarshal(body, &order))
	require.Len(t, order.Shipments, 1, "one shipment for the merchant")
	assert.Equal(t, b.Carrier, order.Shipments[0].Carrier)
	assert.Equal(t, b.TrackingNumber, order.Shipments[0].TrackingNumber)

	status, body = merchantGet(t, info, "/v1/orders/"+orderID+"/tracking")
	require.Equal(t, http.StatusOK, status, string(body))
	var tl timeline
	require.NoError(t, json.Unmarshal(body, &tl))
	assert.Equal(t, "delivered", tl.Status)

	key := func(carrier, number, code string, at time.Time) string {
		// The store keeps microseconds.
		return fmt.Sprintf("%s|%s|%s|%s", carrier, number, code, at.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
	}
	var want, got []string
	for _, p := range []*sandboxParcel{&b.sandboxParcel, b.Partner} {
		if p == nil {
			continue
		}
		for _, s := range p.Scans {
			want = append(want, key(p.Carrier, p.TrackingNumber, s.Code, s.OccurredAt))
		}
	}
	require.NotEmpty(t, want)
	seen := map[string]int{}
	for _, e := range tl.Events {
		k := key(e.Carrier, e.TrackingNumber, e.RawCode, e.OccurredAt)
		got = append(got, k)
		seen[k]++
	}
	for k, n := range seen {
		assert.Equal(t, 1, n, "scan %s is in the timeline %d times", k, n)
	}
	for _, k := range want {
		assert.Contains(t, seen, k, "scan %s the carrier made is missing from the timeline", k)
	}
	assert.ElementsMatch(t, want, got, "the timeline holds exactly the carriers' scans")

	current := logistics.Status("")
	for i, e := range tl.Events {
		if i > 0 {
			assert.False(t, e.OccurredAt.Before(tl.Events[i-1].OccurredAt), "oldest first at event %d (%s)", i, e.RawCode)
		}
		next, changed := logistics.Advance(current, logistics.Status(e.Status))
		assert.True(t, changed || e.Status == string(current), "status moves back from %s to %s at %s", current, e.Status, e.RawCode)
		current = next
	}
	return tl
}

// waitSandboxBooking polls the sandbox until it holds a booking for the
// order that satisfies cond.
func waitSandboxBooking(t *testing.T, info stackInfo, orderID string, cond func(sandboxBooking) bool) sandboxBooking {
	t.Helper()
	var found sandboxBooking
	require.Eventually(t, func() bool {
		var all struct {
			Shipments []sandboxBooking `json:"shipments"`
		}
		sandboxGet(t, info, "/admin/shipments", &all)
		for _, b := range all.Shipments {
			if b.OrderID == orderID && cond(b) {
				found = b
				return true
			}
		}
		return false
	}, time.Minute, 5*time.Millisecond, "the sandbox booked order %s", orderID)
	return found
}

// sandboxGet reads one of the sandbox's admin routes.
func sandboxGet(t *testing.T, info stackInfo, path string, out any) {
	t.Helper()
	resp, err := http.Get(info.SandboxURL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

// sources lists the distinct sources of a timeline's events, sorted.
func sources(tl timeline) []string {
	var out []string
	for _, e := range tl.Events {
		if !slices.Contains(out, e.Source) {
			out = append(out, e.Source)
		}
	}
	slices.Sort(out)
	return out
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
