package api

// Fuzz targets for every intake the API parses: the order, carrier and
// warehouse webhooks, the landed-cost cart, ops scans (JSON and CSV) and the
// merchant routes' query strings and ids. Plain `go test` runs their f.Add
// seeds and the committed corpus under testdata/fuzz/<target>; fuzz one with
//
//	go test -run '^$' -fuzz '^FuzzOrderWebhook$' -fuzztime 20s ./api/
//
// (`make fuzz` runs each in turn). Every target checks the same properties
// (checkAnswer): no panic, never a 5xx, every 4xx is contract.md's error JSON
// with the code of its status, a 4xx wrote nothing to the store and sent
// nothing to Temporal, and the store was never handed text Postgres refuses.
// Bodies are signed inside the targets, so the fuzzer reaches the decoders
// rather than stopping at the signature check.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/carriers"
	carriersandbox "github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/store/storetest"
	"github.com/crossdock/crossdock/warehouses"
	warehousesandbox "github.com/crossdock/crossdock/warehouses/sandbox"
)

// fuzzSandboxSecret signs the sandbox carriers' and warehouses' webhooks.
var fuzzSandboxSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("crossdock-fuzz-sandbox-secret!!!"))

// codeForStatus is the contract's error code of each 4xx the API answers.
var codeForStatus = map[int]string{
	http.StatusBadRequest:            "invalid_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "invalid_request",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "payload_too_large",
	http.StatusUnprocessableEntity:   "invalid_request",
	http.StatusTooManyRequests:       "rate_limited",
}

// checkAnswer asserts the properties every fuzz target shares; st and tc
// may be nil when the target runs over the real store.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, st *fakeStore, tc *fakeTemporal) {
	t.Helper()
	require.Less(t, rec.Code, 500, "a 5xx for client input: %s", rec.Body.String())
	if st != nil {
		_, badText := st.changes()
		require.Empty(t, badText, "the store was handed text a database refuses")
	}
	if rec.Code < 400 {
		require.True(t, json.Valid(rec.Body.Bytes()), "a %d answer that is not JSON: %q", rec.Code, rec.Body.String())
		return
	}
	requireContractError(t, rec)
	if st != nil {
		writes, _ := st.changes()
		require.Empty(t, writes, "a %d answer changed the store: %s", rec.Code, rec.Body.String())
	}
	if tc != nil {
		require.Empty(t, tc.recorded(), "a %d answer reached Temporal: %s", rec.Code, rec.Body.String())
	}
}

// requireContractError checks a 4xx body is exactly contract.md's error
// shape, with the code its status stands for.
func requireContractError(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"), rec.Header().Get("Content-Type"))
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details *[]struct {
				Field   string `json:"field"`
				Problem string `json:"problem"`
			} `json:"details"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&body), "not the contract's error shape: %s", rec.Body.String())
	require.False(t, dec.More(), "trailing data: %s", rec.Body.String())
	require.NotNil(t, body.Error, rec.Body.String())
	want, known := codeForStatus[rec.Code]
	require.True(t, known, "unexpected status %d: %s", rec.Code, rec.Body.String())
	require.Equal(t, want, body.Error.Code, rec.Body.String())
	require.NotEmpty(t, body.Error.Message, rec.Body.String())
	require.NotNil(t, body.Error.Details, "details must be [] rather than absent: %s", rec.Body.String())
	for _, d := range *body.Error.Details {
		require.NotEmpty(t, d.Problem, rec.Body.String())
	}
}

// validHeaderValue reports whether Go's HTTP server would pass v through
// as a header value; others never reach a handler.
func validHeaderValue(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f })
}

// sandboxHarness is a harness whose carriers and warehouses are the real
// sandbox adapters (parsing as in production) plus a carrier without a
// mapping table, and whose store knows every tracking number, so fuzzed
// scans reach past the lookup.
func sandboxHarness(t *testing.T) *harness {
	t.Helper()
	cs, err := carriersandbox.Carriers("http://127.0.0.1:9", fuzzSandboxSecret, nil)
	require.NoError(t, err)
	ws, err := warehousesandbox.Warehouses("http://127.0.0.1:9", fuzzSandboxSecret, nil)
	require.NoError(t, err)
	h := newHarness(t, func(c *Config) {
		c.Carriers = carriers.NewRegistry(append(cs, &pollOnlyCarrier{code: "xx_nomap"})...)
		c.Warehouses = warehouses.NewRegistry(ws...)
		c.RateLimit, c.RateBurst = rate.Inf, 1
	})
	h.store.resolveAny = true
	return h
}

func FuzzOrderWebhook(f *testing.F) {
	created := orderCreatedBody(f, nil)
	for _, body := range [][]byte{
		created,
		eventBody(f, "order.cancelled", map[string]any{"merchant_id": "m_demo", "order_id": "TT-10001", "reason": "buyer changed mind"}),
		eventBody(f, "order.address_updated", map[string]any{"merchant_id": "m_demo", "order_id": "TT-10001",
			"ship_to": map[string]any{"name": "Ada", "line1": "1 New Road", "city": "Leeds", "country": "GB"}}),
		orderCreatedBody(f, func(d map[string]any) { d["items"].([]any)[0].(map[string]any)["quantity"] = "two" }),
		orderCreatedBody(f, func(d map[string]any) {
			d["items"].([]any)[0].(map[string]any)["unit_price"] = map[string]any{"amount": "1e400", "currency": "GBP"}
		}),
		orderCreatedBody(f, func(d map[string]any) { d["items"] = nil; d["ship_to"] = "GB" }),
		orderCreatedBody(f, func(d map[string]any) { d["merchant_id"] = "m_nobody" }),
		[]byte(`{"type":"order.created","occurred_at":"2026-11-25T06:00:00Z","data":null}`),
		[]byte(`{"type": "order.created", `),
		[]byte(`[]`),
		[]byte(``),
	} {
		f.Add("wh_fuzz", body)
	}
	f.Add("wh_\xff", created)
	f.Add(strings.Repeat("w", 257), created)
	f.Fuzz(func(t *testing.T, webhookID string, body []byte) {
		if !validHeaderValue(webhookID) {
			t.Skip("no HTTP server passes this header value to a handler")
		}
		h := newHarness(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/orders", body, signed(t, secretOld, webhookID, h.now, body))
		checkAnswer(t, rec, h.store, h.temporal)
	})
}

func FuzzCarrierWebhook(f *testing.F) {
	for _, body := range []string{
		`{"type":"tracking.updated","carrier":"sbx_express","tracking_number":"SBX123456789","origin_country":"CN","destination_country":"GB",` +
			`"events":[{"code":"PU","description":"Picked up","occurred_at":"2026-11-25T06:00:00Z","location":{"city":"Shenzhen","country":"CN"}}]}`,
		`{"type":"tracking.updated","carrier":"sbx_express","tracking_number":"SBX1","events":[{"code":"ZZZ"},{"code":"DL","occurred_at":"0001-01-01T00:00:00Z"}]}`,
		`{"carrier":"sbx_post","tracking_number":"RR1","events":[]}`,
		`{"carrier":"sbx_express","tracking_number":"","events":[{"code":"PU"}]}`,
		`{"carrier":"sbx_express","tracking_number":"A\u0000B","events":[{"code":"PU","description":"\u0007"}]}`,
		`{"carrier":"sbx_express","tracking_number":"` + strings.Repeat("9", 100) + `","events":[{"code":"PU"}]}`,
		`{"carrier":"sbx_express","tracking_number":"X","events":[{"occurred_at":"yesterday"}]}`,
		`not json`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h := sandboxHarness(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/carriers/sbx_express", body,
			signed(t, fuzzSandboxSecret, "evt_fuzz", time.Now(), body))
		checkAnswer(t, rec, h.store, h.temporal)
	})
}

func FuzzWarehouseWebhook(f *testing.F) {
	for _, body := range []string{
		`{"type":"packed","warehouse_id":"wh_szx","merchant_id":"m_demo","order_id":"TT-1",` +
			`"parcels":[{"weight_grams":400,"length_mm":300,"width_mm":200,"height_mm":100}],"occurred_at":"2026-11-25T06:00:00Z"}`,
		`{"type":"short_pick","warehouse_id":"wh_szx","merchant_id":"m_demo","order_id":"TT-1","reason":"bin empty\u0000"}`,
		`{"type":"out_of_stock","warehouse_id":"wh_ams","merchant_id":"m_demo","order_id":"TT-1"}`,
		`{"type":"packed","warehouse_id":"wh_szx","merchant_id":"m demo","order_id":"../x"}`,
		`{"type":"packed","warehouse_id":"wh_szx","merchant_id":"m_demo","order_id":"TT-1","parcels":[{"weight_grams":-1}]}`,
		`{"type":"lost","warehouse_id":"wh_szx"}`,
		`{"type":"packed","warehouse_id":"wh_szx","parcels":[{"weight_grams":1e99}]}`,
		`{}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h := sandboxHarness(t)
		rec := h.do(http.MethodPost, "/v1/webhooks/warehouses/wh_szx", body,
			signed(t, fuzzSandboxSecret, "evt_fuzz", time.Now(), body))
		checkAnswer(t, rec, h.store, h.temporal)
	})
}

// realQuoter is the composition root's quoter: the sandbox carriers'
// channels and tariffs and the customs engine on the shipped rules.
func realQuoter(t testing.TB) Quoter {
	t.Helper()
	cs, err := carriersandbox.Carriers("http://127.0.0.1:9", fuzzSandboxSecret, nil)
	require.NoError(t, err)
	rules := customs.DefaultRules()
	rules.DeniedParties = customs.DefaultDeniedParties()
	engine, err := customs.NewEngine(rules)
	require.NoError(t, err)
	return carriers.Quoter{Registry: carriers.NewRegistry(cs...), Customs: engine}
}

func FuzzLandedCost(f *testing.F) {
	for _, body := range [][]byte{
		quoteBody(f, nil),
		quoteBody(f, func(m map[string]any) {
			m["ship_to"] = map[string]any{"country": "DE"}
			m["tax_ids"] = map[string]any{"ioss": "IM2760000001"}
		}),
		quoteBody(f, func(m map[string]any) { m["ship_to"] = map[string]any{"country": "US"}; m["as_of"] = "2025-05-01" }),
		quoteBody(f, func(m map[string]any) { m["ship_to"] = map[string]any{"country": "AU"}; m["warehouse_id"] = "wh_ams" }),
		quoteBody(f, func(m map[string]any) {
			m["items"].([]any)[0].(map[string]any)["unit_price"] = map[string]any{"amount": "99999999999999999999999.999", "currency": "GBP"}
		}),
		quoteBody(f, func(m map[string]any) { m["items"].([]any)[0].(map[string]any)["quantity"] = 2147483648 }),
		quoteBody(f, func(m map[string]any) { m["as_of"] = "0001-01-01" }),
		quoteBody(f, func(m map[string]any) { m["items"] = []any{} }),
		[]byte(`{"items":[null],"ship_to":null}`),
		[]byte(`"cart"`),
	} {
		f.Add(body)
	}
	quoter := realQuoter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		h := newHarness(t, func(c *Config) { c.Quoter = quoter })
		header := bearer(merchantKeyDemo)
		header.Set("Content-Type", "application/json")
		rec := h.do(http.MethodPost, "/v1/landed-cost", body, header)
		checkAnswer(t, rec, h.store, h.temporal)
		writes, _ := h.store.changes()
		require.Empty(t, writes, "a quote writes nothing")
	})
}

func FuzzOpsScans(f *testing.F) {
	for _, body := range []string{
		`{"actor":"ops@example.com","scans":[{"carrier":"sbx_local","tracking_number":"LOC100200300PH","code":"PKP",` +
			`"occurred_at":"2026-11-25T05:00:00Z","city":"Manila","country":"ph","description":"collected"}]}`,
		`{"actor":"ops@example.com","scans":[{"carrier":"xx_nomap","tracking_number":"N1","code":"X","occurred_at":"2026-11-25T05:00:00+08:00",` +
			`"status":"in_transit","phase":"last_mile"}]}`,
		`{"actor":"ops@example.com","scans":[{"carrier":"xx_nomap","tracking_number":"N1","code":"X","occurred_at":"2026-11-25T05:00:00Z","status":"lost"}]}`,
		`{"actor":"ops@example.com","scans":[{"carrier":"sbx_local","tracking_number":"L1","code":"NOPE","occurred_at":"2999-01-01T00:00:00Z"}]}`,
		`{"actor":"","scans":[]}`,
		`{"actor":"\u0000","scans":[{"carrier":"sbx_local","tracking_number":"L\u0000","code":"PKP","occurred_at":"2026-11-25T05:00:00Z"}]}`,
		`{"actor":"ops","scans":[null,{}]}`,
		`{"actor":1}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h := sandboxHarness(t)
		rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", body, opsJSON(nil))
		checkAnswer(t, rec, h.store, h.temporal)
	})
}

func FuzzOpsImport(f *testing.F) {
	header := "carrier,tracking_number,code,occurred_at,city,country,description"
	for _, body := range []string{
		header + "\nsbx_local,LOC100200300PH,PKP,2026-11-25T05:00:00Z,Manila,PH,collected\n",
		"\xef\xbb\xbf" + header + ",status,phase\r\nxx_nomap,N1,X,2026-11-25T05:00:00Z,,,,in_transit,\r\n",
		"Phase,STATUS," + header + "\n,,sbx_local,L1,ARH,2026-11-25T05:00:00Z,Cebu,PH,\"quoted, with comma\"\n",
		header + "\nsbx_local,L1,PKP\n",
		header + "\nsbx_local,\"L1,PKP,2026\n",
		header + ",carrier\n",
		"",
		"a\x00b,c\n",
	} {
		f.Add("ops@example.com", []byte(body))
	}
	f.Add("", []byte(header+"\nsbx_local,L1,PKP,2026-11-25T05:00:00Z,,,\n"))
	f.Fuzz(func(t *testing.T, actor string, body []byte) {
		if !validHeaderValue(actor) {
			t.Skip("no HTTP server passes this header value to a handler")
		}
		h := sandboxHarness(t)
		header := bearer(opsTokenTest)
		header.Set("Content-Type", "text/csv")
		header.Set("X-Actor", actor)
		rec := h.do(http.MethodPost, "/v1/ops/tracking/import", body, header)
		checkAnswer(t, rec, h.store, h.temporal)
	})
}

// merchantStoreHarness is a server over a real Postgres store holding
// orders and shipments of two merchants (seedMerchantStore), for fuzzing the
// merchant routes' reads, and the next_cursor of m_demo's first page of one.
// Reads change nothing, so one store serves every input.
func merchantStoreHarness(f *testing.F) (*Server, string) {
	f.Helper()
	st := storetest.Postgres(f)
	seedMerchantStore(f, st)
	srv, err := New(Config{Store: st, Temporal: &fakeTemporal{}, OrderWebhookSecrets: []string{secretOld},
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return fixedNow }, RateLimit: rate.Inf, RateBurst: 1})
	require.NoError(f, err)
	rec := serve(srv, merchantGet("/v1/shipments", "limit=1", merchantKeyDemo))
	require.Equal(f, http.StatusOK, rec.Code, rec.Body.String())
	var firstPage pageDTO[shipmentDTO]
	require.NoError(f, json.Unmarshal(rec.Body.Bytes(), &firstPage))
	require.NotNil(f, firstPage.NextCursor)
	return srv, *firstPage.NextCursor
}

// merchantGet is a GET of path?rawQuery as a merchant; the query is set raw
// so that any bytes reach the handler.
func merchantGet(path, rawQuery, key string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.URL.Path, req.URL.RawQuery = path, rawQuery
	req.Header.Set("Authorization", "Bearer "+key)
	return req
}

func FuzzShipmentsQuery(f *testing.F) {
	srv, cursor := merchantStoreHarness(f)
	for _, q := range []string{
		"", "limit=1", "limit=200", "limit=0", "limit=-1", "limit=1e3", "limit=99999999999999999999",
		"status=in_transit&phase=line_haul", "status=lost&phase=space", "carrier=sbx_consol&destination=GB",
		"carrier=%00", "destination=gb", "updated_after=2026-11-25T00:00:00Z", "updated_after=2026-11-25T00:00:00%2B14:00",
		"updated_after=9999-12-31T23:59:59-23:59", "updated_after=0000-01-01T00:00:00Z", "updated_after=yesterday",
		"cursor=" + cursor, "limit=1&cursor=" + cursor + "&status=in_transit", "cursor=" + cursor[:len(cursor)/2],
		"cursor=forged", "cursor=%ff%fe", "cursor=eyJrIjoicyIsInUiOiIyMDI2LTExLTI1VDA2OjAwOjAwWiIsIm8iOiJvXzFcdTAwMDAifQ",
		"cursor=" + strings.Repeat("A", 600), "status=in_transit&status=delivered", "%zz=1", ";;&&==",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		rec := serve(srv, merchantGet("/v1/shipments", rawQuery, merchantKeyDemo))
		checkAnswer(t, rec, nil, nil)
		if rec.Code != http.StatusOK {
			return
		}
		var page pageDTO[map[string]any]
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
		require.LessOrEqual(t, len(page.Data), maxPageLimit)
		for _, sh := range page.Data {
			require.True(t, strings.HasPrefix(sh["tracking_number"].(string), "m_demo-"), "another merchant's shipment: %v", sh)
		}
	})
}

func FuzzMerchantLookups(f *testing.F) {
	srv, _ := merchantStoreHarness(f)
	for _, id := range []string{"TT-m_demo-A", "TT-m_other-A", "m_demo-SBXA", "m_demo-SBXA-LM", "m_other-SBXA", "",
		"..", "%00", "a/b", strings.Repeat("x", 65), "\xff", "TT 1", "?", "#"} {
		f.Add(id)
	}
	routes := []string{"/v1/orders/%s", "/v1/orders/%s/tracking", "/v1/tracking/%s"}
	f.Fuzz(func(t *testing.T, id string) {
		for _, route := range routes {
			path := strings.Replace(route, "%s", id, 1)
			rec := serve(srv, merchantGet(path, "", merchantKeyDemo))
			checkAnswer(t, rec, nil, nil)
			if rec.Code == http.StatusOK {
				require.True(t, strings.Contains(id, "m_demo"), "%s answered 200 for an id of no shipment of m_demo: %s", path, rec.Body.String())
				require.NotContains(t, rec.Body.String(), "m_other", path)
			}
		}
	})
}
