package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRefusesBadConfig(t *testing.T) {
	base := func() Config {
		return Config{Store: newFakeStore(), Temporal: &fakeTemporal{}, OrderWebhookSecrets: []string{secretOld}}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no secrets", func(c *Config) { c.OrderWebhookSecrets = nil }, "at least one order webhook secret"},
		{"empty secret", func(c *Config) { c.OrderWebhookSecrets = []string{secretOld, "whsec_"} }, "secret 2: secret is empty"},
		{"blank secret", func(c *Config) { c.OrderWebhookSecrets = []string{"  "} }, "secret is empty"},
		{"not base64", func(c *Config) { c.OrderWebhookSecrets = []string{"whsec_not base64!"} }, "not base64"},
		{"no store", func(c *Config) { c.Store = nil }, "Store is required"},
		{"no temporal", func(c *Config) { c.Temporal = nil }, "Temporal is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("minimal config works", func(t *testing.T) {
		_, err := New(base())
		require.NoError(t, err)
	})
}

func TestHealth(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/healthz", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())

	rec = h.do(http.MethodGet, "/readyz", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		dbErr      error
		temporal   error
		wantFields []string
	}{
		{"database down", errDatabaseDown, nil, []string{"database"}},
		{"temporal down", nil, errors.New("rpc error: code = Unavailable"), []string{"temporal"}},
		{"both down", errDatabaseDown, errors.New("rpc error"), []string{"database", "temporal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.pingErr = tt.dbErr
			h.temporal.healthErr = tt.temporal
			rec := h.do(http.MethodGet, "/readyz", nil, nil)
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			assert.Equal(t, "5", rec.Header().Get("Retry-After"))
			e := decodeError(t, rec)
			assert.Equal(t, "unavailable", e.Error.Code)
			assert.Equal(t, tt.wantFields, fields(e))
			for _, f := range tt.wantFields {
				assert.Contains(t, e.Error.Message, f)
			}
			assert.NotContains(t, rec.Body.String(), "5432")
		})
	}
	t.Run("a hanging dependency times out", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.ReadyTimeout = 1 })
		h.srv.cfg.Store = hangingPinger{h.store}
		rec := h.do(http.MethodGet, "/readyz", nil, nil)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, []string{"database"}, fields(decodeError(t, rec)))
	})
}

// hangingPinger's Ping waits for its context, like a database that does not answer.
type hangingPinger struct{ *fakeStore }

func (hangingPinger) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/v1/nothing-here", nil, nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	e := decodeError(t, rec)
	assert.Equal(t, "not_found", e.Error.Code)
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))

	rec = h.do(http.MethodDelete, "/v1/webhooks/orders", nil, nil)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	e = decodeError(t, rec)
	assert.Equal(t, "invalid_request", e.Error.Code)
	assert.Contains(t, e.Error.Message, "DELETE")

	// No redirects to other paths: a trailing or doubled slash is not a route.
	for _, path := range []string{"/v1/shipments/", "/v1/orders//tracking", "/v1/orders/"} {
		rec = h.do(http.MethodGet, path, nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusNotFound, rec.Code, path)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code, path)
	}
}

func TestPanicIsInternalError(t *testing.T) {
	h := newHarness(t)
	h.store.panicOnGet = true
	rec := h.do(http.MethodGet, "/v1/orders/TT-1", nil, bearer(merchantKeyDemo))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	e := decodeError(t, rec)
	assert.Equal(t, "internal", e.Error.Code)
	assert.Equal(t, "internal error", e.Error.Message)
	assert.NotContains(t, rec.Body.String(), "exploded")
	assert.Contains(t, h.logs.String(), "fake store exploded", "the cause is logged")
}

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-ID": {"req-123"}})
	assert.Equal(t, "req-123", rec.Header().Get("X-Request-ID"))

	rec = h.do(http.MethodGet, "/healthz", nil, nil)
	generated := rec.Header().Get("X-Request-ID")
	assert.Len(t, generated, 26, "a ULID")

	rec = h.do(http.MethodGet, "/healthz", nil, http.Header{"X-Request-ID": {strings.Repeat("x", 500)}})
	assert.Len(t, rec.Header().Get("X-Request-ID"), 26, "an unreasonable id is replaced")

	// Every log line carries a request id, including the handler's own lines.
	h.postOrder("wh_1", orderCreatedBody(t, nil))
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	require.NotEmpty(t, lines)
	handlerLine := false
	for _, line := range lines {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		assert.NotEmpty(t, entry["request_id"], line)
		if entry["msg"] == "order webhook accepted" {
			handlerLine = true
		}
	}
	assert.True(t, handlerLine)
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, func(c *Config) { c.Metrics = reg })
	h.do(http.MethodGet, "/healthz", nil, nil)
	h.do(http.MethodGet, "/v1/orders/TT-1", nil, nil)
	h.do(http.MethodGet, "/no/such/path/12345", nil, nil)
	rec := h.do(http.MethodGet, "/metrics", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `crossdock_http_requests_total{method="GET",route="/healthz",status="200"} 1`)
	assert.Contains(t, body, `crossdock_http_requests_total{method="GET",route="/v1/orders/:order_id",status="401"} 1`)
	assert.Contains(t, body, `route="unmatched"`)
	assert.NotContains(t, body, "12345", "raw paths never become labels")
	assert.Contains(t, body, "crossdock_http_request_duration_seconds_bucket")

	// A second server on the same registry reuses the collectors.
	_, err := New(Config{Store: newFakeStore(), Temporal: &fakeTemporal{}, OrderWebhookSecrets: []string{secretOld}, Metrics: reg})
	require.NoError(t, err)
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPISpec)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

func TestOpenAPISpecIsValid31(t *testing.T) {
	doc := loadSpec(t)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.True(t, doc.IsOpenAPI31OrLater())
}

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

func TestRoutesMatchTheSpec(t *testing.T) {
	doc := loadSpec(t)
	var inSpec []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	h := newHarness(t)
	var registered []string
	for _, r := range h.srv.engine.Routes() {
		registered = append(registered, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	sort.Strings(inSpec)
	sort.Strings(registered)
	assert.Equal(t, inSpec, registered)
	// Both could lose a route together; contract.md's routes must stay.
	assert.Subset(t, registered, []string{
		"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
		"POST /v1/webhooks/orders", "POST /v1/webhooks/carriers/{carrier}", "POST /v1/webhooks/warehouses/{warehouse_id}",
		"GET /v1/orders/{order_id}", "GET /v1/orders/{order_id}/tracking", "GET /v1/shipments",
		"GET /v1/tracking/{tracking_number}", "POST /v1/landed-cost",
		"GET /track/{tracking_number}",
		"GET /v1/ops/orders", "POST /v1/ops/orders/{merchant_id}/{order_id}/{action}",
		"POST /v1/webhook-endpoints",
	})
}

func TestServedSpec(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/openapi.json", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, openAPISpec, rec.Body.Bytes())
	assert.Equal(t, openAPISpec, OpenAPISpec())
}
