package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
// Temporal, with the merchants m_demo and m_other created; opts adjust the
// config.
func newStoreHarness(t *testing.T, st *store.Store, opts ...func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.CreateMerchant(ctx, logistics.Merchant{ID: "m_demo", Name: "Demo"}, store.HashAPIKey(merchantKeyDemo)))
	require.NoError(t, st.CreateMerchant(ctx, logistics.Merchant{ID: "m_other", Name: "Other"}, store.HashAPIKey(merchantKeyOther)))
	return storeHarness(t, st, opts...)
}

// storeHarness is another server (with a fresh fake Temporal) over a store
// newStoreHarness already set up.
func storeHarness(t *testing.T, st *store.Store, opts ...func(*Config)) *harness {
	t.Helper()
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
		assert.Len(t, h.temporal.recorded(), 2, "wh_1 and one of the wh_4 deliveries signalled, nothing else")
	})
}

// delivery is one answer to a concurrent webhook delivery.
type delivery struct {
	webhookID string
	code      int
	body      string
}

// deliverConcurrently posts body under each webhook id at once.
func deliverConcurrently(h *harness, body []byte, webhookIDs []string) []delivery {
	out := make([]delivery, len(webhookIDs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range webhookIDs {
		wg.Go(func() {
			<-start
			rec := h.postOrder(id, body)
			out[i] = delivery{webhookID: id, code: rec.Code, body: rec.Body.String()}
		})
	}
	close(start)
	wg.Wait()
	return out
}

func signalsWithStart(h *harness) int {
	n := 0
	for _, c := range h.temporal.recorded() {
		if c.Method == "SignalWithStartWorkflow" {
			n++
		}
	}
	return n
}

// TestConcurrentOrderCreatedWithTheRealStore races order.created deliveries
// of one order through the real handler and store while the Temporal call
// takes a while, as it does over a network: one delivery starts the order
// and answers 202, every other one answers 200 with the same body, and
// exactly one SignalWithStart is made. Each answer is recorded, so a
// redelivery replays it.
func TestConcurrentOrderCreatedWithTheRealStore(t *testing.T) {
	const n = 8
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		newStoreHarness(t, st)
		t.Run("different webhook-ids", func(t *testing.T) {
			h := storeHarness(t, st)
			h.temporal.delay = 100 * time.Millisecond
			body := orderCreatedBody(t, func(d map[string]any) { d["order_id"] = "TT-RACE-1" })
			var ids []string
			for i := range n {
				ids = append(ids, fmt.Sprintf("wh_race_%d", i))
			}
			got := deliverConcurrently(h, body, ids)

			accepted := 0
			for _, d := range got {
				switch d.code {
				case http.StatusAccepted:
					accepted++
				case http.StatusOK:
				default:
					t.Errorf("%s answered %d: %s", d.webhookID, d.code, d.body)
				}
				assert.Equal(t, got[0].body, d.body, "every delivery gets the same body")
			}
			assert.Equal(t, 1, accepted, "exactly one delivery starts the order: %+v", got)
			assert.JSONEq(t, `{"order_id":"TT-RACE-1","merchant_id":"m_demo","workflow_id":"order/m_demo/TT-RACE-1","stage":"received"}`, got[0].body)
			assert.Equal(t, 1, signalsWithStart(h), "exactly one SignalWithStart")

			h.temporal.setErr(errors.New("temporal down"))
			for _, d := range got {
				again := h.postOrder(d.webhookID, body)
				assert.Equal(t, d.code, again.Code, "a redelivery of %s replays its answer", d.webhookID)
				assert.Equal(t, d.body, again.Body.String())
			}
		})
		t.Run("one webhook-id delivered many times", func(t *testing.T) {
			h := storeHarness(t, st)
			h.temporal.delay = 100 * time.Millisecond
			body := orderCreatedBody(t, func(d map[string]any) { d["order_id"] = "TT-RACE-2" })
			ids := make([]string, n)
			for i := range ids {
				ids[i] = "wh_same"
			}
			got := deliverConcurrently(h, body, ids)
			for _, d := range got {
				assert.Equal(t, http.StatusAccepted, d.code, d.body)
				assert.Equal(t, got[0].body, d.body)
			}
			assert.Equal(t, 1, signalsWithStart(h), "one effect")
		})
		t.Run("a first delivery that cannot start the order leaves it to the next", func(t *testing.T) {
			h := storeHarness(t, st)
			body := orderCreatedBody(t, func(d map[string]any) { d["order_id"] = "TT-RACE-3" })
			h.temporal.setErr(errors.New("temporal down"))
			failed := h.postOrder("wh_fail", body)
			require.Equal(t, http.StatusServiceUnavailable, failed.Code, failed.Body.String())

			h.temporal.setErr(nil)
			second := h.postOrder("wh_next", body)
			require.Equal(t, http.StatusAccepted, second.Code, "the released claim goes to the next delivery: %s", second.Body.String())
			retry := h.postOrder("wh_fail", body)
			require.Equal(t, http.StatusOK, retry.Code, retry.Body.String())
			assert.Equal(t, second.Body.String(), retry.Body.String())
			assert.Equal(t, 1, signalsWithStart(h))
		})
	})
}

// TestMerchantReadsWithTheRealStore checks the DTO over the real projection
// (scoping: TestTenantIsolation).
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

		list := h.do(http.MethodGet, "/v1/shipments?limit=200&status=delivered", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, list.Code, list.Body.String())
		assert.JSONEq(t, `{"data":[],"next_cursor":null}`, list.Body.String())

		forged := h.do(http.MethodGet, "/v1/shipments?cursor=forged", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusUnprocessableEntity, forged.Code, forged.Body.String())
		assert.Equal(t, []string{"cursor"}, fields(decodeError(t, forged)))
	})
}

// seedMerchantStore gives m_demo and m_other (with their API keys) three
// orders each, TT-<merchant>-A..C, each with one shipment tracked as
// <merchant>-SBXA..C and a last-mile leg <merchant>-SBXA-LM..., updated a
// minute apart.
func seedMerchantStore(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := t.Context()
	for _, m := range []struct{ id, key string }{{"m_demo", merchantKeyDemo}, {"m_other", merchantKeyOther}} {
		require.NoError(t, st.CreateMerchant(ctx, logistics.Merchant{ID: m.id, Name: m.id}, store.HashAPIKey(m.key)))
		for i, suffix := range []string{"A", "B", "C"} {
			orderID := "TT-" + m.id + "-" + suffix
			at := fixedNow.Add(time.Duration(i) * time.Minute)
			_, err := st.SaveOrder(ctx, store.OrderRecord{MerchantID: m.id, OrderID: orderID, WorkflowID: logistics.OrderWorkflowID(m.id, orderID),
				Order: logistics.Order{MerchantID: m.id, OrderID: orderID, WarehouseID: "wh_szx", ServiceLevel: logistics.ServiceStandard,
					Incoterm: logistics.IncotermDDP, ShipTo: logistics.Address{Name: "Ada", Line1: "1 Road", City: "London", Country: "GB"}},
				Stage: logistics.StageLineHaul, Version: 1, At: at})
			require.NoError(t, err)
			sh := demoShipment(m.id, orderID, 1, m.id+"-SBX"+suffix, logistics.StatusInTransit, logistics.PhaseLineHaul, at)
			_, err = st.SaveShipment(ctx, store.ShipmentRecord{Shipment: sh, WorkflowID: logistics.ShipmentWorkflowID(m.id, orderID, 1), Version: 1})
			require.NoError(t, err)
		}
	}
}

// TestTenantIsolation asks for merchant A's (m_demo's) objects with merchant
// B's (m_other's) key on every route that takes an id, over the real store,
// so what is checked is the SQL scoping: B's answer must be byte for byte
// the answer for an id that exists nowhere, and A's own answer a 200.
func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seedMerchantStore(t, st)
		h := storeHarness(t, st)
		get := func(target, key string) *httptest.ResponseRecorder {
			t.Helper()
			return h.do(http.MethodGet, target, nil, bearer(key))
		}
		first := get("/v1/shipments?limit=1", merchantKeyDemo)
		require.Equal(t, http.StatusOK, first.Code, first.Body.String())
		var page pageDTO[shipmentDTO]
		require.NoError(t, json.Unmarshal(first.Body.Bytes(), &page))
		require.NotNil(t, page.NextCursor)
		cursorA := *page.NextCursor

		for _, tc := range []struct {
			route   string
			ofA     string // A's object
			missing string // an id nobody has
			want    int
		}{
			{"GET /v1/orders/{order_id}", "/v1/orders/TT-m_demo-A", "/v1/orders/TT-nobody", http.StatusNotFound},
			{"GET /v1/orders/{order_id}/tracking", "/v1/orders/TT-m_demo-A/tracking", "/v1/orders/TT-nobody/tracking", http.StatusNotFound},
			{"GET /v1/tracking/{n}, the shipment's number", "/v1/tracking/m_demo-SBXA", "/v1/tracking/NOBODY1", http.StatusNotFound},
			{"GET /v1/tracking/{n}, a leg's number", "/v1/tracking/m_demo-SBXA-LM", "/v1/tracking/NOBODY1-LM", http.StatusNotFound},
			{"GET /v1/shipments?cursor=", "/v1/shipments?limit=1&cursor=" + cursorA, "/v1/shipments?limit=1&cursor=bm90LWEtY3Vyc29y", http.StatusUnprocessableEntity},
		} {
			t.Run(tc.route, func(t *testing.T) {
				mine := get(tc.ofA, merchantKeyDemo)
				require.Equal(t, http.StatusOK, mine.Code, "A reads its own: %s", mine.Body.String())

				theirs := get(tc.ofA, merchantKeyOther)
				missing := get(tc.missing, merchantKeyOther)
				require.Equal(t, tc.want, missing.Code, missing.Body.String())
				require.Equal(t, tc.want, theirs.Code, theirs.Body.String())
				assert.Equal(t, missing.Body.String(), theirs.Body.String(), "A's object must look like no object at all")
				assert.Equal(t, missing.Header().Get("Content-Type"), theirs.Header().Get("Content-Type"))
				assert.NotContains(t, theirs.Body.String(), "m_demo")
			})
		}
		t.Run("the same order id at both merchants", func(t *testing.T) {
			for _, m := range []struct{ id, key string }{{"m_demo", merchantKeyDemo}, {"m_other", merchantKeyOther}} {
				_, err := st.SaveOrder(t.Context(), store.OrderRecord{MerchantID: m.id, OrderID: "TT-SAME",
					WorkflowID: logistics.OrderWorkflowID(m.id, "TT-SAME"), Stage: logistics.StagePicking, Version: 1, At: fixedNow,
					Order: logistics.Order{MerchantID: m.id, OrderID: "TT-SAME", WarehouseID: "wh_szx", ShipTo: logistics.Address{Country: "GB"}}})
				require.NoError(t, err)
			}
			for _, m := range []struct{ id, key string }{{"m_demo", merchantKeyDemo}, {"m_other", merchantKeyOther}} {
				rec := get("/v1/orders/TT-SAME", m.key)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var got struct {
					MerchantID string `json:"merchant_id"`
					WorkflowID string `json:"workflow_id"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				assert.Equal(t, m.id, got.MerchantID)
				assert.Equal(t, "order/"+m.id+"/TT-SAME", got.WorkflowID)
			}
		})
		t.Run("lists show only the caller's shipments", func(t *testing.T) {
			for _, m := range []struct{ id, key string }{{"m_demo", merchantKeyDemo}, {"m_other", merchantKeyOther}} {
				rec := get("/v1/shipments?limit=200", m.key)
				require.Equal(t, http.StatusOK, rec.Code)
				var page pageDTO[shipmentDTO]
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
				require.Len(t, page.Data, 3)
				for _, sh := range page.Data {
					assert.True(t, strings.HasPrefix(sh.TrackingNumber, m.id+"-"), sh.TrackingNumber)
				}
			}
		})
	})
}

// TestOrderTrackingWithTheRealStore reads an order's tracking through the
// store's two-query view on both dialects: status from the least advanced
// shipment, events oldest first with nothing internal, and, with both keys
// warm in the key cache, another merchant's order byte for byte a missing one.
func TestOrderTrackingWithTheRealStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seedMerchantStore(t, st)
		h := storeHarness(t, st)
		ctx := t.Context()
		const orderID = "TT-m_demo-A"
		second := demoShipment("m_demo", orderID, 2, "m_demo-SBX2", logistics.StatusPickedUp, logistics.PhaseOrigin, fixedNow)
		_, err := st.SaveShipment(ctx, store.ShipmentRecord{Shipment: second, WorkflowID: logistics.ShipmentWorkflowID("m_demo", orderID, 2), Version: 1})
		require.NoError(t, err)
		var events []logistics.TrackingEvent
		for i := range 50 {
			events = append(events, logistics.TrackingEvent{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul,
				OccurredAt: fixedNow.Add(time.Duration(50-i) * time.Minute), Location: logistics.Location{City: "Shenzhen", Country: "CN"},
				Carrier: "sbx_express", TrackingNumber: "m_demo-SBXA", RawCode: fmt.Sprintf("E%02d", 50-i),
				Source: logistics.SourceManual, RecordedBy: "ops@example.com", ResponsibleParty: logistics.PartyCarrier})
		}
		_, err = st.AddTrackingEvents(ctx, "m_demo", orderID, 1, events)
		require.NoError(t, err)

		for range 2 { // the second is served with the key from the cache
			rec := h.do(http.MethodGet, "/v1/orders/"+orderID+"/tracking", nil, bearer(merchantKeyDemo))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.NotContains(t, rec.Body.String(), "recorded_by")
			var got orderTrackingDTO
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, logistics.StatusPickedUp, got.Status, "the least advanced shipment")
			assert.Equal(t, logistics.PhaseOrigin, got.Phase)
			require.Len(t, got.Events, 50)
			assert.Equal(t, "E01", got.Events[0].RawCode)
			assert.Equal(t, "E50", got.Events[49].RawCode)
		}

		require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/v1/orders/TT-m_other-A/tracking", nil, bearer(merchantKeyOther)).Code)
		theirs := h.do(http.MethodGet, "/v1/orders/"+orderID+"/tracking", nil, bearer(merchantKeyOther))
		missing := h.do(http.MethodGet, "/v1/orders/TT-nobody/tracking", nil, bearer(merchantKeyOther))
		require.Equal(t, http.StatusNotFound, theirs.Code, theirs.Body.String())
		assert.Equal(t, missing.Body.String(), theirs.Body.String())
	})
}
