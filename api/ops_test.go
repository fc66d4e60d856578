package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

func TestOpsAuth(t *testing.T) {
	tests := []struct {
		name     string
		opsToken string
		header   http.Header
		want     int
	}{
		{"right token", opsTokenTest, bearer(opsTokenTest), http.StatusOK},
		{"no token", opsTokenTest, nil, http.StatusUnauthorized},
		{"wrong token", opsTokenTest, bearer("ops-token-for-test"), http.StatusUnauthorized},
		{"a merchant key is not an ops token", opsTokenTest, bearer(merchantKeyDemo), http.StatusUnauthorized},
		{"ops routes closed when no token is configured", "", bearer(""), http.StatusUnauthorized},
		{"closed even for an empty-looking bearer", "", http.Header{"Authorization": {"Bearer"}}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.OpsToken = tt.opsToken })
			for _, req := range []struct{ method, target string }{
				{http.MethodGet, "/v1/ops/orders?stuck=true"},
				{http.MethodPost, "/v1/ops/orders/m_demo/TT-1/retry"},
			} {
				rec := h.do(req.method, req.target, nil, tt.header)
				if tt.want == http.StatusOK {
					assert.Less(t, rec.Code, 300, "%s %s: %s", req.method, req.target, rec.Body.String())
					continue
				}
				require.Equal(t, tt.want, rec.Code, "%s %s", req.method, req.target)
				assert.Equal(t, "unauthorized", decodeError(t, rec).Error.Code)
			}
			if tt.want != http.StatusOK {
				assert.Empty(t, h.temporal.recorded())
			}
		})
	}
}

func TestOpsListStuck(t *testing.T) {
	h := newHarness(t)
	h.store.stuck = []store.OrderView{{MerchantID: "m_demo", OrderID: "TT-9", WorkflowID: "order/m_demo/TT-9",
		Stage: logistics.StageBooking, Stuck: true, StuckReason: "carrier refused: address not served",
		Order: logistics.Order{ShipTo: logistics.Address{Country: "PH"}}, CreatedAt: fixedNow, UpdatedAt: fixedNow}}
	rec := h.do(http.MethodGet, "/v1/ops/orders?stuck=true&limit=10&cursor=c1", nil, bearer(opsTokenTest))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, 10, h.store.lastLimit)
	assert.Equal(t, "c1", h.store.lastCursor)
	var page pageDTO[opsOrderDTO]
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
	require.Len(t, page.Data, 1)
	assert.Equal(t, "carrier refused: address not served", page.Data[0].StuckReason)
	assert.Equal(t, "PH", page.Data[0].Destination)
	assert.Nil(t, page.NextCursor)

	for _, q := range []string{"", "?stuck=false", "?stuck=true&limit=500"} {
		rec := h.do(http.MethodGet, "/v1/ops/orders"+q, nil, bearer(opsTokenTest))
		assert.Equal(t, http.StatusUnprocessableEntity, rec.Code, q)
	}
}

func TestOpsActions(t *testing.T) {
	tests := []struct {
		action string
		body   string
		signal string
		want   logistics.OpsAction
	}{
		{"retry", "", logistics.SignalOpsRetry, logistics.OpsAction{Actor: "ops-api"}},
		{"cancel", `{"note":"fraud"}`, logistics.SignalOpsCancel, logistics.OpsAction{Actor: "ops-api", Note: "fraud"}},
		{"switch-carrier", `{"note":"outage","carrier":"sbx_post","service":"parcel"}`, logistics.SignalOpsSwitchCarrier,
			logistics.OpsAction{Actor: "ops-api", Note: "outage", Carrier: "sbx_post", Service: "parcel"}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			h := newHarness(t)
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			rec := h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-1/"+tt.action, body, bearer(opsTokenTest))
			require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
			assert.JSONEq(t, `{"merchant_id":"m_demo","order_id":"TT-1","workflow_id":"order/m_demo/TT-1","action":"`+tt.action+`","accepted":true}`, rec.Body.String())
			calls := h.temporal.recorded()
			require.Len(t, calls, 1)
			assert.Equal(t, "SignalWorkflow", calls[0].Method)
			assert.Equal(t, "order/m_demo/TT-1", calls[0].WorkflowID)
			assert.Equal(t, tt.signal, calls[0].Signal)
			assert.Equal(t, tt.want, calls[0].Arg)
		})
	}
	t.Run("unknown action", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-1/skip-ahead", nil, bearer(opsTokenTest))
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("workflow not found", func(t *testing.T) {
		h := newHarness(t)
		h.temporal.setErr(serviceerror.NewNotFound("workflow not found for ID: order/m_demo/TT-404"))
		rec := h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-404/retry", nil, bearer(opsTokenTest))
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "not_found", decodeError(t, rec).Error.Code)
	})
	t.Run("Temporal down", func(t *testing.T) {
		h := newHarness(t)
		h.temporal.setErr(errors.New("deadline exceeded"))
		rec := h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-1/retry", nil, bearer(opsTokenTest))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	})
	t.Run("malformed body", func(t *testing.T) {
		h := newHarness(t)
		rec := h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-1/cancel", []byte(`{"note":`), bearer(opsTokenTest))
		require.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "invalid_request", decodeError(t, rec).Error.Code)
		rec = h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-1/cancel", []byte(`{"note":5}`), bearer(opsTokenTest))
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
		assert.Equal(t, []string{"note"}, fields(decodeError(t, rec)))
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("body too large", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 64 })
		rec := h.do(http.MethodPost, "/v1/ops/orders/m_demo/TT-1/cancel", []byte(`{"note":"`+strings.Repeat("x", 100)+`"}`), bearer(opsTokenTest))
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
}
