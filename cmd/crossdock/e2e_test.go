package main

import (
	"bytes"
	"context"
	csvpkg "encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// temporalCLIForTest finds the Temporal CLI that `make test` builds. Without
// it the test skips, except under CI=true, where it fails.
func temporalCLIForTest(t *testing.T) string {
	t.Helper()
	candidates := []string{filepath.Join("..", "..", "bin", "temporal")}
	if env := os.Getenv("CROSSDOCK_TEMPORAL_CLI"); env != "" {
		candidates = []string{env} // an explicit choice is never second-guessed
	}
	for _, c := range candidates {
		if abs, err := filepath.Abs(c); err == nil {
			if _, err := os.Stat(abs); err == nil {
				return abs
			}
		}
	}
	msg := "Temporal CLI not found: run `make test` (it builds bin/temporal) or set CROSSDOCK_TEMPORAL_CLI"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestEndToEnd runs `crossdock dev` for real (Temporal dev server, worker,
// API, sandbox network, embedded SQLite), sends signed orders as the order
// service would and follows them to delivered through the merchant API.
// CROSSDOCK_SOAK_ORDERS raises the number of orders (make soak).
func TestEndToEnd(t *testing.T) {
	cli := temporalCLIForTest(t)
	orders := 3
	if n, err := strconv.Atoi(os.Getenv("CROSSDOCK_SOAK_ORDERS")); err == nil && n > 0 {
		orders = n
	}
	for _, k := range []string{"TEMPORAL_ADDRESS", "CROSSDOCK_DATABASE_URL", "CROSSDOCK_ORDER_WEBHOOK_SECRET",
		"CROSSDOCK_SANDBOX_WEBHOOK_SECRET", "CROSSDOCK_OPS_TOKEN", "CROSSDOCK_WEBHOOK_ALLOW_PRIVATE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("CROSSDOCK_DATA_DIR", t.TempDir())
	t.Setenv("CROSSDOCK_TEMPORAL_CLI", cli)
	t.Setenv("CROSSDOCK_SANDBOX_SPEEDUP", "100000")
	t.Setenv("CROSSDOCK_POLL_INTERVAL", "1s")
	t.Setenv("CROSSDOCK_MANIFEST_EVERY", "1s")
	t.Setenv("CROSSDOCK_CARRIER_MAX_ATTEMPTS", "2")
	t.Setenv("CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL", "100ms")
	cfg, err := loadConfig()
	require.NoError(t, err)

	ctx, stop := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ready := make(chan stackInfo, 1)
	done := make(chan error, 1)
	go func() { done <- runStack(ctx, cfg, stackOptions{Logger: logger, Ephemeral: true, Ready: ready}) }()
	// Stop the stack, Temporal dev server included, however the test ends:
	// a failed assertion must not leave a server process behind.
	var stopErr error
	stopped := false
	shutdown := func() error {
		if !stopped {
			stopped = true
			stop()
			select {
			case stopErr = <-done:
			case <-time.After(time.Minute):
				stopErr = errors.New("dev stack did not stop within a minute")
			}
		}
		return stopErr
	}
	t.Cleanup(func() { _ = shutdown() })
	var info stackInfo
	select {
	case info = <-ready:
	case err := <-done:
		stopped = true
		t.Fatalf("stack stopped before it was ready: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("stack not ready within 3 minutes")
	}
	webhookURL := info.APIURL + "/v1/webhooks/orders"
	hooks := subscribeReceiver(t, info)

	t.Run("bad signature is refused and writes nothing", func(t *testing.T) {
		body, _ := json.Marshal(demoOrder(demoMerchantID, "E2E-BADSIG", "wh_szx", "GB"))
		other, err := newSecret()
		require.NoError(t, err)
		status, _, err := sendSigned(ctx, webhookURL, other, body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, status)
		assertNoOrder(t, info, "E2E-BADSIG")
	})

	t.Run("malformed order answers 422 with field details and writes nothing", func(t *testing.T) {
		o := demoOrder(demoMerchantID, "E2E-BAD", "wh_szx", "Britain")
		o["data"].(map[string]any)["items"].([]map[string]any)[0]["hs_code"] = "61"
		body, _ := json.Marshal(o)
		status, answer, err := sendSigned(ctx, webhookURL, info.OrderWebhookSecret, body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Contains(t, answer, `"invalid_request"`)
		assert.Contains(t, answer, "data.ship_to.country")
		assert.Contains(t, answer, "data.items[0].hs_code")
		assertNoOrder(t, info, "E2E-BAD")
	})

	ids := make([]string, orders)
	for i := range ids {
		ids[i] = fmt.Sprintf("E2E-%04d", i+1)
		country := []string{"GB", "DE", "US", "AU", "FR"}[i%5]
		answer := acceptOrder(t, info, demoOrder(demoMerchantID, ids[i], "wh_szx", country))
		assert.Contains(t, answer, `"workflow_id":"order/m_demo/`+ids[i]+`"`)
	}

	deadline := time.Now().Add(time.Duration(90+orders) * time.Second)
	for _, id := range ids {
		order := waitDelivered(t, info, id, deadline)
		require.Len(t, order.Shipments, 1)
		assert.Equal(t, "delivered", order.Shipments[0].Status)
		require.NotNil(t, order.Customs, "the customs decision is recorded with the order")
		assert.NotEmpty(t, order.Customs.Regime)

		status, body := merchantGet(t, info, "/v1/orders/"+id+"/tracking")
		require.Equal(t, http.StatusOK, status, string(body))
		var tracking struct {
			Status string `json:"status"`
			Events []struct {
				Status string `json:"status"`
			} `json:"events"`
		}
		require.NoError(t, json.Unmarshal(body, &tracking))
		assert.Equal(t, "delivered", tracking.Status)
		assert.GreaterOrEqual(t, len(tracking.Events), 4, "the timeline holds every scan")
	}

	t.Run("a refusing carrier falls back to a poll-only channel", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "refuse", "duration_s": 600}`)
		acceptOrder(t, info, expressOrder("E2E-FALLBACK", "GB"))
		order := waitDelivered(t, info, "E2E-FALLBACK", time.Now().Add(2*time.Minute))
		require.Len(t, order.Shipments, 1)
		assert.NotEqual(t, "sbx_express", order.Shipments[0].Carrier, "the refusing carrier was skipped")
	})

	tc, err := client.Dial(client.Options{HostPort: info.TemporalHostPort, Logger: nopTemporalLogger{}})
	require.NoError(t, err)
	defer tc.Close()

	t.Run("landed-cost quote from checkout writes nothing", func(t *testing.T) {
		quote := `{"ship_to": {"country": "GB"}, "incoterm": "DDP", "service_level": "standard", "as_of": "2026-11-25",
		  "tax_ids": {"uk_vat": "GB123456789"},
		  "items": [{"sku": "TSHIRT-RED-M", "description": "Cotton T-shirt", "quantity": 2,
		    "unit_price": {"amount": "12.50", "currency": "GBP"}, "hs_code": "610910", "origin_country": "CN",
		    "weight_grams": 180, "dangerous_goods": "none"}]}`
		status, body := merchantDo(t, info, http.MethodPost, "/v1/landed-cost", quote)
		require.Equal(t, http.StatusOK, status, string(body))
		var got struct {
			Customs struct {
				Regime string `json:"regime"`
				Total  struct {
					Amount, Currency string
				} `json:"total"`
			} `json:"customs"`
			ShippingOptions []struct {
				Carrier string `json:"carrier"`
			} `json:"shipping_options"`
		}
		require.NoError(t, json.Unmarshal(body, &got))
		assert.Equal(t, "uk_low_value", got.Customs.Regime)
		assert.Equal(t, "5.00", got.Customs.Total.Amount, "GBP 25 of goods: 20 % VAT collected at checkout")
		assert.NotEmpty(t, got.ShippingOptions)
	})

	t.Run("a carrier outage makes the order stuck; ops.retry books it exactly once", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "outage", "duration_s": 600}`)
		acceptOrder(t, info, expressOrder("E2E-OUTAGE", "GB"))
		wfID := logistics.OrderWorkflowID(demoMerchantID, "E2E-OUTAGE")
		order := waitOrder(t, info, "E2E-OUTAGE", func(o deliveredOrder) bool { return o.Stuck }, "the outage exhausts the booking retries")
		assert.Contains(t, order.Reason, "booking:")
		requireListedAsStuck(t, ctx, tc, wfID)

		clearFaults(t, info)
		require.NoError(t, tc.SignalWorkflow(ctx, wfID, "", logistics.SignalOpsRetry, logistics.OpsAction{Actor: "ops@example.com"}))
		waitOrder(t, info, "E2E-OUTAGE", func(o deliveredOrder) bool { return !o.Stuck }, "ops.retry unsticks the order")
		order = waitDelivered(t, info, "E2E-OUTAGE", time.Now().Add(2*time.Minute))
		require.Len(t, order.Shipments, 1, "booked exactly once")
		assert.Equal(t, "sbx_express", order.Shipments[0].Carrier)
	})

	t.Run("a customs hold waits for documents, then the parcel is delivered", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "customs_hold", "duration_s": 600}`)
		acceptOrder(t, info, expressOrder("E2E-HOLD", "GB"))
		order := waitOrder(t, info, "E2E-HOLD", func(o deliveredOrder) bool { return o.ActionRequired }, "the hold asks for documents")
		assert.Contains(t, order.Reason, "customs hold on sbx_express")
		wfID := logistics.OrderWorkflowID(demoMerchantID, "E2E-HOLD")
		if dir := os.Getenv("CROSSDOCK_RECORD_HISTORY"); dir != "" {
			recordHistory(t, tc, wfID, filepath.Join(dir, "order_mid_flight_customs_hold.json"))
		}
		require.NoError(t, tc.SignalWorkflow(ctx, wfID, "", logistics.SignalCustomsDocuments,
			logistics.OpsAction{Actor: "merchant@example.com", Note: "invoice sent"}))
		clearFaults(t, info)
		order = waitDelivered(t, info, "E2E-HOLD", time.Now().Add(2*time.Minute))
		require.Len(t, order.Shipments, 1)
	})

	t.Run("a no-API courier gets a printed label, the end-of-day manifest and imported scans", func(t *testing.T) {
		setFault(t, info, `{"carrier": "sbx_express", "kind": "refuse", "duration_s": 600}`)
		o := demoOrder(demoMerchantID, "E2E-LOCAL", "wh_szx", "PH")
		o["data"].(map[string]any)["incoterm"] = "DAP" // the local courier does not collect duties
		acceptOrder(t, info, o)
		order := waitOrder(t, info, "E2E-LOCAL", func(o deliveredOrder) bool { return len(o.Shipments) == 1 && o.Shipments[0].TrackingNumber != "" }, "booked with the local courier")
		require.Equal(t, "sbx_local", order.Shipments[0].Carrier)
		tn := order.Shipments[0].TrackingNumber

		// No label API: Crossdock printed the label, served to the merchant.
		var label []byte
		require.Eventually(t, func() bool {
			var status int
			status, label = merchantGet(t, info, "/v1/tracking/"+tn+"/label")
			return status == http.StatusOK
		}, 30*time.Second, 100*time.Millisecond, "the printed label")
		assert.True(t, bytes.HasPrefix(label, []byte("%PDF-")))

		// No booking API: the parcel reached the courier on the manifest,
		// and the courier's own end-of-day scan file lists it.
		var scans [][]string
		require.Eventually(t, func() bool {
			resp, err := http.Get(info.SandboxURL + "/carriers/sbx_local/scans.csv")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			rows, err := csvpkg.NewReader(resp.Body).ReadAll()
			if err != nil {
				return false
			}
			scans = scans[:0]
			for _, r := range rows[1:] {
				if r[0] == tn {
					scans = append(scans, r)
				}
			}
			return len(scans) > 0 && scans[len(scans)-1][1] == "DLV"
		}, time.Minute, 200*time.Millisecond, "the courier delivers what the manifest handed over")
		assert.Equal(t, "MNF", scans[0][1], "the journey starts when the manifest arrives")

		// Ops import the courier's file (its columns: tracking_number, code,
		// description, occurred_at, city, country), naming the carrier.
		var csv strings.Builder
		cw := csvpkg.NewWriter(&csv)
		require.NoError(t, cw.Write([]string{"carrier", "tracking_number", "code", "occurred_at", "city", "country", "description"}))
		for _, r := range scans {
			require.NoError(t, cw.Write([]string{"sbx_local", r[0], r[1], r[3], r[4], r[5], r[2]}))
		}
		cw.Flush()
		// The shipment's workflow starts right after the booking is recorded;
		// until then the API answers 409 "retry once it has started".
		require.Eventually(t, func() bool {
			req, err := http.NewRequest(http.MethodPost, info.APIURL+"/v1/ops/tracking/import", strings.NewReader(csv.String()))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+info.OpsToken)
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("X-Actor", "ops@example.com")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			answerBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Logf("import answered %d %s", resp.StatusCode, answerBody)
			}
			return resp.StatusCode == http.StatusAccepted
		}, 30*time.Second, 200*time.Millisecond, "the import is accepted")

		waitDelivered(t, info, "E2E-LOCAL", time.Now().Add(time.Minute))
		status, tracking := merchantGet(t, info, "/v1/orders/E2E-LOCAL/tracking")
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, string(tracking), `"source":"import"`)
		assert.NotContains(t, string(tracking), "ops@example.com", "who imported is audit, not the merchant's timeline")
	})

	t.Run("a denied party waits for compliance review, then ships when ops clear it", func(t *testing.T) {
		o := demoOrder(demoMerchantID, "E2E-DENIED", "wh_szx", "GB")
		o["data"].(map[string]any)["ship_to"].(map[string]any)["name"] = "acme proliferation TRADING co."
		acceptOrder(t, info, o)
		order := waitOrder(t, info, "E2E-DENIED", func(o deliveredOrder) bool { return o.Stuck }, "the order waits for compliance review")
		assert.Contains(t, order.Reason, "compliance review: denied_party_match")
		require.NotNil(t, order.Customs)

		wfID := logistics.OrderWorkflowID(demoMerchantID, "E2E-DENIED")
		requireListedAsStuck(t, ctx, tc, wfID)

		require.NoError(t, tc.SignalWorkflow(ctx, wfID, "", logistics.SignalComplianceClear,
			logistics.OpsAction{Actor: "compliance@example.com", Note: "different company"}))
		order = waitOrder(t, info, "E2E-DENIED", func(o deliveredOrder) bool { return !o.Stuck }, "the review's answer unsticks the order")
		waitDelivered(t, info, "E2E-DENIED", time.Now().Add(2*time.Minute))
	})
	wfID := logistics.OrderWorkflowID(demoMerchantID, ids[0])
	desc, err := tc.DescribeWorkflowExecution(ctx, wfID, "")
	require.NoError(t, err)
	assert.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.WorkflowExecutionInfo.Status)
	fields := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
	for _, name := range []string{logistics.SearchMerchant, logistics.SearchStage, logistics.SearchLane, logistics.SearchCarrier} {
		assert.Contains(t, fields, name, "search attribute %s is set", name)
	}
	assert.Contains(t, string(fields[logistics.SearchStage].GetData()), "delivered")

	t.Run("the merchant's events are in the outbox, in order", func(t *testing.T) {
		st, err := store.Open(ctx, "", cfg.DataDir)
		require.NoError(t, err)
		defer st.Close()
		events, err := st.OrderEvents(ctx, demoMerchantID, ids[0])
		require.NoError(t, err)
		var stages []string
		statuses := 0
		for _, e := range events {
			switch e.Type {
			case "order.stage_changed":
				var d struct{ Stage string }
				require.NoError(t, json.Unmarshal(e.Payload, &d))
				stages = append(stages, d.Stage)
			case "shipment.status_changed":
				statuses++
			}
		}
		require.NotEmpty(t, stages)
		assert.Equal(t, []string{"received", "screening", "picking", "booking"}, stages[:4])
		assert.Equal(t, "delivered", stages[len(stages)-1])
		assert.GreaterOrEqual(t, statuses, 2, "at least in transit and delivered")
	})

	t.Run("the merchant's webhook endpoint gets the events, signed, each order in order", func(t *testing.T) {
		st, err := store.Open(ctx, "", cfg.DataDir)
		require.NoError(t, err)
		defer st.Close()
		for _, id := range ids {
			events, err := st.OrderEvents(ctx, demoMerchantID, id)
			require.NoError(t, err)
			var want []string
			for _, e := range events {
				want = append(want, e.ID)
			}
			require.Eventually(t, func() bool { return len(hooks.acked(id)) >= len(want) }, 30*time.Second, 100*time.Millisecond,
				"order %s: %d of %d events delivered", id, len(hooks.acked(id)), len(want))
			got := hooks.acked(id)
			assert.ElementsMatch(t, want, got, "order %s: every event once", id)
			// Each workflow's events (the order's, each shipment's) arrive in
			// the order it emitted them; across workflows appends may race.
			assert.Equal(t, byWorkflow(want), byWorkflow(got), "order %s: in order", id)
		}
		assert.Empty(t, hooks.problems(), "every request was signed with the endpoint's secret")
	})

	if dir := os.Getenv("CROSSDOCK_RECORD_HISTORY"); dir != "" {
		recordHistory(t, tc, wfID, filepath.Join(dir, "order_delivered.json"))
		recordHistory(t, tc, logistics.ShipmentWorkflowID(demoMerchantID, ids[0], 1), filepath.Join(dir, "shipment_delivered.json"))
		recordHistory(t, tc, logistics.OrderWorkflowID(demoMerchantID, "E2E-FALLBACK"), filepath.Join(dir, "order_fallback_polled.json"))
		recordHistory(t, tc, logistics.ShipmentWorkflowID(demoMerchantID, "E2E-FALLBACK", 1), filepath.Join(dir, "shipment_partner_handoff_polled.json"))
		recordHistory(t, tc, logistics.OrderWorkflowID(demoMerchantID, "E2E-DENIED"), filepath.Join(dir, "order_compliance_review_cleared.json"))
		recordHistory(t, tc, logistics.OrderWorkflowID(demoMerchantID, "E2E-LOCAL"), filepath.Join(dir, "order_manifest_printed_label.json"))
		recordHistory(t, tc, logistics.OrderWorkflowID(demoMerchantID, "E2E-OUTAGE"), filepath.Join(dir, "order_outage_retried.json"))
	}

	require.NoError(t, shutdown(), "dev stack stops cleanly")
}

// hookReceiver is a merchant's webhook endpoint on loopback (dev mode lets
// webhooks reach it): it checks each request's signature with the
// standard-webhooks library and keeps the event ids per order.
type hookReceiver struct {
	mu       sync.Mutex
	hook     *standardwebhooks.Webhook
	byOrder  map[string][]string
	badCalls []string
}

// subscribeReceiver starts a receiver and subscribes it to every event
// through the merchant API, as the README shows.
func subscribeReceiver(t *testing.T, info stackInfo) *hookReceiver {
	t.Helper()
	r := &hookReceiver{byOrder: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || r.hook == nil || r.hook.Verify(body, req.Header) != nil {
			r.badCalls = append(r.badCalls, req.Header.Get("webhook-id"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var event struct {
			ID   string `json:"id"`
			Data struct {
				OrderID string `json:"order_id"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &event) != nil || event.ID != req.Header.Get("webhook-id") {
			r.badCalls = append(r.badCalls, req.Header.Get("webhook-id"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.byOrder[event.Data.OrderID] = append(r.byOrder[event.Data.OrderID], event.ID)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	status, body := merchantDo(t, info, http.MethodPost, "/v1/webhook-endpoints",
		`{"url": "`+srv.URL+`/crossdock", "events": ["order.stage_changed", "shipment.status_changed", "order.action_required"]}`)
	require.Equal(t, http.StatusCreated, status, string(body))
	var created struct {
		Secret string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(body, &created))
	hook, err := standardwebhooks.NewWebhook(created.Secret)
	require.NoError(t, err)
	r.mu.Lock()
	r.hook = hook
	r.mu.Unlock()
	return r
}

// byWorkflow groups event ids ("<workflow id>/v<n>/<type>") by workflow,
// keeping their order.
func byWorkflow(ids []string) map[string][]string {
	out := map[string][]string{}
	for _, id := range ids {
		wf := id
		if i := strings.LastIndex(id, "/v"); i > 0 {
			wf = id[:i]
		}
		out[wf] = append(out[wf], id)
	}
	return out
}

func (r *hookReceiver) acked(orderID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.byOrder[orderID]...)
}

func (r *hookReceiver) problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.badCalls...)
}

// expressOrder is the demo order at the express service level: it goes to
// the fastest channel (sbx_express) where standard goes to the cheapest
// landed cost.
func expressOrder(id, country string) map[string]any {
	o := demoOrder(demoMerchantID, id, "wh_szx", country)
	o["data"].(map[string]any)["service_level"] = "express"
	return o
}

// acceptOrder sends an order.created webhook as the order service would,
// requires it accepted and returns the answer.
func acceptOrder(t *testing.T, info stackInfo, order map[string]any) string {
	t.Helper()
	body, err := json.Marshal(order)
	require.NoError(t, err)
	status, answer, err := sendSigned(t.Context(), info.APIURL+"/v1/webhooks/orders", info.OrderWebhookSecret, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status, answer)
	return answer
}

// waitOrder polls the merchant API until the order satisfies cond.
func waitOrder(t *testing.T, info stackInfo, id string, cond func(deliveredOrder) bool, msg string) deliveredOrder {
	t.Helper()
	var order deliveredOrder
	require.Eventually(t, func() bool {
		status, body := merchantGet(t, info, "/v1/orders/"+id)
		order = deliveredOrder{}
		return status == http.StatusOK && json.Unmarshal(body, &order) == nil && cond(order)
	}, time.Minute, 100*time.Millisecond, msg)
	return order
}

// setFault switches a sandbox fault on until the test (or clearFaults) ends it.
func setFault(t *testing.T, info stackInfo, fault string) {
	t.Helper()
	resp, err := http.Post(info.SandboxURL+"/admin/faults", "application/json", strings.NewReader(fault))
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
	t.Cleanup(func() { clearFaults(t, info) })
}

func clearFaults(t *testing.T, info stackInfo) {
	req, err := http.NewRequest(http.MethodDelete, info.SandboxURL+"/admin/faults", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
}

// requireListedAsStuck checks ops find the order with the Temporal query
// they would type in the UI.
func requireListedAsStuck(t *testing.T, ctx context.Context, tc client.Client, wfID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `CrossdockStuck = true AND CrossdockMerchant = "m_demo"`})
		if err != nil {
			return false
		}
		for _, e := range resp.Executions {
			if e.Execution.WorkflowId == wfID {
				return true
			}
		}
		return false
	}, 30*time.Second, 250*time.Millisecond, "ops find %s with CrossdockStuck = true", wfID)
}

// deliveredOrder is the part of GET /v1/orders/{id} the end-to-end test reads.
type deliveredOrder struct {
	Stage          string `json:"stage"`
	Stuck          bool   `json:"stuck"`
	ActionRequired bool   `json:"action_required"`
	Reason         string `json:"stuck_reason"`
	Shipments      []struct {
		Carrier        string `json:"carrier"`
		Status         string `json:"status"`
		TrackingNumber string `json:"tracking_number"`
	} `json:"shipments"`
	Customs *struct {
		Regime string `json:"regime"`
	} `json:"customs"`
}

// waitDelivered polls the merchant API until the order is delivered; it
// fails at once if the order is stuck, and at the deadline.
func waitDelivered(t *testing.T, info stackInfo, id string, deadline time.Time) deliveredOrder {
	t.Helper()
	for {
		var order deliveredOrder
		status, body := merchantGet(t, info, "/v1/orders/"+id)
		if status == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &order))
			if order.Stage == string(logistics.StageDelivered) {
				return order
			}
			require.False(t, order.Stuck, "order %s stuck: %s", id, order.Reason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s did not reach delivered in time; last answer %d %s", id, status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func merchantGet(t *testing.T, info stackInfo, path string) (int, []byte) {
	t.Helper()
	return merchantDo(t, info, http.MethodGet, path, "")
}

// merchantDo calls the merchant API as a well-behaved client would,
// waiting out 429s for the Retry-After they give (a bounded number of times).
func merchantDo(t *testing.T, info stackInfo, method, path, body string) (int, []byte) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, info.APIURL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+info.DemoAPIKey)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		if resp.StatusCode != http.StatusTooManyRequests || attempt == 20 {
			return resp.StatusCode, body
		}
		wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(t, err, "a 429 carries Retry-After in seconds")
		time.Sleep(time.Duration(wait) * time.Second)
	}
}

func assertNoOrder(t *testing.T, info stackInfo, id string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // would-be writes have had time to land
	status, body := merchantGet(t, info, "/v1/orders/"+id)
	assert.Equal(t, http.StatusNotFound, status, string(body))
}

// recordHistory saves a workflow's history for the replay tests.
func recordHistory(t *testing.T, tc client.Client, workflowID, path string) {
	t.Helper()
	it := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Logf("recorded %d events of %s to %s", len(h.Events), workflowID, path)
}

// nopTemporalLogger keeps the SDK quiet in tests.
type nopTemporalLogger struct{}

func (nopTemporalLogger) Debug(string, ...any) {}
func (nopTemporalLogger) Info(string, ...any)  {}
func (nopTemporalLogger) Warn(string, ...any)  {}
func (nopTemporalLogger) Error(string, ...any) {}
