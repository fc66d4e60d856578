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

// pushShipment is the input of shipment express-1 of order TT-1 on a push
// channel, at status and phase, with projection version.
func pushShipment(status logistics.Status, phase logistics.Phase, version int64) workflows.ShipmentInput {
	return workflows.ShipmentInput{ParentWorkflowID: "order/m_demo/TT-1",
		Shipment: logistics.Shipment{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, Carrier: "express",
			TrackingNumber: "express-1", Status: status, Phase: phase, Origin: "CN", Destination: "GB"},
		Channel:      logistics.Channel{Carrier: "express", Capabilities: logistics.Capabilities{Tracking: logistics.TrackingPush}},
		PollInterval: time.Hour, Version: version}
}

// published is the status of each shipment projection written, in order.
func (h *harness) published() []logistics.Status {
	var out []logistics.Status
	for _, rec := range h.store.shipments {
		out = append(out, rec.Shipment.Status)
	}
	return out
}

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
	h.env.ExecuteWorkflow(logistics.ShipmentWorkflowType, pushShipment(logistics.StatusInfoReceived, logistics.PhaseOrigin, 1))

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

// TestShipmentStoresABurstWithOneWrite: scans that arrive together are
// stored by one activity, and each still moves the status as it would on
// its own.
func TestShipmentStoresABurstWithOneWrite(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
	const scans = 10
	h.at(time.Hour, func() {
		for i := range scans {
			status := logistics.StatusInTransit
			switch i {
			case 0:
				status = logistics.StatusPickedUp
			case scans - 1:
				status = logistics.StatusDelivered
			}
			e := ev(status, logistics.PhaseLineHaul, i+1, "express-1")
			e.RawCode = fmt.Sprintf("SCAN-%02d", i)
			h.env.SignalWorkflow(logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: e.RawCode, Events: []logistics.TrackingEvent{e}})
		}
	})
	h.env.ExecuteWorkflow(logistics.ShipmentWorkflowType, pushShipment(logistics.StatusInfoReceived, logistics.PhaseOrigin, 1))

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	assert.Len(t, h.store.events, scans, "every scan stored")
	assert.Less(t, h.store.trackingWrites, scans, "a burst is stored in fewer writes than scans")
	assert.Equal(t, []logistics.Status{logistics.StatusPickedUp, logistics.StatusInTransit, logistics.StatusDelivered}, h.published(),
		"each status change is still published")
}

// TestShipmentTrustsScansTheAPIStored: updates the API stored when it
// accepted them (Stored) are applied but not written again; others are.
func TestShipmentTrustsScansTheAPIStored(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
	picked := ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1")
	moving := ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 2, "express-1")
	manual := ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 3, "express-1")
	manual.RawCode = "MANUAL"
	done := ev(logistics.StatusDelivered, logistics.PhaseLastMile, 4, "express-1")
	h.at(time.Hour, func() {
		h.env.SignalWorkflow(logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: "a", Stored: true,
			Events: []logistics.TrackingEvent{picked, moving}})
	})
	h.at(2*time.Hour, func() {
		h.env.SignalWorkflow(logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: "ops", Events: []logistics.TrackingEvent{manual}})
	})
	h.at(3*time.Hour, func() {
		h.env.SignalWorkflow(logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: "b", Stored: true,
			Events: []logistics.TrackingEvent{done}})
	})
	h.env.ExecuteWorkflow(logistics.ShipmentWorkflowType, pushShipment(logistics.StatusInfoReceived, logistics.PhaseOrigin, 1))

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.Len(t, h.store.events, 1, "only the scan the API did not store is written")
	assert.True(t, h.store.events[manual.DedupKey()])
	assert.Equal(t, []logistics.Status{logistics.StatusInTransit, logistics.StatusDelivered}, h.published(),
		"stored scans still move the status (one change per update)")
}

// TestShipmentAppliesEachPartOfAHandOff: the relay's one signal carrying
// several submissions (Parts) publishes each submission's status change,
// as separate signals would have.
func TestShipmentAppliesEachPartOfAHandOff(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
	picked := ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1")
	moving := ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 2, "express-1")
	moving2 := ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 3, "express-1")
	done := ev(logistics.StatusDelivered, logistics.PhaseLastMile, 4, "express-1")
	h.at(time.Hour, func() {
		h.env.SignalWorkflow(logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: "a", Stored: true,
			Events: []logistics.TrackingEvent{picked, moving, moving2, done},
			Parts:  []logistics.TrackingPart{{WebhookID: "a", Events: 1}, {WebhookID: "b", Events: 2}, {WebhookID: "c", Events: 1}}})
	})
	h.env.ExecuteWorkflow(logistics.ShipmentWorkflowType, pushShipment(logistics.StatusInfoReceived, logistics.PhaseOrigin, 1))

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	assert.Empty(t, h.store.events, "the API stored them")
	assert.Equal(t, []logistics.Status{logistics.StatusPickedUp, logistics.StatusInTransit, logistics.StatusDelivered}, h.published(),
		"one change per part, not one for the whole signal")
}

// TestShipmentHandlesScansHandedOver: scans the previous run handed over
// at continue-as-new are stored and applied first.
func TestShipmentHandlesScansHandedOver(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
	delivered := ev(logistics.StatusDelivered, logistics.PhaseLastMile, 5, "express-1")
	in := pushShipment(logistics.StatusInTransit, logistics.PhaseLineHaul, 3)
	in.Pending = []logistics.TrackingUpdate{{WebhookID: "w1", Events: []logistics.TrackingEvent{delivered}}}
	h.env.ExecuteWorkflow(logistics.ShipmentWorkflowType, in)

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var res workflows.ShipmentResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	assert.Equal(t, logistics.StatusDelivered, res.Status)
	assert.Len(t, h.store.events, 1)
}
