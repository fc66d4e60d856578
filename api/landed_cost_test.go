package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// The composition root's quoter and the test fake satisfy the interface.
var (
	_ Quoter = carriers.Quoter{}
	_ Quoter = (*fakeQuoter)(nil)
)

// fakeQuoter records the requests it gets and answers a fixed quote.
type fakeQuoter struct {
	mu    sync.Mutex
	reqs  []carriers.QuoteRequest
	quote carriers.Quote
	err   error
}

func (f *fakeQuoter) Quote(_ context.Context, req carriers.QuoteRequest) (carriers.Quote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return f.quote, f.err
}

func (f *fakeQuoter) requests() []carriers.QuoteRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]carriers.QuoteRequest(nil), f.reqs...)
}

// keyOnlyStore lets the merchant key be looked up and fails the test on any
// other store call: a quote reads nothing else and writes nothing.
type keyOnlyStore struct {
	Store
	t *testing.T
}

func (s keyOnlyStore) refuse(method string) error {
	s.t.Errorf("a landed-cost quote called Store.%s", method)
	return errors.New("unexpected store call")
}

func (s keyOnlyStore) Ping(context.Context) error { return s.refuse("Ping") }
func (s keyOnlyStore) GetMerchant(context.Context, string) (logistics.Merchant, error) {
	return logistics.Merchant{}, s.refuse("GetMerchant")
}
func (s keyOnlyStore) FindWebhook(context.Context, string, string) (store.WebhookRecord, bool, error) {
	return store.WebhookRecord{}, false, s.refuse("FindWebhook")
}
func (s keyOnlyStore) RecordWebhook(context.Context, store.WebhookRecord) (store.WebhookRecord, bool, error) {
	return store.WebhookRecord{}, false, s.refuse("RecordWebhook")
}
func (s keyOnlyStore) ClaimOrderIntake(context.Context, store.OrderIntakeClaim) (store.IntakeDecision, error) {
	return store.IntakeDecision{}, s.refuse("ClaimOrderIntake")
}
func (s keyOnlyStore) ReleaseOrderIntake(context.Context, string, string, string) error {
	return s.refuse("ReleaseOrderIntake")
}
func (s keyOnlyStore) GetOrder(context.Context, string, string) (store.OrderView, error) {
	return store.OrderView{}, s.refuse("GetOrder")
}
func (s keyOnlyStore) OrderTrackingView(context.Context, string, string) (store.OrderTrackingView, error) {
	return store.OrderTrackingView{}, s.refuse("OrderTrackingView")
}
func (s keyOnlyStore) ShipmentByTrackingNumber(context.Context, string) (store.ShipmentRef, error) {
	return store.ShipmentRef{}, s.refuse("ShipmentByTrackingNumber")
}
func (s keyOnlyStore) MerchantShipmentByTrackingNumber(context.Context, string, string) (logistics.Shipment, error) {
	return logistics.Shipment{}, s.refuse("MerchantShipmentByTrackingNumber")
}
func (s keyOnlyStore) ListShipments(context.Context, string, store.ShipmentFilter) ([]logistics.Shipment, string, error) {
	return nil, "", s.refuse("ListShipments")
}
func (s keyOnlyStore) ListStuckOrders(context.Context, int, string) ([]store.OrderView, string, error) {
	return nil, "", s.refuse("ListStuckOrders")
}

func money(amount, currency string) logistics.Money {
	return logistics.Money{Amount: decimal.RequireFromString(amount), Currency: currency}
}

// sampleQuote has a priced option in another currency than customs, one in
// the same currency and one without a tariff.
func sampleQuote() carriers.Quote {
	gbp := func(s string) logistics.Money { return money(s, "GBP") }
	return carriers.Quote{
		Customs: logistics.CustomsDecision{Regime: "uk_low_value", Incoterm: logistics.IncotermDDP, VATCollection: "checkout",
			DutyFree: true, DeclarationForm: "CN22", Duties: gbp("0"), Taxes: gbp("5"), Fees: gbp("0"), Total: gbp("5"),
			RulesAsOf: "2026-11-25"},
		Options: []carriers.Option{
			{Channel: logistics.Channel{Carrier: "sbx_express", Service: "express"}, EstimatedDays: 4,
				Price: money("22.5", "USD"), HasPrice: true},
			{Channel: logistics.Channel{Carrier: "sbx_local", Service: "standard"}, EstimatedDays: 6,
				Price: money("7.5", "GBP"), HasPrice: true},
			{Channel: logistics.Channel{Carrier: "sbx_consol", Service: "standard"}, EstimatedDays: 10},
		},
	}
}

// quoteBody is a valid request; edit changes the decoded JSON before it is
// sent again, so each case states only what it breaks.
func quoteBody(t testing.TB, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{
	  "ship_to": {"country": "GB"},
	  "items": [
	    {"sku": "TSHIRT-RED-M", "description": "Cotton T-shirt", "quantity": 2,
	     "unit_price": {"amount": "12.50", "currency": "GBP"}, "hs_code": "610910",
	     "origin_country": "CN", "weight_grams": 180, "dangerous_goods": "none"},
	    {"sku": "SOCKS", "description": "Wool socks", "quantity": 1,
	     "unit_price": {"amount": "4.00", "currency": "GBP"}, "hs_code": "611595",
	     "origin_country": "VN", "weight_grams": 60, "dangerous_goods": "none"}],
	  "incoterm": "DDP",
	  "service_level": "standard",
	  "tax_ids": {"ioss": "", "eori": "", "uk_vat": "GB123456789"}}`), &m))
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func item(m map[string]any, i int) map[string]any { return m["items"].([]any)[i].(map[string]any) }

func (h *harness) postQuote(body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/landed-cost", body, bearer(merchantKeyDemo))
}

func TestLandedCostQuote(t *testing.T) {
	q := &fakeQuoter{quote: sampleQuote()}
	h := newHarness(t, func(c *Config) {
		c.Quoter = q
		c.Store = keyOnlyStore{Store: c.Store, t: t}
	})
	rec := h.postQuote(quoteBody(t, nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{
	  "customs": {"regime": "uk_low_value", "incoterm": "DDP", "vat_collection": "checkout", "duty_free": true,
	    "declaration_form": "CN22",
	    "duties": {"amount": "0.00", "currency": "GBP"}, "taxes": {"amount": "5.00", "currency": "GBP"},
	    "fees": {"amount": "0.00", "currency": "GBP"}, "total": {"amount": "5.00", "currency": "GBP"},
	    "rules_as_of": "2026-11-25", "warnings": [], "blocked": false, "block_reasons": []},
	  "shipping_options": [
	    {"carrier": "sbx_express", "service": "express", "price": {"amount": "22.50", "currency": "USD"}, "estimated_days": 4},
	    {"carrier": "sbx_local", "service": "standard", "price": {"amount": "7.50", "currency": "GBP"}, "estimated_days": 6,
	     "landed_cost": {"amount": "12.50", "currency": "GBP"}},
	    {"carrier": "sbx_consol", "service": "standard", "price": null, "estimated_days": 10}]}`, rec.Body.String())

	reqs := q.requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	assert.Equal(t, "CN", got.Origin, "without a warehouse the origin is the first item's origin_country")
	assert.Equal(t, "GB", got.Destination)
	assert.Equal(t, logistics.IncotermDDP, got.Incoterm)
	assert.Equal(t, logistics.ServiceStandard, got.ServiceLevel)
	assert.Equal(t, logistics.TaxIDs{UKVAT: "GB123456789"}, got.TaxIDs)
	assert.Equal(t, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), got.Date, "the server's today by default")
	require.Len(t, got.Items, 2)
	assert.Equal(t, "SOCKS", got.Items[1].SKU)
	assert.Equal(t, 2, got.Items[0].Quantity)
	assert.True(t, got.Items[0].UnitPrice.Amount.Equal(decimal.RequireFromString("12.5")))
	assert.Equal(t, "VN", got.Items[1].OriginCountry)

	assert.Empty(t, h.temporal.recorded(), "no order is created")
	assert.Empty(t, h.store.records(), "nothing is recorded")
}

func TestLandedCostRequestOptions(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(map[string]any)
		wantOrigin string
		wantDate   time.Time
	}{
		{
			name:       "as_of picks the rules' date",
			edit:       func(m map[string]any) { m["as_of"] = "2026-06-30" },
			wantOrigin: "CN",
			wantDate:   time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		},
		{
			name:       "a warehouse's country is the origin",
			edit:       func(m map[string]any) { m["warehouse_id"] = "wh_szx"; item(m, 0)["origin_country"] = "TR" },
			wantOrigin: "CN",
			wantDate:   time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		},
		{
			name:       "the first item's origin is the origin",
			edit:       func(m map[string]any) { item(m, 0)["origin_country"] = "TR" },
			wantOrigin: "TR",
			wantDate:   time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "a full ship_to is accepted and only its country used",
			edit: func(m map[string]any) {
				m["ship_to"] = map[string]any{"name": "", "line1": "", "city": "Berlin", "country": "DE", "phone": "not a phone"}
			},
			wantOrigin: "CN",
			wantDate:   time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQuoter{quote: sampleQuote()}
			h := newHarness(t, func(c *Config) { c.Quoter = q })
			rec := h.postQuote(quoteBody(t, tt.edit))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			reqs := q.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.wantOrigin, reqs[0].Origin)
			assert.Equal(t, tt.wantDate, reqs[0].Date)
		})
	}
	t.Run("today is the server clock's calendar day", func(t *testing.T) {
		q := &fakeQuoter{quote: sampleQuote()}
		h := newHarness(t, func(c *Config) { c.Quoter = q })
		tokyo := time.FixedZone("JST", 9*3600)
		h.now = time.Date(2026, 12, 31, 23, 30, 0, 0, tokyo)
		require.Equal(t, http.StatusOK, h.postQuote(quoteBody(t, nil)).Code)
		assert.Equal(t, time.Date(2026, 12, 31, 0, 0, 0, 0, tokyo), q.requests()[0].Date)
	})
}

func TestLandedCostInvalid(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		edit   func(map[string]any)
		fields []string
	}{
		{
			name: "bad items, field by field",
			edit: func(m map[string]any) {
				item(m, 0)["hs_code"] = "61"
				item(m, 0)["description"] = "gift"
				item(m, 1)["dangerous_goods"] = "plutonium"
				item(m, 1)["weight_grams"] = 0
			},
			fields: []string{"items[0].description", "items[0].hs_code", "items[1].weight_grams", "items[1].dangerous_goods"},
		},
		{
			name: "wrong JSON types are named where they are",
			edit: func(m map[string]any) {
				item(m, 0)["quantity"] = "two"
				item(m, 1)["unit_price"] = map[string]any{"amount": 4.0, "currency": "GBP"}
			},
			fields: []string{"items[0].quantity", "items[1].unit_price"},
		},
		{
			name: "a currency that is not ISO 4217",
			edit: func(m map[string]any) {
				item(m, 1)["unit_price"] = map[string]any{"amount": "4.00", "currency": "euro"}
			},
			fields: []string{"items[1].unit_price.currency"},
		},
		{
			name:   "no items",
			edit:   func(m map[string]any) { delete(m, "items") },
			fields: []string{"items"},
		},
		{
			name:   "bad country",
			edit:   func(m map[string]any) { m["ship_to"] = map[string]any{"country": "Britain"} },
			fields: []string{"ship_to.country"},
		},
		{
			name:   "no ship_to",
			edit:   func(m map[string]any) { delete(m, "ship_to") },
			fields: []string{"ship_to.country"},
		},
		{
			name:   "ship_to of the wrong type",
			edit:   func(m map[string]any) { m["ship_to"] = "GB" },
			fields: []string{"ship_to"},
		},
		{
			name:   "bad incoterm and service level",
			edit:   func(m map[string]any) { m["incoterm"] = "EXW"; delete(m, "service_level") },
			fields: []string{"service_level", "incoterm"},
		},
		{
			name:   "as_of not a date",
			edit:   func(m map[string]any) { m["as_of"] = "2026-02-30" },
			fields: []string{"as_of"},
		},
		{
			name:   "as_of a timestamp",
			edit:   func(m map[string]any) { m["as_of"] = "2026-11-25T06:00:00Z" },
			fields: []string{"as_of"},
		},
		{
			name:   "unknown warehouse",
			edit:   func(m map[string]any) { m["warehouse_id"] = "wh_nowhere" },
			fields: []string{"warehouse_id"},
		},
		{
			name:   "malformed warehouse id",
			edit:   func(m map[string]any) { m["warehouse_id"] = "wh szx" },
			fields: []string{"warehouse_id"},
		},
		{
			name:   "control characters in a tax id",
			edit:   func(m map[string]any) { m["tax_ids"] = map[string]any{"uk_vat": "GB1\n"} },
			fields: []string{"tax_ids.uk_vat"},
		},
		{
			name:   "a body that is not an object",
			body:   []byte(`["items"]`),
			fields: []string{"body"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQuoter{quote: sampleQuote()}
			h := newHarness(t, func(c *Config) { c.Quoter = q })
			body := tt.body
			if body == nil {
				body = quoteBody(t, tt.edit)
			}
			rec := h.postQuote(body)
			require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			e := decodeError(t, rec)
			assert.Equal(t, "invalid_request", e.Error.Code)
			assert.ElementsMatch(t, tt.fields, fields(e), rec.Body.String())
			for _, d := range e.Error.Details {
				assert.NotEmpty(t, d.Problem, d.Field)
				assert.False(t, strings.HasPrefix(d.Field, "data."), "paths are the quote's own: %s", d.Field)
			}
			assert.Empty(t, q.requests(), "an invalid cart is not quoted")
		})
	}
}

func TestLandedCostMalformed(t *testing.T) {
	q := &fakeQuoter{quote: sampleQuote()}
	h := newHarness(t, func(c *Config) { c.Quoter = q })
	for _, body := range []string{`{"items": [`, ``} {
		rec := h.postQuote([]byte(body))
		require.Equal(t, http.StatusBadRequest, rec.Code, "%q: %s", body, rec.Body.String())
		assert.Equal(t, "invalid_request", decodeError(t, rec).Error.Code)
	}
	assert.Empty(t, q.requests())
}

func TestLandedCostAuth(t *testing.T) {
	q := &fakeQuoter{quote: sampleQuote()}
	h := newHarness(t, func(c *Config) { c.Quoter = q })
	for name, header := range map[string]http.Header{
		"no key":    nil,
		"wrong key": bearer("cdk_not_a_key"),
	} {
		t.Run(name, func(t *testing.T) {
			rec := h.do(http.MethodPost, "/v1/landed-cost", quoteBody(t, nil), header)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Equal(t, "unauthorized", decodeError(t, rec).Error.Code)
			assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		})
	}
	assert.Empty(t, q.requests())
}

func TestLandedCostRateLimited(t *testing.T) {
	q := &fakeQuoter{quote: sampleQuote()}
	h := newHarness(t, func(c *Config) { c.Quoter = q; c.RateLimit = 1; c.RateBurst = 1 })
	require.Equal(t, http.StatusOK, h.postQuote(quoteBody(t, nil)).Code)
	rec := h.postQuote(quoteBody(t, nil))
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Len(t, q.requests(), 1)
}

func TestLandedCostQuoterErrors(t *testing.T) {
	t.Run("an invalid cart per customs passes through as 422", func(t *testing.T) {
		q := &fakeQuoter{err: &logistics.Error{Code: logistics.CodeInvalid, Message: "the customs input is invalid",
			Details: []logistics.FieldProblem{{Field: "items[0].unit_price.currency", Problem: "no exchange rate for XTS"}}}}
		h := newHarness(t, func(c *Config) { c.Quoter = q })
		rec := h.postQuote(quoteBody(t, nil))
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		e := decodeError(t, rec)
		assert.Equal(t, "the customs input is invalid", e.Error.Message)
		assert.Equal(t, []logistics.FieldProblem{{Field: "items[0].unit_price.currency", Problem: "no exchange rate for XTS"}}, e.Error.Details)
	})
	t.Run("any other error is internal and leaks nothing", func(t *testing.T) {
		q := &fakeQuoter{err: errors.New("rules table corrupt at row 42")}
		h := newHarness(t, func(c *Config) { c.Quoter = q })
		rec := h.postQuote(quoteBody(t, nil))
		require.Equal(t, http.StatusInternalServerError, rec.Code)
		e := decodeError(t, rec)
		assert.Equal(t, "internal error", e.Error.Message)
		assert.NotContains(t, rec.Body.String(), "row 42")
		assert.Contains(t, h.logs.String(), "row 42", "the cause is logged")
	})
}

func TestLandedCostNotConfigured(t *testing.T) {
	h := newHarness(t)
	rec := h.postQuote(quoteBody(t, nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	e := decodeError(t, rec)
	assert.Equal(t, "unavailable", e.Error.Code)
	assert.Equal(t, "landed-cost quotes are not configured", e.Error.Message)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
}

func TestLandedCostBlockedQuoteHasNoOptions(t *testing.T) {
	q := &fakeQuoter{quote: carriers.Quote{Customs: logistics.CustomsDecision{Regime: "uk_low_value", Blocked: true,
		BlockReasons: []string{"no_eligible_channel: sbx_express/express: does not accept dangerous goods lithium_battery_standalone"}}}}
	h := newHarness(t, func(c *Config) { c.Quoter = q })
	rec := h.postQuote(quoteBody(t, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var got struct {
		Customs struct {
			Blocked      bool     `json:"blocked"`
			BlockReasons []string `json:"block_reasons"`
			Warnings     []string `json:"warnings"`
		} `json:"customs"`
		ShippingOptions []json.RawMessage `json:"shipping_options"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.True(t, got.Customs.Blocked)
	assert.Len(t, got.Customs.BlockReasons, 1)
	assert.NotNil(t, got.Customs.Warnings, "warnings is [] rather than null")
	assert.NotNil(t, got.ShippingOptions, "shipping_options is [] rather than null")
	assert.Empty(t, got.ShippingOptions)
}
