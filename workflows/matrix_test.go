package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// TestEverySignalInEveryStage sends each signal the order workflow accepts
// at each point of an order's life and requires the order to end in a
// terminal stage without the workflow failing: no signal may wedge or
// break an order, whenever it arrives.
func TestEverySignalInEveryStage(t *testing.T) {
	ops := logistics.OpsAction{Actor: "ops@example.com", Note: "matrix"}
	signals := []struct {
		name string
		arg  any
	}{
		{logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "dup", Order: demoOrder()}},
		{logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"}},
		{logistics.SignalAddressUpdated, logistics.AddressUpdated{WebhookID: "a1",
			ShipTo: logistics.Address{Name: "Ada", Line1: "1 New Road", City: "Leeds", Country: "GB"}}},
		{logistics.SignalWarehouseEvent, func() logistics.WarehouseEvent { e := packed(); e.ID = "late"; return e }()},
		{logistics.SignalOpsRetry, ops},
		{logistics.SignalOpsSkip, ops},
		{logistics.SignalOpsCancel, ops},
		{logistics.SignalOpsSwitchCarrier, logistics.OpsAction{Actor: "ops", Carrier: "express"}},
		{logistics.SignalComplianceClear, ops},
		{logistics.SignalComplianceConfirm, ops},
		{logistics.SignalCustomsDocuments, ops},
	}
	// Each point: when the signal arrives, and the script of the order around it.
	points := []struct {
		name string
		at   time.Duration
	}{
		{"before the create", 0},
		{"while picking", 30 * time.Minute},
		{"in transit", 3 * time.Hour},
	}
	for _, p := range points {
		for _, sig := range signals {
			t.Run(p.name+"/"+sig.name, func(t *testing.T) {
				h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
				h.signal(p.at, sig.name, sig.arg)
				h.signal(time.Second, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
				h.signal(time.Hour, logistics.SignalWarehouseEvent, packed())
				for i, e := range journey("express-1") {
					at := time.Duration(2*i+2) * time.Hour
					h.at(at, func() {
						// The shipment may have ended (a voided label): a scan
						// for it then goes nowhere, as a late carrier push would.
						_ = h.env.SignalWorkflowByID(logistics.ShipmentWorkflowID("m_demo", "TT-1", 1),
							logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: e.RawCode, Events: []logistics.TrackingEvent{e}})
					})
				}
				// Whatever is still waiting for ops by then is cancelled by ops.
				h.signal(100*time.Hour, logistics.SignalOpsCancel, ops)
				h.env.ExecuteWorkflow(logistics.OrderWorkflowType, logistics.OrderWorkflowInput{MerchantID: "m_demo", OrderID: "TT-1"})
				require.True(t, h.env.IsWorkflowCompleted())
				require.NoError(t, h.env.GetWorkflowError())
				assert.True(t, h.store.lastOrder().Stage.Terminal(), "ended %s", h.store.lastOrder().Stage)
			})
		}
	}
}
