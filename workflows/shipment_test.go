package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/workflows"
)

// TestShipmentContinuesAsNewWithoutLosingEvents: a burst of scans near the
// history limit is drained and stored before the run continues as new, and
// the new run starts from the status those scans reached.
func TestShipmentContinuesAsNewWithoutLosingEvents(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
	const scans = 12
	h.at(time.Hour, func() {
		h.env.SetCurrentHistoryLength(5000) // past the limit: the run must continue as new after this burst
		for i := range scans {
			status := logistics.StatusInTransit
			if i == 0 {
				status = logistics.StatusPickedUp
			}
			e := ev(status, logistics.PhaseLineHaul, i+1, "express-1")
			e.RawCode = fmt.Sprintf("SCAN-%02d", i)
			h.env.SignalWorkflow(logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: e.RawCode, Events: []logistics.TrackingEvent{e}})
		}
	})
	sh := logistics.Shipment{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, Carrier: "express",
		TrackingNumber: "express-1", Status: logistics.StatusInfoReceived, Phase: logistics.PhaseOrigin,
		Origin: "CN", Destination: "GB"}
	h.env.ExecuteWorkflow(logistics.ShipmentWorkflowType, workflows.ShipmentInput{ParentWorkflowID: "order/m_demo/TT-1",
		Shipment: sh, Channel: logistics.Channel{Carrier: "express", Capabilities: logistics.Capabilities{Tracking: logistics.TrackingPush}},
		PollInterval: time.Hour, Version: 1})

	require.True(t, h.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.env.GetWorkflowError(), &can, "the run continued as new")
	assert.Len(t, h.store.events, scans, "every scan of the burst was stored before continuing")
	var next workflows.ShipmentInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, logistics.StatusInTransit, next.Shipment.Status)
	assert.Equal(t, logistics.PhaseLineHaul, next.Shipment.Phase)
	assert.Greater(t, next.Version, int64(1), "the projection version carries over")
	assert.Equal(t, t0.Add(scans*time.Hour), next.LastEventAt)
}
