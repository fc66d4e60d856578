package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

func demoShipment(merchantID, orderID string, n int, tn string, status logistics.Status, phase logistics.Phase, updated time.Time) logistics.Shipment {
	return logistics.Shipment{
		MerchantID: merchantID, OrderID: orderID, Number: n, Carrier: "sbx_consol", Service: "standard", TrackingNumber: tn,
		Status: status, Phase: phase, Origin: "CN", Destination: "GB", UpdatedAt: updated,
		Legs: []logistics.Leg{
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", Service: "standard", TrackingNumber: tn, Status: status},
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", Service: "parcel", TrackingNumber: tn + "-LM", Status: logistics.StatusPending},
		},
	}
}

func seedOrders(h *harness) {
	gbp := func(s string) logistics.Money {
		return logistics.Money{Amount: decimal.RequireFromString(s), Currency: "GBP"}
	}
	view := store.OrderView{
		MerchantID: "m_demo", OrderID: "TT-1", WorkflowID: "order/m_demo/TT-1", Stage: logistics.StageLineHaul,
		Order: logistics.Order{MerchantID: "m_demo", OrderID: "TT-1", WarehouseID: "wh_szx", ServiceLevel: logistics.ServiceStandard,
			Incoterm: logistics.IncotermDDP, ShipTo: logistics.Address{Name: "Ada", City: "London", Country: "GB"}},
		Shipments: []logistics.Shipment{
			demoShipment("m_demo", "TT-1", 1, "SBX1", logistics.StatusInTransit, logistics.PhaseLineHaul, fixedNow.Add(2*time.Hour)),
			demoShipment("m_demo", "TT-1", 2, "SBX2", logistics.StatusPickedUp, logistics.PhaseOrigin, fixedNow.Add(time.Hour)),
		},
		Customs: &logistics.CustomsDecision{Regime: "uk_low_value", Incoterm: logistics.IncotermDDP, VATCollection: "checkout",
			DutyFree: true, DeclarationForm: "CN22", Duties: gbp("0"), Taxes: gbp("5"), Fees: gbp("0"), Total: gbp("5"), RulesAsOf: "2026-11-25"},
		CreatedAt: fixedNow, UpdatedAt: fixedNow.Add(2 * time.Hour),
	}
	h.store.orders["m_demo/TT-1"] = view
	h.store.events["m_demo/TT-1"] = []logistics.TrackingEvent{
		scan("SBX1", "LATE", fixedNow.Add(2*time.Hour)),
		scan("SBX1", "EARLY", fixedNow.Add(time.Hour)),
	}
	other := view
	other.MerchantID, other.OrderID, other.WorkflowID = "m_other", "TT-OTHER", "order/m_other/TT-OTHER"
	h.store.orders["m_other/TT-OTHER"] = other
	h.store.shipments = append(h.store.shipments, view.Shipments...)
	h.store.shipments = append(h.store.shipments, demoShipment("m_other", "TT-OTHER", 1, "OTHER1", logistics.StatusInTransit, logistics.PhaseLineHaul, fixedNow))
}

func TestMerchantAuth(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
	}{
		{"no header", nil},
		{"not bearer", http.Header{"Authorization": {"Basic " + merchantKeyDemo}}},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}},
		{"unknown key", bearer("cdk_nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			seedOrders(h)
			rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, tt.header)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Equal(t, "unauthorized", decodeError(t, rec).Error.Code)
			assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
		})
	}
	t.Run("database down is 503, not 401", func(t *testing.T) {
		h := newHarness(t)
		h.store.err = errDatabaseDown
		rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	})
}

func TestGetOrder(t *testing.T) {
	h := newHarness(t)
	seedOrders(h)
	rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, "TT-1", got["order_id"])
	assert.Equal(t, "m_demo", got["merchant_id"])
	assert.Equal(t, "order/m_demo/TT-1", got["workflow_id"])
	assert.Equal(t, "line_haul", got["stage"])
	assert.Equal(t, false, got["stuck"])
	assert.Equal(t, "GB", got["destination"])
	assert.Equal(t, "2026-11-25T06:00:00Z", got["created_at"])
	customs := got["customs"].(map[string]any)
	assert.Equal(t, map[string]any{"amount": "5.00", "currency": "GBP"}, customs["taxes"], "money is a decimal string in minor units")
	assert.Equal(t, []any{}, customs["warnings"])
	shipments := got["shipments"].([]any)
	require.Len(t, shipments, 2)
	legs := shipments[0].(map[string]any)["legs"].([]any)
	require.Len(t, legs, 2)
	assert.Equal(t, "SBX1-LM", legs[1].(map[string]any)["tracking_number"])
	assert.NotContains(t, got, "ship_to", "the order DTO is not the store row")
}

func TestOrderTracking(t *testing.T) {
	h := newHarness(t)
	seedOrders(h)
	rec := h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got orderTrackingDTO
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, logistics.StatusPickedUp, got.Status, "the least advanced shipment's status, though the other was updated later")
	assert.Equal(t, logistics.PhaseOrigin, got.Phase)
	require.Len(t, got.Events, 2)
	assert.Equal(t, "EARLY", got.Events[0].RawCode, "oldest first")
	assert.Equal(t, "LATE", got.Events[1].RawCode)
}

func TestTrackingNumberLookup(t *testing.T) {
	h := newHarness(t)
	seedOrders(h)
	rec := h.do(http.MethodGet, "/v1/tracking/SBX1-LM", nil, bearer(merchantKeyDemo))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got shipmentDTO
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, "SBX1", got.TrackingNumber)
	assert.Len(t, got.Legs, 2)
}

func TestListShipments(t *testing.T) {
	t.Run("filters reach the store", func(t *testing.T) {
		h := newHarness(t)
		seedOrders(h)
		rec := h.do(http.MethodGet, "/v1/shipments?status=in_transit&phase=line_haul&carrier=sbx_consol&destination=GB&updated_after=2026-11-25T00:00:00%2B01:00&limit=1&cursor=abc",
			nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		f := h.store.lastFilter
		assert.Equal(t, logistics.StatusInTransit, f.Status)
		assert.Equal(t, logistics.PhaseLineHaul, f.Phase)
		assert.Equal(t, "sbx_consol", f.Carrier)
		assert.Equal(t, "GB", f.Destination)
		require.NotNil(t, f.UpdatedAfter)
		assert.True(t, f.UpdatedAfter.Equal(time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)))
		assert.Equal(t, 1, f.Limit)
		assert.Equal(t, "abc", f.Cursor)
		var page pageDTO[shipmentDTO]
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
		require.Len(t, page.Data, 1)
		require.NotNil(t, page.NextCursor)
		assert.Equal(t, "next-page", *page.NextCursor)
	})
	t.Run("defaults and last page", func(t *testing.T) {
		h := newHarness(t)
		seedOrders(h)
		rec := h.do(http.MethodGet, "/v1/shipments", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, 50, h.store.lastFilter.Limit)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
		assert.Nil(t, raw["next_cursor"])
		assert.Len(t, raw["data"], 2, "only the merchant's own shipments")
	})
	bad := []struct {
		query string
		field string
	}{
		{"status=lost", "status"},
		{"phase=space", "phase"},
		{"limit=0", "limit"},
		{"limit=201", "limit"},
		{"limit=ten", "limit"},
		{"updated_after=yesterday", "updated_after"},
		{"destination=gb", "destination"},
		{"carrier=a%20b", "carrier"},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) {
			h := newHarness(t)
			rec := h.do(http.MethodGet, "/v1/shipments?"+tt.query, nil, bearer(merchantKeyDemo))
			require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			e := decodeError(t, rec)
			assert.Equal(t, "invalid_request", e.Error.Code)
			assert.Equal(t, []string{tt.field}, fields(e))
		})
	}
	t.Run("store rejects the cursor", func(t *testing.T) {
		h := newHarness(t)
		h.store.listErr = &logistics.Error{Code: logistics.CodeInvalid, Message: "the cursor is invalid",
			Details: []logistics.FieldProblem{{Field: "cursor", Problem: "is not a next_cursor of this list"}}}
		rec := h.do(http.MethodGet, "/v1/shipments?cursor=forged", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		assert.Equal(t, []string{"cursor"}, fields(decodeError(t, rec)))
	})
	t.Run("database down", func(t *testing.T) {
		h := newHarness(t)
		h.store.listErr = errDatabaseDown
		rec := h.do(http.MethodGet, "/v1/shipments", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.NotContains(t, rec.Body.String(), "5432")
	})
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RateLimit = 1; c.RateBurst = 2 })
	seedOrders(h)
	for range 2 {
		rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusOK, rec.Code)
	}
	rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "rate_limited", decodeError(t, rec).Error.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))

	// Another key has its own bucket.
	rec = h.do(http.MethodGet, "/v1/orders/TT-OTHER", nil, bearer(merchantKeyOther))
	assert.Equal(t, http.StatusOK, rec.Code)

	// The bucket refills with time.
	h.now = h.now.Add(time.Second)
	rec = h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestPrintedDocumentsAreTheMerchantsOwn(t *testing.T) {
	h := newHarness(t)
	get := func(path string) *httptest.ResponseRecorder {
		return h.do(http.MethodGet, path, nil, bearer(merchantKeyDemo))
	}
	pdf := []byte("%PDF-1.4 label")
	h.store.documents = append(h.store.documents,
		store.Document{MerchantID: "m_demo", OrderID: "TT-1", TrackingNumber: "SL000000001", Kind: store.DocumentLabel,
			ContentType: "application/pdf", Content: pdf},
		store.Document{MerchantID: "m_demo", OrderID: "TT-1", TrackingNumber: "SL000000001", Kind: store.DocumentCustomsForm,
			ContentType: "application/pdf", Content: []byte("%PDF-1.4 cn22")})

	w := get("/v1/tracking/SL000000001/label")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "application/pdf", w.Header().Get("Content-Type"))
	assert.Equal(t, pdf, w.Body.Bytes())
	w = get("/v1/tracking/SL000000001/customs-form")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "cn22")

	missing := get("/v1/tracking/SL999999999/label")
	assert.Equal(t, http.StatusNotFound, missing.Code)
	h.store.documents[0].MerchantID = "m_other"
	others := get("/v1/tracking/SL000000001/label")
	assert.Equal(t, http.StatusNotFound, others.Code)
	assert.Equal(t, missing.Body.String(), others.Body.String(), "another merchant's label looks missing")
	assert.Equal(t, http.StatusNotFound, get("/v1/tracking/..%2F..%2Fetc/label").Code)
}
