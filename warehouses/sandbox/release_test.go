package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/warehouses"
	"github.com/crossdock/crossdock/warehouses/sandbox"
)

func releaser(t *testing.T, w *world, id string) warehouses.Releaser {
	t.Helper()
	r, ok := w.warehouse(id).(warehouses.Releaser)
	require.True(t, ok, "the sandbox warehouse can release picks")
	return r
}

func releaseRequest(key string) warehouses.ReleaseRequest {
	return warehouses.ReleaseRequest{IdempotencyKey: key, MerchantID: "m_demo", OrderID: "TT-" + key}
}

// releaseOverHTTP posts a release and returns the picks the sandbox says it
// released, to check their status on the wire.
func releaseOverHTTP(t *testing.T, w *world, id string, req warehouses.ReleaseRequest) []map[string]any {
	t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(w.url+"/warehouses/"+id+"/picks/release", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Picks []map[string]any `json:"picks"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Picks
}

func TestReleaseBeforeConfirmationSendsNothing(t *testing.T) {
	w := newWorld(t, 24000) // a pick takes 300 ms
	ctx := context.Background()
	szx := w.warehouse(sandbox.Shenzhen)
	require.NoError(t, szx.RequestPick(ctx, pickRequest("cancel")))
	require.NoError(t, szx.RequestPick(ctx, pickRequest("keep")))
	require.NoError(t, releaser(t, w, sandbox.Shenzhen).ReleasePick(ctx, releaseRequest("cancel")))
	require.NoError(t, releaser(t, w, sandbox.Shenzhen).ReleasePick(ctx, releaseRequest("cancel")), "a release is idempotent")

	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the released pick's timer would have fired by now
	evs := w.crossdock.events()
	require.Len(t, evs, 1, "only the pick that was not released is confirmed")
	assert.Equal(t, "TT-keep", evs[0].OrderID)

	picks := releaseOverHTTP(t, w, sandbox.Shenzhen, releaseRequest("cancel"))
	require.Len(t, picks, 1)
	assert.Equal(t, "released", picks[0]["status"])
	assert.NotEmpty(t, picks[0]["released_at"])

	require.NoError(t, szx.RequestPick(ctx, pickRequest("cancel")), "a repeated pick request is answered")
	time.Sleep(500 * time.Millisecond)
	assert.Len(t, w.crossdock.events(), 1, "a repeated request does not revive a released pick")
}

func TestReleaseAfterPackingPutsStockBack(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	require.NoError(t, w.warehouse(sandbox.Amsterdam).RequestPick(ctx, pickRequest("packed")))
	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 5*time.Millisecond)

	picks := releaseOverHTTP(t, w, sandbox.Amsterdam, releaseRequest("packed"))
	require.Len(t, picks, 1)
	assert.Equal(t, "released", picks[0]["status"])
	require.NoError(t, releaser(t, w, sandbox.Amsterdam).ReleasePick(ctx, releaseRequest("packed")))
	assert.Len(t, w.crossdock.events(), 1, "a release sends no webhook")
}

func TestReleaseFindsTheOrdersPickUnderAnotherKey(t *testing.T) {
	w := newWorld(t, 24000)
	ctx := context.Background()
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(ctx, pickRequest("by-order")))
	req := releaseRequest("by-order")
	req.IdempotencyKey = "some-other-key"
	picks := releaseOverHTTP(t, w, sandbox.Shenzhen, req)
	require.Len(t, picks, 1)
	assert.Equal(t, "released", picks[0]["status"])
	time.Sleep(500 * time.Millisecond)
	assert.Empty(t, w.crossdock.events(), "the order's pick was released")
}

func TestReleaseOfAnUnknownPickIsRecorded(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	require.NoError(t, releaser(t, w, sandbox.Shenzhen).ReleasePick(ctx, releaseRequest("never")),
		"releasing a pick the warehouse does not know is not an error")
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(ctx, pickRequest("never")))
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(ctx, pickRequest("other")))
	require.Eventually(t, func() bool { return len(w.crossdock.events()) == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	evs := w.crossdock.events()
	require.Len(t, evs, 1, "a pick requested after its release is never picked")
	assert.Equal(t, "TT-other", evs[0].OrderID)
}

func TestReleaseRefusals(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	szx := releaser(t, w, sandbox.Shenzhen)
	require.NoError(t, w.warehouse(sandbox.Shenzhen).RequestPick(ctx, pickRequest("mine")))

	for name, req := range map[string]warehouses.ReleaseRequest{
		"no key":              {MerchantID: "m_demo", OrderID: "TT-mine"},
		"no order":            {IdempotencyKey: "mine", MerchantID: "m_demo"},
		"another order's key": {IdempotencyKey: "mine", MerchantID: "m_demo", OrderID: "TT-yours"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, szx.ReleasePick(ctx, req), warehouses.ErrRefused)
		})
	}

	resp, err := http.Post(w.url+"/warehouses/wh_nope/picks/release", "application/json", bytes.NewBufferString(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	down, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Shenzhen, secret, &http.Client{Timeout: time.Second})
	require.NoError(t, err)
	err = down.ReleasePick(ctx, releaseRequest("down"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, warehouses.ErrRefused, "an unreachable warehouse is retryable")

	w.server.Close()
	err = szx.ReleasePick(ctx, releaseRequest("mine"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, warehouses.ErrRefused, "a closed sandbox is unavailable, not refusing")
}
