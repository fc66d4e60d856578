package api

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// queueHandoffs accepts one submission per tracking number given, each
// with n events, straight into the fake store.
func queueHandoffs(t *testing.T, st *fakeStore, n int, numbers ...string) {
	t.Helper()
	for i, tn := range numbers {
		ref := st.refs[tn]
		var evs []logistics.TrackingEvent
		for j := range n {
			evs = append(evs, scan(tn, fmt.Sprintf("C%d", j), fixedNow.Add(time.Duration(j)*time.Minute)))
		}
		_, inserted, err := st.AcceptTracking(t.Context(), store.TrackingAcceptance{
			Record:    store.WebhookRecord{Source: "carrier:sbx_express", ID: fmt.Sprintf("wh_%s_%d", tn, i), StatusCode: 202},
			Shipments: []store.AcceptedShipment{{Ref: ref, TrackingNumber: tn, Events: evs}}})
		require.NoError(t, err)
		require.True(t, inserted)
	}
}

func newRelayFakes() (*fakeStore, *fakeTemporal) {
	st := newFakeStore()
	st.refs["SBX1"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, WorkflowID: "shipment/m_demo/TT-1/1",
		Carrier: "sbx_express", Status: logistics.StatusInTransit}
	st.refs["SBX2"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-2", Number: 1, WorkflowID: "shipment/m_demo/TT-2/1",
		Carrier: "sbx_express", Status: logistics.StatusInTransit}
	return st, &fakeTemporal{}
}

func TestRelay(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	t.Run("one signal per workflow, each submission its own part in the order accepted", func(t *testing.T) {
		st, tc := newRelayFakes()
		queueHandoffs(t, st, 2, "SBX1", "SBX2", "SBX1")
		r := NewRelay(st, tc, RelayOptions{Concurrency: 1, Logger: quiet})
		n, err := r.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		calls := tc.recorded()
		require.Len(t, calls, 2)
		for _, c := range calls {
			assert.Equal(t, logistics.SignalTrackingEvent, c.Signal)
			assert.True(t, c.Arg.(logistics.TrackingUpdate).Stored, "the API stored them")
		}
		assert.Equal(t, "shipment/m_demo/TT-1/1", calls[0].WorkflowID)
		merged := calls[0].Arg.(logistics.TrackingUpdate)
		assert.Equal(t, []logistics.TrackingPart{{WebhookID: "wh_SBX1_0", Events: 2}, {WebhookID: "wh_SBX1_2", Events: 2}}, merged.Parts)
		assert.Len(t, merged.Events, 4)
		parts := merged.Split()
		require.Len(t, parts, 2)
		assert.Equal(t, "wh_SBX1_2", parts[1].WebhookID)
		assert.True(t, parts[1].Stored)

		assert.Equal(t, "shipment/m_demo/TT-2/1", calls[1].WorkflowID)
		single := calls[1].Arg.(logistics.TrackingUpdate)
		assert.Equal(t, "wh_SBX2_1", single.WebhookID)
		assert.Empty(t, single.Parts, "a single submission goes as it was accepted")
		assert.Len(t, single.Events, 2)

		assert.Zero(t, st.pendingHandoffs())
		assert.Equal(t, 3.0, testutil.ToFloat64(r.outcomes.WithLabelValues("delivered")))
		assert.Equal(t, 6.0, testutil.ToFloat64(r.events))
	})
	t.Run("a signal carries at most relayMaxSignalEvents events unless one hand-off has more", func(t *testing.T) {
		st, tc := newRelayFakes()
		queueHandoffs(t, st, relayMaxSignalEvents/2, "SBX1", "SBX1", "SBX1")
		queueHandoffs(t, st, relayMaxSignalEvents+1, "SBX2")
		r := NewRelay(st, tc, RelayOptions{Concurrency: 1, Logger: quiet})
		_, err := r.RunOnce(t.Context())
		require.NoError(t, err)
		var sizes []int
		for _, c := range tc.recorded() {
			sizes = append(sizes, len(c.Arg.(logistics.TrackingUpdate).Events))
		}
		assert.Equal(t, []int{relayMaxSignalEvents, relayMaxSignalEvents / 2, relayMaxSignalEvents + 1}, sizes)
		assert.Zero(t, st.pendingHandoffs())
	})
	t.Run("a failure postpones that hand-off and the workflow's later ones only", func(t *testing.T) {
		st, tc := newRelayFakes()
		queueHandoffs(t, st, relayMaxSignalEvents, "SBX1", "SBX1")
		tc.failAfter = 1
		r := NewRelay(st, tc, RelayOptions{Concurrency: 1, Logger: quiet})
		_, err := r.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Len(t, tc.recorded(), 1)
		assert.Equal(t, 1, st.pendingHandoffs(), "the first is delivered, the second (its own signal: too big to share) waits")
	})
	t.Run("a finished shipment's hand-off is dropped, a not-yet-running one kept", func(t *testing.T) {
		st, tc := newRelayFakes()
		queueHandoffs(t, st, 1, "SBX1", "SBX2")
		ref := st.refs["SBX1"]
		ref.Status = logistics.StatusDelivered
		st.refs["SBX1"] = ref
		tc.setErr(serviceerror.NewNotFound("workflow not found"))
		now := fixedNow
		r := NewRelay(st, tc, RelayOptions{Logger: quiet, Now: func() time.Time { return now }})
		_, err := r.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, st.pendingHandoffs(), "SBX2's workflow may still start")
		assert.Equal(t, 1.0, testutil.ToFloat64(r.outcomes.WithLabelValues("dropped")))
		assert.Equal(t, 1.0, testutil.ToFloat64(r.outcomes.WithLabelValues("retried")))

		// Backoff doubles per attempt and is capped.
		for attempt := 1; attempt <= 3; attempt++ {
			n, err := r.RunOnce(t.Context())
			require.NoError(t, err)
			assert.Zero(t, n, "not due yet after attempt %d", attempt)
			now = now.Add(relayBackoff(attempt))
			n, err = r.RunOnce(t.Context())
			require.NoError(t, err)
			assert.Equal(t, 1, n)
		}
		assert.Equal(t, 1, st.pendingHandoffs())
		tc.setErr(nil)
		now = now.Add(relayMaxBackoff)
		_, err = r.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, st.pendingHandoffs())
		require.Len(t, tc.recorded(), 1)
		assert.Equal(t, "shipment/m_demo/TT-2/1", tc.recorded()[0].WorkflowID)
	})
	t.Run("backoff", func(t *testing.T) {
		assert.Equal(t, time.Second, relayBackoff(1))
		assert.Equal(t, 4*time.Second, relayBackoff(3))
		assert.Equal(t, relayMaxBackoff, relayBackoff(40))
	})
	t.Run("Run delivers when woken and stops with its context", func(t *testing.T) {
		st, tc := newRelayFakes()
		r := NewRelay(st, tc, RelayOptions{Poll: time.Hour, Logger: quiet})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		queueHandoffs(t, st, 1, "SBX1")
		r.Notify()
		r.Notify() // never blocks
		require.Eventually(t, func() bool { return len(tc.recorded()) == 1 }, 5*time.Second, 5*time.Millisecond)
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop with its context")
		}
	})
	t.Run("a pass that cannot reach the database is retried", func(t *testing.T) {
		st, tc := newRelayFakes()
		queueHandoffs(t, st, 1, "SBX1")
		st.err = errDatabaseDown
		r := NewRelay(st, tc, RelayOptions{Logger: quiet})
		_, err := r.RunOnce(t.Context())
		require.ErrorIs(t, err, errDatabaseDown)
		st.mu.Lock()
		st.err = nil
		st.mu.Unlock()
		_, err = r.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Len(t, tc.recorded(), 1)
	})
}
