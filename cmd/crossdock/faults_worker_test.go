package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/logistics"
)

// startToCloseOfBooking is workflows' carrierOptions.StartToCloseTimeout:
// what a killed worker's booking would wait without heartbeats.
const startToCloseOfBooking = time.Minute

// TestWorkerKilled SIGKILLs the `crossdock worker` process in the middle of
// a booking (after the carrier booked, before the answer reached the
// worker), during a customs hold and in the middle of a tracking poll, and
// starts a new one each time. Every order must be delivered, each carrier
// booking made exactly once, and the interrupted activity retried within
// its heartbeat timeout rather than its start-to-close timeout.
func TestWorkerKilled(t *testing.T) {
	requireSoak(t)
	s := newFaultStack(t, faultStackOptions{Env: map[string]string{
		"CROSSDOCK_CUSTOMS_HOLD_REMINDER": "3s", "CROSSDOCK_CUSTOMS_HOLD_ESCALATION": "10m"}})
	ctx := t.Context()

	// awaitHeartbeatRetry waits for the activity interrupted by the kill
	// to be tried again, and returns how long after the kill that was and
	// which timeout ended the dead attempt.
	awaitHeartbeatRetry := func(workflowID, activityType string, killed time.Time, retried func() bool) (time.Duration, enumspb.TimeoutType) {
		var timeout enumspb.TimeoutType
		require.Eventually(t, func() bool {
			if attempt, tt, ok := s.pendingActivity(ctx, workflowID, activityType); ok && attempt >= 2 && tt != enumspb.TIMEOUT_TYPE_UNSPECIFIED {
				timeout = tt
			}
			return timeout != enumspb.TIMEOUT_TYPE_UNSPECIFIED && retried()
		}, 2*startToCloseOfBooking, 50*time.Millisecond, "%s of %s is retried after the kill", activityType, workflowID)
		return time.Since(killed), timeout
	}

	t.Run("during booking", func(t *testing.T) {
		const id = "REL-BOOK"
		held, release := s.spy.arm(func(r *http.Request, orderID string, status int) bool {
			return orderID == id && status == http.StatusCreated
		})
		defer release()
		acceptOrder(t, s.info, expressOrder(id, "GB"))
		select {
		case <-held:
		case <-time.After(2 * time.Minute):
			t.Fatal("the booking never reached the carrier")
		}
		// The carrier has booked; its answer has not reached the worker.
		s.worker.kill()
		killed := time.Now()
		release()
		s.startWorker()

		took, timeout := awaitHeartbeatRetry(logistics.OrderWorkflowID(demoMerchantID, id), activities.NameBookShipment, killed,
			func() bool { requests, _ := s.spy.counts(id); return requests >= 2 })
		t.Logf("booking retried %s after the kill (%s timeout)", took.Round(time.Millisecond), timeout)
		assert.Equal(t, enumspb.TIMEOUT_TYPE_HEARTBEAT, timeout, "the dead attempt ended by its heartbeat timeout")
		assert.Less(t, took, startToCloseOfBooking, "recovered before the start-to-close timeout")

		order := waitDelivered(t, s.info, id, time.Now().Add(3*time.Minute))
		require.Len(t, order.Shipments, 1)
		requests, created := s.spy.counts(id)
		assert.Equal(t, 1, created, "the carrier booked once (%d requests, the retry under the same idempotency key)", requests)
	})

	t.Run("during a customs hold", func(t *testing.T) {
		const id = "REL-HOLD"
		setFault(t, s.info, `{"carrier": "sbx_express", "kind": "customs_hold", "duration_s": 600}`)
		acceptOrder(t, s.info, expressOrder(id, "GB"))
		order := waitOrder(t, s.info, id, func(o deliveredOrder) bool { return o.ActionRequired }, "the hold asks for documents")
		assert.Contains(t, order.Reason, "customs hold")
		s.worker.kill()
		// The hold's reminder timer fires while no worker runs.
		time.Sleep(4 * time.Second)
		s.startWorker()

		wfID := logistics.OrderWorkflowID(demoMerchantID, id)
		require.NoError(t, s.tc.SignalWorkflow(ctx, wfID, "", logistics.SignalCustomsDocuments,
			logistics.OpsAction{Actor: "merchant@example.com", Note: "invoice sent"}))
		clearFaults(t, s.info)
		order = waitDelivered(t, s.info, id, time.Now().Add(3*time.Minute))
		require.Len(t, order.Shipments, 1)
		_, created := s.spy.counts(id)
		assert.Equal(t, 1, created, "booked once")
	})

	t.Run("during tracking", func(t *testing.T) {
		// Standard to GB: the poll-only consolidator and its postal partner.
		const id = "REL-TRACK"
		acceptOrder(t, s.info, demoOrder(demoMerchantID, id, "wh_szx", "GB"))
		order := waitOrder(t, s.info, id, func(o deliveredOrder) bool {
			return len(o.Shipments) == 1 && o.Shipments[0].TrackingNumber != ""
		}, "booked")
		wfID := logistics.ShipmentWorkflowID(demoMerchantID, id, 1)
		held, release := s.spy.arm(func(r *http.Request, _ string, status int) bool {
			return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/tracking/") && status == http.StatusOK
		})
		defer release()
		select {
		case <-held:
		case <-time.After(2 * time.Minute):
			t.Fatalf("no tracking poll for %s (%s)", id, order.Shipments[0].TrackingNumber)
		}
		s.worker.kill()
		killed := time.Now()
		release()
		s.startWorker()
		took, timeout := awaitHeartbeatRetry(wfID, activities.NamePollTracking, killed, func() bool { return true })
		t.Logf("tracking poll retried %s after the kill (%s timeout)", took.Round(time.Millisecond), timeout)
		assert.Equal(t, enumspb.TIMEOUT_TYPE_HEARTBEAT, timeout, "the dead attempt ended by its heartbeat timeout")
		assert.Less(t, took, 30*time.Second, "recovered before the poll's start-to-close timeout")

		order = waitDelivered(t, s.info, id, time.Now().Add(3*time.Minute))
		require.Len(t, order.Shipments, 1)
		_, created := s.spy.counts(id)
		assert.Equal(t, 1, created, "booked once")
	})

	// Every order the test sent, delivered and booked once, seen together.
	for _, id := range []string{"REL-BOOK", "REL-HOLD", "REL-TRACK"} {
		status, body := merchantGet(t, s.info, "/v1/orders/"+id)
		require.Equal(t, http.StatusOK, status, string(body))
		assert.Contains(t, string(body), `"stage":"delivered"`, id)
		_, created := s.spy.counts(id)
		assert.Equal(t, 1, created, "%s booked once", id)
	}
}
