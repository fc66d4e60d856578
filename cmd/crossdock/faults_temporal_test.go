package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// TestTemporalRestarted SIGKILLs the Temporal dev server while orders are
// in flight and starts it again on its file database (as `crossdock dev`
// keeps it in .crossdock/temporal.db). The worker and the API reconnect by
// themselves; running orders resume and are delivered, and a timer set
// before the restart (a customs hold's escalation) still fires after it.
func TestTemporalRestarted(t *testing.T) {
	requireSoak(t)
	const escalation = 30 * time.Second
	s := newFaultStack(t, faultStackOptions{Env: map[string]string{
		"CROSSDOCK_CUSTOMS_HOLD_REMINDER": "5s", "CROSSDOCK_CUSTOMS_HOLD_ESCALATION": escalation.String()}})
	ctx := t.Context()

	// One order held by customs (its escalation timer runs), three in
	// flight on the poll-only consolidator (poll timers).
	setFault(t, s.info, `{"carrier": "sbx_express", "kind": "customs_hold", "duration_s": 600}`)
	const held = "TMP-HOLD"
	acceptOrder(t, s.info, expressOrder(held, "GB"))
	order := waitOrder(t, s.info, held, func(o deliveredOrder) bool { return o.ActionRequired }, "the hold asks for documents")
	require.False(t, order.Stuck, "not escalated yet")
	heldAt := time.Now()
	flying := []string{"TMP-1", "TMP-2", "TMP-3"}
	for _, id := range flying {
		acceptOrder(t, s.info, demoOrder(demoMerchantID, id, "wh_szx", "GB"))
	}
	waitOrder(t, s.info, flying[0], func(o deliveredOrder) bool { return len(o.Shipments) == 1 }, "the first is booked")

	s.temporal.restart(2 * time.Second)
	restarted := time.Now()
	require.Less(t, restarted.Sub(heldAt), escalation/2, "the restart is over well before the escalation timer is due")
	t.Logf("temporal restarted %s after the hold was seen", restarted.Sub(heldAt).Round(time.Millisecond))
	status, body := merchantGet(t, s.info, "/v1/orders/"+held)
	require.Equal(t, http.StatusOK, status, string(body))
	require.NotContains(t, string(body), `"stuck":true`, "not escalated before the restart")

	// The escalation timer, started before the restart, fires after it.
	order = waitOrder(t, s.info, held, func(o deliveredOrder) bool { return o.Stuck }, "the hold escalates on time")
	assert.Contains(t, order.Reason, "unresolved for "+escalation.String())
	t.Logf("escalated %s after the hold was seen", time.Since(heldAt).Round(time.Millisecond))

	for _, id := range flying {
		order := waitDelivered(t, s.info, id, time.Now().Add(3*time.Minute))
		require.Len(t, order.Shipments, 1)
		_, created := s.spy.counts(id)
		assert.Equal(t, 1, created, "%s booked once", id)
	}

	// Ops acknowledge the escalation once documents are with the carrier.
	wfID := logistics.OrderWorkflowID(demoMerchantID, held)
	require.NoError(t, s.tc.SignalWorkflow(ctx, wfID, "", logistics.SignalCustomsDocuments,
		logistics.OpsAction{Actor: "merchant@example.com", Note: "invoice sent"}))
	clearFaults(t, s.info)
	require.NoError(t, s.tc.SignalWorkflow(ctx, wfID, "", logistics.SignalOpsRetry, logistics.OpsAction{Actor: "ops@example.com"}))
	waitOrder(t, s.info, held, func(o deliveredOrder) bool { return !o.Stuck }, "ops.retry acknowledges the escalation")
	waitDelivered(t, s.info, held, time.Now().Add(3*time.Minute))
	_, created := s.spy.counts(held)
	assert.Equal(t, 1, created, "booked once")
}
