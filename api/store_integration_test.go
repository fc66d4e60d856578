package api

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

// The real store satisfies the API's Store interface.
var _ Store = (*store.Store)(nil)

// newStoreHarness is a server over a real, migrated store and a fake
// Temporal, with the merchants m_demo and m_other; opts adjust the config.
func newStoreHarness(t *testing.T, st *store.Store, opts ...func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.CreateMerchant(ctx, logistics.Merchant{ID: "m_demo", Name: "Demo"}, store.HashAPIKey(merchantKeyDemo)))
	require.NoError(t, st.CreateMerchant(ctx, logistics.Merchant{ID: "m_other", Name: "Other"}, store.HashAPIKey(merchantKeyOther)))
	h := newHarness(t, append([]func(*Config){func(c *Config) { c.Store = st }}, opts...)...)
	h.now = time.Now()
	return h
}

// TestWebhookIdempotencyWithTheRealStore runs the idempotency path against
// SQLite and Postgres: the first answer is replayed byte for byte, a second
// order.created answers 200 without a second start, and concurrent
// deliveries of one webhook-id all get the one recorded answer.
func TestWebhookIdempotencyWithTheRealStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newStoreHarness(t, st)
		body := orderCreatedBody(t, nil)

		first := h.postOrder("wh_1", body)
		require.Equal(t, http.StatusAccepted, first.Code, first.Body.String())
		assert.JSONEq(t, createdAnswer, first.Body.String())

		again := h.postOrder("wh_1", body)
		require.Equal(t, http.StatusAccepted, again.Code)
		assert.Equal(t, first.Body.Bytes(), again.Body.Bytes())
		assert.Len(t, h.temporal.recorded(), 1)

		second := h.postOrder("wh_2", body)
		require.Equal(t, http.StatusOK, second.Code, second.Body.String())
		assert.JSONEq(t, createdAnswer, second.Body.String())
		assert.Len(t, h.temporal.recorded(), 1, "no second fulfilment")

		// A rejected webhook records nothing: a later valid delivery under
		// the same id is processed normally.
		bad := orderCreatedBody(t, func(d map[string]any) { d["order_id"] = "TT-2"; d["incoterm"] = "FOB" })
		require.Equal(t, http.StatusUnprocessableEntity, h.postOrder("wh_3", bad).Code)
		_, found, err := st.FindWebhook(context.Background(), "orders", "wh_3")
		require.NoError(t, err)
		assert.False(t, found)

		// Concurrent deliveries of one new webhook-id.
		body3 := orderCreatedBody(t, func(d map[string]any) { d["order_id"] = "TT-3" })
		const n = 8
		var wg sync.WaitGroup
		codes := make([]int, n)
		bodies := make([]string, n)
		for i := range n {
			wg.Go(func() {
				rec := h.postOrder("wh_4", body3)
				codes[i], bodies[i] = rec.Code, rec.Body.String()
			})
		}
		wg.Wait()
		for i := range n {
			assert.Equal(t, http.StatusAccepted, codes[i], bodies[i])
			assert.Equal(t, bodies[0], bodies[i])
		}
		rec, found, err := st.FindWebhook(context.Background(), "orders", "wh_4")
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, bodies[0], string(rec.Response))
	})
}

// TestMerchantReadsWithTheRealStore checks scoping and the DTO over the
// real projection.
func TestMerchantReadsWithTheRealStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newStoreHarness(t, st)
		ctx := context.Background()
		order := logistics.Order{MerchantID: "m_demo", OrderID: "TT-1", WarehouseID: "wh_szx", ServiceLevel: logistics.ServiceStandard,
			Incoterm: logistics.IncotermDDP, ShipTo: logistics.Address{Name: "Ada", Line1: "1 Road", City: "London", Country: "GB"}}
		_, err := st.SaveOrder(ctx, store.OrderRecord{MerchantID: "m_demo", OrderID: "TT-1", WorkflowID: "order/m_demo/TT-1",
			Order: order, Stage: logistics.StagePicking, Version: 1, At: fixedNow})
		require.NoError(t, err)

		rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), `"stage":"picking"`)
		assert.Contains(t, rec.Body.String(), `"customs":null`)
		assert.Contains(t, rec.Body.String(), `"shipments":[]`)

		others := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyOther))
		missing := h.do(http.MethodGet, "/v1/orders/TT-404", nil, bearer(merchantKeyOther))
		require.Equal(t, http.StatusNotFound, others.Code)
		assert.Equal(t, missing.Body.String(), others.Body.String())

		list := h.do(http.MethodGet, "/v1/shipments?limit=200&status=delivered", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, list.Code, list.Body.String())
		assert.JSONEq(t, `{"data":[],"next_cursor":null}`, list.Body.String())

		forged := h.do(http.MethodGet, "/v1/shipments?cursor=forged", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusUnprocessableEntity, forged.Code, forged.Body.String())
		assert.Equal(t, []string{"cursor"}, fields(decodeError(t, forged)))
	})
}
