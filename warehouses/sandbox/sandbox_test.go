package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/warehouses"
	"github.com/crossdock/crossdock/warehouses/sandbox"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// crossdock is a fake Crossdock API that verifies warehouse confirmations
// with the adapters and records them.
type crossdock struct {
	mu       sync.Mutex
	registry *warehouses.Registry
	got      []logistics.WarehouseEvent
	fail     int
}

func (c *crossdock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	wh, ok := c.registry.Get(r.PathValue("id"))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if c.fail > 0 {
		c.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	ev, err := wh.ParseWebhook(r.Header, body)
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	c.got = append(c.got, ev)
	w.WriteHeader(http.StatusOK)
}

func (c *crossdock) events() []logistics.WarehouseEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

type world struct {
	server    *sandbox.Server
	url       string
	crossdock *crossdock
	registry  *warehouses.Registry
}

func newWorld(t *testing.T, speedup float64) *world {
	t.Helper()
	cd := &crossdock{}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/webhooks/warehouses/{id}", cd)
	cdSrv := httptest.NewServer(mux)
	t.Cleanup(cdSrv.Close)

	srv := sandbox.NewServer(sandbox.Options{CallbackURL: cdSrv.URL, WebhookSecret: secret, Speedup: speedup})
	smux := http.NewServeMux()
	srv.Register(smux)
	sbx := httptest.NewServer(smux)
	t.Cleanup(sbx.Close)
	t.Cleanup(srv.Close)

	whs, err := sandbox.Warehouses(sbx.URL, secret, nil)
	require.NoError(t, err)
	cd.registry = warehouses.NewRegistry(whs...)
	return &world{server: srv, url: sbx.URL, crossdock: cd, registry: cd.registry}
}

func (w *world) warehouse(id string) warehouses.Warehouse {
	wh, _ := w.registry.Get(id)
	return wh
}

func pickRequest(key string, items ...logistics.Item) warehouses.PickRequest {
	if len(items) == 0 {
		items = []logistics.Item{{SKU: "TSHIRT-RED-M", Description: "Cotton T-shirt", Quantity: 2, WeightGrams: 180,
			HSCode: "610910", OriginCountry: "CN", DangerousGoods: logistics.DGNone}}
	}
	return warehouses.PickRequest{IdempotencyKey: key, MerchantID: "m_demo", OrderID: "TT-" + key, Items: items}
}

func TestWarehouses(t *testing.T) {
	whs, err := sandbox.Warehouses("http://127.0.0.1:8090", secret, nil)
	require.NoError(t, err)
	require.Len(t, whs, 2)
	assert.Equal(t, "wh_szx", whs[0].ID())
	assert.Equal(t, "Shenzhen", whs[0].Address().City)
	assert.Equal(t, "CN", whs[0].Address().Country)
	assert.Equal(t, "wh_ams", whs[1].ID())
	assert.Equal(t, "Amsterdam", whs[1].Address().City)
	assert.Equal(t, "NL", whs[1].Address().Country)
	for _, w := range whs {
		assert.NoError(t, w.Address().Validate("address"), w.ID())
	}

	for name, args := range map[string][3]string{
		"unknown warehouse": {"http://127.0.0.1:8090", "wh_nope", secret},
		"relative url":      {"127.0.0.1:8090", "wh_szx", secret},
		"bad secret":        {"http://127.0.0.1:8090", "wh_szx", "whsec_!!!"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sandbox.NewClient(args[0], args[1], args[2], nil)
			assert.Error(t, err)
		})
	}
}

func TestPickSendsSignedPackedWebhook(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	szx := w.warehouse(sandbox.Shenzhen)

	require.NoError(t, szx.RequestPick(ctx, pickRequest("o1")))
	require.NoError(t, szx.RequestPick(ctx, pickRequest("o1")), "a repeat is accepted again")
	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	evs := w.crossdock.events()
	require.Len(t, evs, 1, "a repeated request does not pick twice")

	ev := evs[0]
	assert.Equal(t, logistics.WarehousePacked, ev.Type)
	assert.Equal(t, sandbox.Shenzhen, ev.WarehouseID)
	assert.Equal(t, "m_demo", ev.MerchantID)
	assert.Equal(t, "TT-o1", ev.OrderID)
	assert.Regexp(t, `^msg_`, ev.ID)
	assert.WithinDuration(t, time.Now(), ev.OccurredAt, 5*time.Second)
	require.Len(t, ev.Parcels, 1)
	assert.Equal(t, 400, ev.Parcels[0].WeightGrams, "two 180 g shirts plus the mailer")
}

func TestHeavyPickIsSplit(t *testing.T) {
	w := newWorld(t, 1e6)
	heavy := logistics.Item{SKU: "KETTLEBELL-12", Description: "Cast iron kettlebell", Quantity: 2, WeightGrams: 12000,
		HSCode: "950691", OriginCountry: "CN", DangerousGoods: logistics.DGNone}
	require.NoError(t, w.warehouse(sandbox.Amsterdam).RequestPick(context.Background(), pickRequest("heavy", heavy)))
	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 5*time.Millisecond)
	ev := w.crossdock.events()[0]
	assert.Equal(t, sandbox.Amsterdam, ev.WarehouseID)
	require.Len(t, ev.Parcels, 2)
	for _, p := range ev.Parcels {
		assert.LessOrEqual(t, p.WeightGrams, sandbox.MaxParcelGrams)
		assert.Greater(t, p.WeightGrams, 12000)
	}
}

func TestOutOfStock(t *testing.T) {
	w := newWorld(t, 1e6)
	items := []logistics.Item{
		{SKU: "TSHIRT-RED-M", Quantity: 1, WeightGrams: 180},
		{SKU: "OOS-MUG", Quantity: 1, WeightGrams: 300},
	}
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(context.Background(), pickRequest("oos", items...)))
	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 5*time.Millisecond)
	ev := w.crossdock.events()[0]
	assert.Equal(t, logistics.WarehouseOutOfStock, ev.Type)
	assert.Empty(t, ev.Parcels)
	assert.Contains(t, ev.Reason, "OOS-MUG")
}

func TestConfirmationIsRetried(t *testing.T) {
	w := newWorld(t, 1e6)
	w.crossdock.mu.Lock()
	w.crossdock.fail = 2
	w.crossdock.mu.Unlock()
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(context.Background(), pickRequest("retry")))
	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestPickRefusals(t *testing.T) {
	w := newWorld(t, 1)
	szx := w.warehouse(sandbox.Shenzhen)
	ctx := context.Background()

	err := szx.RequestPick(ctx, pickRequest(""))
	assert.ErrorIs(t, err, warehouses.ErrRefused)
	assert.Contains(t, err.Error(), "idempotency_key")

	err = szx.RequestPick(ctx, warehouses.PickRequest{IdempotencyKey: "k", MerchantID: "m", OrderID: "o"})
	assert.ErrorIs(t, err, warehouses.ErrRefused)

	resp, err := http.Post(w.url+"/warehouses/wh_nope/picks", "application/json", bytes.NewBufferString(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	down, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Shenzhen, secret, &http.Client{Timeout: time.Second})
	require.NoError(t, err)
	err = down.RequestPick(ctx, pickRequest("down"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, warehouses.ErrRefused, "an unreachable warehouse is retryable")
}

func TestParseWebhookRejects(t *testing.T) {
	szx, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Shenzhen, secret, nil)
	require.NoError(t, err)
	body := []byte(`{"id":"","type":"packed","warehouse_id":"wh_szx","merchant_id":"m","order_id":"o",` +
		`"parcels":[{"weight_grams":400,"length_mm":250,"width_mm":180,"height_mm":50}],"reason":"","occurred_at":"2026-11-25T08:00:00Z"}`)
	signed := func(secret string, at time.Time, body []byte) http.Header {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		sig, err := wh.Sign("msg_1", at, body)
		require.NoError(t, err)
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}
	ev, err := szx.ParseWebhook(signed(secret, time.Now(), body), body)
	require.NoError(t, err)
	assert.Equal(t, "msg_1", ev.ID, "the event id is the webhook id")
	assert.Equal(t, logistics.WarehousePacked, ev.Type)

	other := "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGVzdHM="
	for name, tt := range map[string]struct {
		header http.Header
		body   []byte
	}{
		"other secret":  {signed(other, time.Now(), body), body},
		"tampered body": {signed(secret, time.Now(), body), bytes.Replace(body, []byte("packed"), []byte("short_pick"), 1)},
		"too old":       {signed(secret, time.Now().Add(-6*time.Minute), body), body},
		"no headers":    {http.Header{}, body},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := szx.ParseWebhook(tt.header, tt.body)
			assert.ErrorIs(t, err, warehouses.ErrBadSignature)
		})
	}

	t.Run("no secret configured", func(t *testing.T) {
		open, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Shenzhen, "", nil)
		require.NoError(t, err)
		_, err = open.ParseWebhook(signed(secret, time.Now(), body), body)
		assert.ErrorIs(t, err, warehouses.ErrBadSignature)
	})

	t.Run("another warehouse's body", func(t *testing.T) {
		ams, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Amsterdam, secret, nil)
		require.NoError(t, err)
		_, err = ams.ParseWebhook(signed(secret, time.Now(), body), body)
		require.Error(t, err)
		assert.NotErrorIs(t, err, warehouses.ErrBadSignature)
	})
}

func TestCloseStopsPicks(t *testing.T) {
	w := newWorld(t, 24000) // a pick takes 300 ms
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(context.Background(), pickRequest("close")))
	w.server.Close()
	time.Sleep(500 * time.Millisecond)
	assert.Empty(t, w.crossdock.events(), "nothing is sent after Close")
	w.server.Close() // idempotent

	err := w.warehouse(sandbox.Shenzhen).RequestPick(context.Background(), pickRequest("late"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, warehouses.ErrRefused, "a closed sandbox is unavailable, not refusing")
}
