package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// orderCreatedBody is the contract's example order.created, with edits.
func orderCreatedBody(t testing.TB, edit func(data map[string]any)) []byte {
	t.Helper()
	const example = `{"type": "order.created",
 "occurred_at": "2026-11-25T06:00:00Z",
 "data": {
   "merchant_id": "m_demo",
   "order_id": "TT-10001",
   "warehouse_id": "wh_szx",
   "service_level": "standard",
   "incoterm": "DDP",
   "ship_to": {"name": "Ada Lovelace", "line1": "12 Example Street", "line2": "",
               "city": "London", "region": "", "postal_code": "N1 9GU", "country": "GB",
               "phone": "+447700900123", "email": "ada@example.com"},
   "items": [{"sku": "TSHIRT-RED-M", "description": "Cotton T-shirt", "quantity": 2,
              "unit_price": {"amount": "12.50", "currency": "GBP"},
              "hs_code": "610910", "origin_country": "CN", "weight_grams": 180,
              "dangerous_goods": "none"}],
   "tax_ids": {"ioss": "", "eori": "", "uk_vat": "GB123456789"},
   "marketplace": "tiktok_shop"}}`
	if edit == nil {
		return []byte(example)
	}
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(example), &doc))
	edit(doc["data"].(map[string]any))
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

func eventBody(t testing.TB, typ string, data map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "occurred_at": "2026-11-25T06:05:00Z", "data": data})
	require.NoError(t, err)
	return b
}

const createdAnswer = `{"order_id":"TT-10001","merchant_id":"m_demo","workflow_id":"order/m_demo/TT-10001","stage":"received"}`

func TestOrderWebhookSignature(t *testing.T) {
	body := orderCreatedBody(t, nil)
	tests := []struct {
		name   string
		header func(h *harness) http.Header
		want   int
	}{
		{"valid with the first secret", func(h *harness) http.Header { return signed(t, secretOld, "wh_1", h.now, body) }, http.StatusAccepted},
		{"rotated second secret is valid", func(h *harness) http.Header { return signed(t, secretNew, "wh_1", h.now, body) }, http.StatusAccepted},
		{"one valid entry among several", func(h *harness) http.Header {
			hd := signed(t, secretNew, "wh_1", h.now, body)
			wrong := signed(t, secretWrong, "wh_1", h.now, body)
			hd.Set("webhook-signature", wrong.Get("webhook-signature")+" "+hd.Get("webhook-signature"))
			return hd
		}, http.StatusAccepted},
		{"timestamp 4 minutes old is fine", func(h *harness) http.Header {
			return signed(t, secretOld, "wh_1", h.now.Add(-4*time.Minute), body)
		}, http.StatusAccepted},
		{"wrong secret", func(h *harness) http.Header { return signed(t, secretWrong, "wh_1", h.now, body) }, http.StatusUnauthorized},
		{"stale timestamp", func(h *harness) http.Header {
			return signed(t, secretOld, "wh_1", h.now.Add(-6*time.Minute), body)
		}, http.StatusUnauthorized},
		{"timestamp from the future", func(h *harness) http.Header {
			return signed(t, secretOld, "wh_1", h.now.Add(6*time.Minute), body)
		}, http.StatusUnauthorized},
		{"signed for another id", func(h *harness) http.Header {
			hd := signed(t, secretOld, "wh_1", h.now, body)
			hd.Set("webhook-id", "wh_2")
			return hd
		}, http.StatusUnauthorized},
		{"missing signature", func(h *harness) http.Header {
			hd := signed(t, secretOld, "wh_1", h.now, body)
			hd.Del("webhook-signature")
			return hd
		}, http.StatusUnauthorized},
		{"missing timestamp", func(h *harness) http.Header {
			hd := signed(t, secretOld, "wh_1", h.now, body)
			hd.Del("webhook-timestamp")
			return hd
		}, http.StatusUnauthorized},
		{"missing id", func(h *harness) http.Header {
			hd := signed(t, secretOld, "wh_1", h.now, body)
			hd.Del("webhook-id")
			return hd
		}, http.StatusUnauthorized},
		{"no headers at all", func(*harness) http.Header { return http.Header{} }, http.StatusUnauthorized},
		{"unversioned signature", func(h *harness) http.Header {
			hd := signed(t, secretOld, "wh_1", h.now, body)
			hd.Set("webhook-signature", strings.TrimPrefix(hd.Get("webhook-signature"), "v1,"))
			return hd
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.do(http.MethodPost, "/v1/webhooks/orders", body, tt.header(h))
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			if tt.want == http.StatusUnauthorized {
				e := decodeError(t, rec)
				assert.Equal(t, "unauthorized", e.Error.Code)
				assert.Zero(t, h.store.callCount(), "a rejected webhook must not touch the store")
				assert.Empty(t, h.temporal.recorded(), "a rejected webhook must not reach Temporal")
				return
			}
			assert.JSONEq(t, createdAnswer, rec.Body.String())
			assert.Len(t, h.temporal.recorded(), 1)
		})
	}
}

func TestOrderWebhookTamperedBody(t *testing.T) {
	h := newHarness(t)
	body := orderCreatedBody(t, nil)
	hd := signed(t, secretOld, "wh_1", h.now, body)
	tampered := bytes.Replace(body, []byte(`"quantity": 2`), []byte(`"quantity": 20`), 1)
	require.NotEqual(t, body, tampered)
	rec := h.do(http.MethodPost, "/v1/webhooks/orders", tampered, hd)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Zero(t, h.store.callCount())
}

func TestOrderCreatedStartsTheWorkflow(t *testing.T) {
	h := newHarness(t)
	rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, createdAnswer, rec.Body.String())
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))

	calls := h.temporal.recorded()
	require.Len(t, calls, 1)
	call := calls[0]
	assert.Equal(t, "SignalWithStartWorkflow", call.Method)
	assert.Equal(t, "order/m_demo/TT-10001", call.WorkflowID)
	assert.Equal(t, logistics.SignalOrderCreated, call.Signal)
	assert.Equal(t, logistics.OrderWorkflowType, call.Workflow)
	assert.Equal(t, []any{logistics.OrderWorkflowInput{MerchantID: "m_demo", OrderID: "TT-10001"}}, call.Args)
	assert.Equal(t, "order/m_demo/TT-10001", call.Options.ID)
	assert.Equal(t, logistics.TaskQueue, call.Options.TaskQueue)
	assert.Equal(t, enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, call.Options.WorkflowIDConflictPolicy)
	assert.Equal(t, enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, call.Options.WorkflowIDReusePolicy)
	merchant, ok := call.Options.TypedSearchAttributes.GetKeyword(temporal.NewSearchAttributeKeyKeyword(logistics.SearchMerchant))
	assert.True(t, ok)
	assert.Equal(t, "m_demo", merchant)
	stage, ok := call.Options.TypedSearchAttributes.GetKeyword(temporal.NewSearchAttributeKeyKeyword(logistics.SearchStage))
	assert.True(t, ok)
	assert.Equal(t, "received", stage)

	payload, ok := call.Arg.(logistics.OrderCreated)
	require.True(t, ok, "payload is %T", call.Arg)
	assert.Equal(t, "wh_1", payload.WebhookID)
	assert.True(t, payload.OccurredAt.Equal(time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)))
	assert.Equal(t, "TT-10001", payload.Order.OrderID)
	assert.Equal(t, "12.5", payload.Order.Items[0].UnitPrice.Amount.String())
	assert.Equal(t, "GB", payload.Order.ShipTo.Country)

	records := h.store.records()
	require.Len(t, records, 1)
	assert.Equal(t, "orders", records[0].Source)
	assert.Equal(t, "wh_1", records[0].ID)
	assert.Equal(t, logistics.SignalOrderCreated, records[0].EventType)
	assert.Equal(t, "m_demo", records[0].MerchantID)
	assert.Equal(t, "TT-10001", records[0].OrderID)
	assert.Equal(t, http.StatusAccepted, records[0].StatusCode)
	assert.Equal(t, rec.Body.Bytes(), records[0].Response)
}

func TestOrderWebhookReplaysTheFirstAnswer(t *testing.T) {
	h := newHarness(t)
	body := orderCreatedBody(t, nil)
	first := h.postOrder("wh_1", body)
	require.Equal(t, http.StatusAccepted, first.Code)

	// Even if Temporal is down now, a redelivery is answered from the record.
	h.temporal.setErr(errors.New("temporal down"))
	h.now = h.now.Add(time.Minute)
	again := h.postOrder("wh_1", body)
	assert.Equal(t, first.Code, again.Code)
	assert.Equal(t, first.Body.Bytes(), again.Body.Bytes())
	assert.Len(t, h.temporal.recorded(), 1, "a redelivery must not signal again")
	assert.Len(t, h.store.records(), 1)

	// Events other than order.created too: the record answers, Temporal is not asked.
	h.temporal.setErr(nil)
	cancel := eventBody(t, "order.cancelled", map[string]any{"merchant_id": "m_demo", "order_id": "TT-10001"})
	first = h.postOrder("wh_c", cancel)
	require.Equal(t, http.StatusAccepted, first.Code)
	h.temporal.setErr(errors.New("temporal down"))
	again = h.postOrder("wh_c", cancel)
	assert.Equal(t, http.StatusAccepted, again.Code)
	assert.Equal(t, first.Body.Bytes(), again.Body.Bytes())
	assert.Len(t, h.temporal.recorded(), 2)
}

func TestSecondOrderCreatedAnswers200(t *testing.T) {
	h := newHarness(t)
	first := h.postOrder("wh_1", orderCreatedBody(t, nil))
	require.Equal(t, http.StatusAccepted, first.Code)

	second := h.postOrder("wh_2", orderCreatedBody(t, nil))
	require.Equal(t, http.StatusOK, second.Code, second.Body.String())
	assert.JSONEq(t, createdAnswer, second.Body.String())
	assert.Len(t, h.temporal.recorded(), 1, "a second order.created must not start a second fulfilment")

	// Its own redelivery replays its own answer (200).
	third := h.postOrder("wh_2", orderCreatedBody(t, nil))
	assert.Equal(t, http.StatusOK, third.Code)
	assert.Equal(t, second.Body.Bytes(), third.Body.Bytes())
}

func TestConcurrentDeliveryGetsTheFirstAnswer(t *testing.T) {
	h := newHarness(t)
	// Another delivery of wh_1 recorded a different answer after our lookup.
	h.store.webhooks[webhookKey("orders", "wh_1")] = recordOf("orders", "wh_1", http.StatusOK, `{"first":"answer"}`)
	h.store.hideFromFind = true
	rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, `{"first":"answer"}`, rec.Body.String())
}

func TestOrderCancelAndAddressUpdate(t *testing.T) {
	h := newHarness(t)
	cancel := eventBody(t, "order.cancelled", map[string]any{"merchant_id": "m_demo", "order_id": "TT-10001", "reason": "buyer changed mind"})
	rec := h.postOrder("wh_c", cancel)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"order_id":"TT-10001","merchant_id":"m_demo","workflow_id":"order/m_demo/TT-10001","accepted":true}`, rec.Body.String())

	addr := eventBody(t, "order.address_updated", map[string]any{"merchant_id": "m_demo", "order_id": "TT-10001",
		"ship_to": map[string]any{"name": "Ada Lovelace", "line1": "1 New Road", "city": "Leeds", "country": "GB"}})
	rec = h.postOrder("wh_a", addr)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())

	calls := h.temporal.recorded()
	require.Len(t, calls, 2)
	// Both use SignalWithStart so an event that overtakes its create still lands.
	assert.Equal(t, "SignalWithStartWorkflow", calls[0].Method)
	assert.Equal(t, logistics.SignalOrderCancelled, calls[0].Signal)
	assert.Equal(t, logistics.OrderCancelled{WebhookID: "wh_c", OccurredAt: time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC),
		Reason: "buyer changed mind"}, calls[0].Arg)
	assert.Equal(t, logistics.SignalAddressUpdated, calls[1].Signal)
	upd, ok := calls[1].Arg.(logistics.AddressUpdated)
	require.True(t, ok)
	assert.Equal(t, "Leeds", upd.ShipTo.City)
	assert.Equal(t, "wh_a", upd.WebhookID)
}

func TestOrderWebhookValidation(t *testing.T) {
	tests := []struct {
		name       string
		body       func(t *testing.T) []byte
		wantStatus int
		wantFields []string
	}{
		{"malformed order", func(t *testing.T) []byte {
			return orderCreatedBody(t, func(d map[string]any) {
				d["ship_to"].(map[string]any)["country"] = "United Kingdom"
				item := d["items"].([]any)[0].(map[string]any)
				item["hs_code"] = "61"
				item["description"] = "gift"
				d["incoterm"] = "FOB"
			})
		}, http.StatusUnprocessableEntity, []string{"data.incoterm", "data.ship_to.country", "data.items[0].description", "data.items[0].hs_code"}},
		{"no items", func(t *testing.T) []byte {
			return orderCreatedBody(t, func(d map[string]any) { d["items"] = []any{} })
		}, http.StatusUnprocessableEntity, []string{"data.items"}},
		{"wrong JSON type", func(t *testing.T) []byte {
			return orderCreatedBody(t, func(d map[string]any) { d["items"].([]any)[0].(map[string]any)["quantity"] = "two" })
		}, http.StatusUnprocessableEntity, []string{"data.items[0].quantity"}},
		{"amount not a decimal", func(t *testing.T) []byte {
			return orderCreatedBody(t, func(d map[string]any) {
				d["items"].([]any)[0].(map[string]any)["unit_price"] = map[string]any{"amount": "twelve", "currency": "GBP"}
			})
		}, http.StatusUnprocessableEntity, []string{"data.items[0].unit_price"}},
		{"unknown merchant", func(t *testing.T) []byte {
			return orderCreatedBody(t, func(d map[string]any) { d["merchant_id"] = "m_nobody" })
		}, http.StatusUnprocessableEntity, []string{"data.merchant_id"}},
		{"unknown type", func(t *testing.T) []byte {
			return eventBody(t, "order.shipped", map[string]any{"merchant_id": "m_demo", "order_id": "TT-1"})
		}, http.StatusUnprocessableEntity, []string{"type"}},
		{"bad occurred_at and no data", func(*testing.T) []byte {
			return []byte(`{"type":"order.created","occurred_at":"yesterday"}`)
		}, http.StatusUnprocessableEntity, []string{"occurred_at", "data"}},
		{"not JSON", func(*testing.T) []byte { return []byte(`{"type": "order.created", `) }, http.StatusBadRequest, []string{"body"}},
		{"cancel with a bad order id", func(t *testing.T) []byte {
			return eventBody(t, "order.cancelled", map[string]any{"merchant_id": "m_demo", "order_id": "../etc"})
		}, http.StatusUnprocessableEntity, []string{"data.order_id"}},
		{"address update with a bad address", func(t *testing.T) []byte {
			return eventBody(t, "order.address_updated", map[string]any{"merchant_id": "m_demo", "order_id": "TT-1",
				"ship_to": map[string]any{"name": "Ada", "line1": "1 Road", "city": "Leeds", "country": "gb"}})
		}, http.StatusUnprocessableEntity, []string{"data.ship_to.country"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.postOrder("wh_bad", tt.body(t))
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			e := decodeError(t, rec)
			assert.Equal(t, "invalid_request", e.Error.Code)
			assert.ElementsMatch(t, tt.wantFields, fields(e))
			assert.Empty(t, h.store.records(), "nothing may be recorded for an invalid webhook")
			assert.Empty(t, h.temporal.recorded(), "nothing may be signalled for an invalid webhook")
		})
	}
}

func TestUnknownMerchantDetail(t *testing.T) {
	h := newHarness(t)
	rec := h.postOrder("wh_1", orderCreatedBody(t, func(d map[string]any) { d["merchant_id"] = "m_nobody" }))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	e := decodeError(t, rec)
	require.Len(t, e.Error.Details, 1)
	assert.Equal(t, "unknown merchant", e.Error.Details[0].Problem)
}

func TestOrderWebhookUnavailable(t *testing.T) {
	t.Run("Temporal fails", func(t *testing.T) {
		h := newHarness(t)
		h.temporal.setErr(errors.New("rpc error: code = Unavailable"))
		rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		e := decodeError(t, rec)
		assert.Equal(t, "unavailable", e.Error.Code)
		assert.NotContains(t, rec.Body.String(), "rpc error", "the cause is logged, not shown")
		assert.Empty(t, h.store.records(), "nothing is acknowledged or recorded")

		// The sender retries once Temporal is back and gets the normal answer.
		h.temporal.setErr(nil)
		rec = h.postOrder("wh_1", orderCreatedBody(t, nil))
		require.Equal(t, http.StatusAccepted, rec.Code)
		assert.JSONEq(t, createdAnswer, rec.Body.String())
	})
	t.Run("database down", func(t *testing.T) {
		h := newHarness(t)
		h.store.err = errDatabaseDown
		rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		assert.NotContains(t, rec.Body.String(), "5432")
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("recording fails after the signal", func(t *testing.T) {
		h := newHarness(t)
		h.store.recordErr = errDatabaseDown
		rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "not acknowledged unless recorded")
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	})
}

func TestOrderEventForAFinishedOrderConflicts(t *testing.T) {
	h := newHarness(t)
	h.temporal.setErr(serviceerror.NewWorkflowExecutionAlreadyStarted("workflow already finished", "", ""))
	rec := h.postOrder("wh_1", eventBody(t, "order.cancelled", map[string]any{"merchant_id": "m_demo", "order_id": "TT-1"}))
	require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
	assert.Equal(t, "conflict", decodeError(t, rec).Error.Code)
}

func TestOrderWebhookBodyLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	big := orderCreatedBody(t, func(d map[string]any) { d["marketplace"] = strings.Repeat("x", 2048) })
	t.Run("declared length", func(t *testing.T) {
		rec := h.postOrder("wh_big", big)
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, "payload_too_large", decodeError(t, rec).Error.Code)
	})
	t.Run("chunked, no length", func(t *testing.T) {
		req := signed(t, secretOld, "wh_big", h.now, big)
		r := newChunkedRequest(http.MethodPost, "/v1/webhooks/orders", big, req)
		rec := serve(h.srv, r)
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, "payload_too_large", decodeError(t, rec).Error.Code)
	})
	assert.Zero(t, h.store.callCount())
	assert.Empty(t, h.temporal.recorded())
}

func TestOrderWebhookIDMustBeAKey(t *testing.T) {
	// Too long to keep, or bytes a database refuses in a text column (Go's
	// HTTP server passes bytes >= 0x80 in header values through).
	for _, id := range []string{strings.Repeat("i", 300), "wh_\xff\xfe"} {
		h := newHarness(t)
		rec := h.postOrder(id, orderCreatedBody(t, nil))
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, "%q", id)
		assert.Equal(t, []string{"webhook-id"}, fields(decodeError(t, rec)))
		assert.Empty(t, h.temporal.recorded())
		assert.Zero(t, h.store.callCount(), "refused before the store is asked")
	}
}

func TestOrderCreatedWaitsForTheFirstDelivery(t *testing.T) {
	h := newHarness(t)
	// Another delivery holds the order's intake and is still starting it.
	h.store.intakes["m_demo/TT-10001"] = fakeIntake{webhookID: "wh_first", claim: "elsewhere", claimedAt: h.now}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- h.postOrder("wh_second", orderCreatedBody(t, nil)) }()

	select {
	case rec := <-done:
		t.Fatalf("answered %d before the first delivery did: %s", rec.Code, rec.Body.String())
	case <-time.After(100 * time.Millisecond):
	}
	h.store.mu.Lock()
	h.store.webhooks[webhookKey("orders", "wh_first")] = store.WebhookRecord{Source: "orders", ID: "wh_first",
		EventType: eventOrderCreated, MerchantID: "m_demo", OrderID: "TT-10001", StatusCode: http.StatusAccepted, Response: []byte(createdAnswer)}
	h.store.mu.Unlock()

	rec := <-done
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, createdAnswer, rec.Body.String())
	assert.Empty(t, h.temporal.recorded(), "a duplicate starts nothing")
}

func TestOrderCreatedTakesOverAnAbandonedClaim(t *testing.T) {
	h := newHarness(t)
	// Its holder died before answering, longer ago than the lease.
	h.store.intakes["m_demo/TT-10001"] = fakeIntake{webhookID: "wh_dead", claim: "dead", claimedAt: h.now.Add(-intakeLease - time.Second)}
	rec := h.postOrder("wh_new", orderCreatedBody(t, nil))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.Len(t, h.temporal.recorded(), 1)
	in, ok := h.store.intakeOf("m_demo", "TT-10001")
	require.True(t, ok)
	assert.Equal(t, "wh_new", in.webhookID)
}

func TestOrderCreatedWaitEndsWithTheRequest(t *testing.T) {
	h := newHarness(t)
	h.store.intakes["m_demo/TT-10001"] = fakeIntake{webhookID: "wh_first", claim: "elsewhere", claimedAt: h.now}
	body := orderCreatedBody(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/webhooks/orders", bytes.NewReader(body))
	for k, vs := range signed(t, secretOld, "wh_second", h.now, body) {
		req.Header[k] = vs
	}
	rec := serve(h.srv, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Equal(t, "unavailable", decodeError(t, rec).Error.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.Empty(t, h.store.records(), "nothing is recorded, so the sender's retry is answered afresh")
	assert.Empty(t, h.temporal.recorded())
}

func TestOrderCreatedReleasesItsClaimWhenTheStartFails(t *testing.T) {
	for name, err := range map[string]error{
		"Temporal unavailable":   errors.New("rpc error: code = Unavailable"),
		"order already finished": serviceerror.NewWorkflowExecutionAlreadyStarted("workflow already finished", "", ""),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.temporal.setErr(err)
			rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
			require.GreaterOrEqual(t, rec.Code, 400, rec.Body.String())
			_, held := h.store.intakeOf("m_demo", "TT-10001")
			assert.False(t, held, "the claim is given back")
			assert.Empty(t, h.store.records())

			h.temporal.setErr(nil)
			rec = h.postOrder("wh_2", orderCreatedBody(t, nil))
			assert.Equal(t, http.StatusAccepted, rec.Code, "the next delivery starts the order: %s", rec.Body.String())
		})
	}
}

// TestOrderCreatedCompletesAnAbandonedIntake: a delivery whose process
// died after starting the order left its claim unanswered; by the time the
// claim is taken over the order has finished. The retry completes the
// intake (202) instead of being refused for ever.
func TestOrderCreatedCompletesAnAbandonedIntake(t *testing.T) {
	h := newHarness(t)
	h.store.intakes["m_demo/TT-10001"] = fakeIntake{webhookID: "wh_1", claim: "dead-process", claimedAt: h.now.Add(-time.Hour)}
	h.temporal.setErr(serviceerror.NewWorkflowExecutionAlreadyStarted("workflow already finished", "", ""))
	rec := h.postOrder("wh_1", orderCreatedBody(t, nil))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"order_id":"TT-10001","merchant_id":"m_demo","workflow_id":"order/m_demo/TT-10001","stage":"received"}`, rec.Body.String())
	again := h.postOrder("wh_1", orderCreatedBody(t, nil))
	assert.Equal(t, rec.Body.String(), again.Body.String(), "later retries get the same answer")
	other := h.postOrder("wh_other", orderCreatedBody(t, nil))
	assert.Equal(t, http.StatusOK, other.Code, "another delivery is a duplicate")
}

// TestWebhookReplayAndForgery is the forger's side of the intake: a
// webhook-id reused with another, validly signed body, and a signature
// from a secret whose rotation has ended. Neither has any effect.
func TestWebhookReplayAndForgery(t *testing.T) {
	t.Run("a reused id with an altered body gets the first answer and changes nothing", func(t *testing.T) {
		h := newHarness(t)
		first := h.postOrder("wh_1", orderCreatedBody(t, nil))
		require.Equal(t, http.StatusAccepted, first.Code)
		// Same id, another order, signed with a valid secret: a replayed id
		// cannot smuggle a second event in.
		altered := bytes.Replace(orderCreatedBody(t, nil), []byte(`"TT-10001"`), []byte(`"TT-EVIL"`), 1)
		require.NotEqual(t, orderCreatedBody(t, nil), altered)
		again := h.postOrder("wh_1", altered)
		assert.Equal(t, first.Code, again.Code)
		assert.Equal(t, first.Body.Bytes(), again.Body.Bytes(), "the first answer, about the first order")
		assert.Len(t, h.temporal.recorded(), 1, "no second signal")
		assert.Len(t, h.store.records(), 1, "nothing more recorded")
		assert.NotContains(t, again.Body.String(), "TT-EVIL")
	})
	t.Run("the old secret is refused once its rotation has ended", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.OrderWebhookSecrets = []string{secretNew} })
		body := orderCreatedBody(t, nil)
		rec := h.do(http.MethodPost, "/v1/webhooks/orders", body, signed(t, secretOld, "wh_old", h.now, body))
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Empty(t, h.temporal.recorded())
		assert.Empty(t, h.store.records(), "a refused webhook writes nothing")
		rec = h.do(http.MethodPost, "/v1/webhooks/orders", body, signed(t, secretNew, "wh_new", h.now, body))
		assert.Equal(t, http.StatusAccepted, rec.Code, "the new secret works")
	})
}
