package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

var goodSignature = http.Header{"X-Test-Signature": {"good"}}

func partnerBody(t *testing.T, w partnerWebhook) []byte {
	t.Helper()
	b, err := json.Marshal(w)
	require.NoError(t, err)
	return b
}

func scan(tn, code string, at time.Time) logistics.TrackingEvent {
	return logistics.TrackingEvent{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul, Carrier: "sbx_express",
		TrackingNumber: tn, RawCode: code, OccurredAt: at, Source: logistics.SourceWebhook}
}

func TestCarrierWebhook(t *testing.T) {
	newH := func(t *testing.T) *harness {
		h := newHarness(t)
		h.store.refs["SBX1"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, WorkflowID: "shipment/m_demo/TT-1/1", Carrier: "sbx_express"}
		h.store.refs["SBX2"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-2", Number: 1, WorkflowID: "shipment/m_demo/TT-2/1", Carrier: "sbx_express"}
		return h
	}
	body := func(t *testing.T) []byte {
		return partnerBody(t, partnerWebhook{ID: "cw_1", Events: []logistics.TrackingEvent{
			scan("SBX1", "A", fixedNow), scan("SBX2", "A", fixedNow), scan("SBX1", "B", fixedNow.Add(time.Hour)),
		}})
	}

	t.Run("groups events per tracking number and signals each shipment", func(t *testing.T) {
		h := newH(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", body(t), goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"accepted":3,"ignored":0}`, rec.Body.String())
		calls := h.temporal.recorded()
		require.Len(t, calls, 2)
		assert.Equal(t, "SignalWorkflow", calls[0].Method)
		assert.Equal(t, "shipment/m_demo/TT-1/1", calls[0].WorkflowID)
		assert.Equal(t, logistics.SignalTrackingEvent, calls[0].Signal)
		upd := calls[0].Arg.(logistics.TrackingUpdate)
		assert.Equal(t, "cw_1", upd.WebhookID)
		require.Len(t, upd.Events, 2)
		assert.Equal(t, "A", upd.Events[0].RawCode)
		assert.Equal(t, "B", upd.Events[1].RawCode)
		assert.Equal(t, "shipment/m_demo/TT-2/1", calls[1].WorkflowID)

		again := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", body(t), goodSignature)
		assert.Equal(t, http.StatusAccepted, again.Code)
		assert.Equal(t, rec.Body.Bytes(), again.Body.Bytes())
		assert.Len(t, h.temporal.recorded(), 2, "a redelivery must not signal again")
		records := h.store.records()
		require.Len(t, records, 1)
		assert.Equal(t, "carrier:sbx_express", records[0].Source)
	})
	t.Run("an unknown number is refused unrecorded, and nothing is signalled, so the retry starts afresh", func(t *testing.T) {
		h := newH(t)
		b := partnerBody(t, partnerWebhook{ID: "cw_2", Events: []logistics.TrackingEvent{scan("SBX1", "A", fixedNow), scan("NOPE", "A", fixedNow)}})
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.NotEmpty(t, rec.Header().Get("Retry-After"))
		assert.Contains(t, rec.Body.String(), "NOPE")
		assert.Empty(t, h.temporal.recorded(), "no shipment is signalled by a refused webhook")
		assert.Empty(t, h.store.records(), "nothing recorded: a redelivery is processed afresh")

		h.store.refs["NOPE"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-3", Number: 1, WorkflowID: "shipment/m_demo/TT-3/1", Carrier: "sbx_express"}
		again := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusAccepted, again.Code, again.Body.String())
		assert.Len(t, h.temporal.recorded(), 2)
		assert.Len(t, h.store.records(), 1)
	})
	t.Run("events whose number no shipment can have are dropped, not retried for ever", func(t *testing.T) {
		h := newH(t)
		b := partnerBody(t, partnerWebhook{ID: "cw_6", Events: []logistics.TrackingEvent{
			scan("SBX1", "A", fixedNow), scan("SBX\x00", "A", fixedNow), scan(strings.Repeat("9", 65), "A", fixedNow), scan("", "A", fixedNow)}})
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"accepted":1,"ignored":0}`, rec.Body.String())
		_, badText := h.store.changes()
		assert.Empty(t, badText, "only storable numbers reach the store")
	})
	t.Run("a webhook-id that is not text is refused", func(t *testing.T) {
		h := newH(t)
		b := partnerBody(t, partnerWebhook{ID: "cw_\x01", Events: []logistics.TrackingEvent{scan("SBX1", "A", fixedNow)}})
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		assert.Equal(t, []string{"webhook-id"}, fields(decodeError(t, rec)))
		assert.Zero(t, h.store.callCount())
	})
	t.Run("a number issued by another carrier is not theirs to update", func(t *testing.T) {
		h := newH(t)
		h.store.refs["LS1"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-4", Number: 1, WorkflowID: "shipment/m_demo/TT-4/1", Carrier: "sbx_post"}
		b := partnerBody(t, partnerWebhook{ID: "cw_4", Events: []logistics.TrackingEvent{scan("LS1", "DLV", fixedNow)}})
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("a shipment workflow not running yet gets the events once it runs", func(t *testing.T) {
		h := newH(t)
		h.temporal.setErr(serviceerror.NewNotFound("workflow not found"))
		b := partnerBody(t, partnerWebhook{ID: "cw_3", Events: []logistics.TrackingEvent{scan("SBX1", "A", fixedNow)}})
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"accepted":1,"ignored":0}`, rec.Body.String())
		assert.Len(t, h.store.records(), 1, "acknowledged once durable")
		assert.Len(t, h.store.events["m_demo/TT-1"], 1, "the event is in the timeline")
		assert.Equal(t, 1, h.store.pendingHandoffs(), "kept for the workflow")
		assert.Contains(t, h.logs.String(), "tracking hand-off not delivered; will retry")

		h.temporal.setErr(nil)
		n, err := h.relay.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, n, "not due before its backoff")
		h.now = h.now.Add(relayBackoff(1))
		n, err = h.relay.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		calls := h.temporal.recorded()
		require.Len(t, calls, 1)
		assert.Equal(t, "shipment/m_demo/TT-1/1", calls[0].WorkflowID)
		assert.Equal(t, "A", calls[0].Arg.(logistics.TrackingUpdate).Events[0].RawCode)
		assert.Zero(t, h.store.pendingHandoffs())
	})
	t.Run("a late scan of a finished shipment is acknowledged and ignored", func(t *testing.T) {
		h := newH(t)
		ref := h.store.refs["SBX1"]
		ref.Status = logistics.StatusDelivered
		h.store.refs["SBX1"] = ref
		h.temporal.setErr(serviceerror.NewNotFound("workflow execution already completed"))
		b := partnerBody(t, partnerWebhook{ID: "cw_5", Events: []logistics.TrackingEvent{scan("SBX1", "DLV", fixedNow)}})
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", b, goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"accepted":0,"ignored":1}`, rec.Body.String())
		assert.Len(t, h.store.records(), 1)
	})
	t.Run("Temporal down: acknowledged, and handed over when it is back", func(t *testing.T) {
		h := newH(t)
		h.temporal.setErr(errors.New("connection refused"))
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", body(t), goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.Equal(t, 2, h.store.pendingHandoffs())
		h.temporal.setErr(nil)
		for range 3 { // each failure doubles the wait
			h.now = h.now.Add(relayBackoff(5))
			_, err := h.relay.RunOnce(t.Context())
			require.NoError(t, err)
		}
		assert.Len(t, h.temporal.recorded(), 2)
		assert.Zero(t, h.store.pendingHandoffs())
	})
	t.Run("database down", func(t *testing.T) {
		h := newH(t)
		h.store.err = errDatabaseDown
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", body(t), goodSignature)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("bad signature", func(t *testing.T) {
		h := newH(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", body(t), http.Header{"X-Test-Signature": {"forged"}})
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Equal(t, "unauthorized", decodeError(t, rec).Error.Code)
		assert.Zero(t, h.store.callCount())
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("unknown carrier", func(t *testing.T) {
		h := newH(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/acme", body(t), goodSignature)
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)
	})
	t.Run("carrier that does not push", func(t *testing.T) {
		h := newH(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_post", body(t), goodSignature)
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)
	})
}

func TestWarehouseWebhook(t *testing.T) {
	packed := func(t *testing.T, edit func(*logistics.WarehouseEvent)) []byte {
		ev := logistics.WarehouseEvent{ID: "we_1", Type: logistics.WarehousePacked, WarehouseID: "wh_szx", MerchantID: "m_demo",
			OrderID: "TT-1", Parcels: []logistics.Parcel{{WeightGrams: 400, LengthMM: 300, WidthMM: 200, HeightMM: 50}}, OccurredAt: fixedNow}
		if edit != nil {
			edit(&ev)
		}
		return partnerBody(t, partnerWebhook{Event: ev})
	}
	const url = "/v1/webhooks/warehouses/wh_szx"

	t.Run("signals the order workflow", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, url, packed(t, nil), goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"order_id":"TT-1","merchant_id":"m_demo","workflow_id":"order/m_demo/TT-1","accepted":true}`, rec.Body.String())
		calls := h.temporal.recorded()
		require.Len(t, calls, 1)
		assert.Equal(t, "order/m_demo/TT-1", calls[0].WorkflowID)
		assert.Equal(t, logistics.SignalWarehouseEvent, calls[0].Signal)
		ev := calls[0].Arg.(logistics.WarehouseEvent)
		assert.Equal(t, "we_1", ev.ID)
		assert.Equal(t, 400, ev.Parcels[0].WeightGrams)

		again := h.do(http.MethodPost, url, packed(t, nil), goodSignature)
		assert.Equal(t, rec.Body.Bytes(), again.Body.Bytes())
		assert.Len(t, h.temporal.recorded(), 1)
		records := h.store.records()
		require.Len(t, records, 1)
		assert.Equal(t, "warehouse:wh_szx", records[0].Source)
		assert.Equal(t, "we_1", records[0].ID)
	})
	t.Run("order not running: 404, recorded", func(t *testing.T) {
		h := newHarness(t)
		h.temporal.setErr(serviceerror.NewNotFound("workflow not found"))
		rec := h.do(http.MethodPost, url, packed(t, nil), goodSignature)
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)
		require.Len(t, h.store.records(), 1)
		h.temporal.setErr(nil)
		again := h.do(http.MethodPost, url, packed(t, nil), goodSignature)
		assert.Equal(t, http.StatusNotFound, again.Code)
		assert.Equal(t, rec.Body.Bytes(), again.Body.Bytes())
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("Temporal down", func(t *testing.T) {
		h := newHarness(t)
		h.temporal.setErr(errors.New("connection refused"))
		rec := h.do(http.MethodPost, url, packed(t, nil), goodSignature)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Empty(t, h.store.records())
	})
	t.Run("event for another warehouse", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, url, packed(t, func(e *logistics.WarehouseEvent) { e.WarehouseID = "wh_ams" }), goodSignature)
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
		assert.Equal(t, []string{"warehouse_id"}, fields(decodeError(t, rec)))
	})
	t.Run("impossible parcels and ids", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, url, packed(t, func(e *logistics.WarehouseEvent) {
			e.ID = "we_\x01"
			e.Parcels = []logistics.Parcel{{WeightGrams: 400}, {WeightGrams: 0, LengthMM: -1, HeightMM: 100_001}, {WeightGrams: 1_000_001}}
		}), goodSignature)
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		assert.Equal(t, []string{"id", "parcels[1].weight_grams", "parcels[1].length_mm", "parcels[1].height_mm", "parcels[2].weight_grams"},
			fields(decodeError(t, rec)))
		writes, _ := h.store.changes()
		assert.Empty(t, writes)
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("a long reason is cleaned and cut, not refused", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, url, packed(t, func(e *logistics.WarehouseEvent) {
			e.Type = logistics.WarehouseShortPick
			e.Parcels = nil
			e.Reason = "bin\x00empty " + strings.Repeat("é", 1000)
		}), goodSignature)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		ev := h.temporal.recorded()[0].Arg.(logistics.WarehouseEvent)
		assert.LessOrEqual(t, len(ev.Reason), 1000)
		assert.True(t, strings.HasPrefix(ev.Reason, "bin empty éé"), ev.Reason[:20])
		assert.True(t, utf8.ValidString(ev.Reason))
	})
	t.Run("bad signature", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, url, packed(t, nil), nil)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Zero(t, h.store.callCount())
	})
	t.Run("unknown warehouse", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/warehouses/wh_nowhere", packed(t, nil), goodSignature)
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)
	})
}
