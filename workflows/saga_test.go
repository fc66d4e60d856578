package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// dispatched runs an order to the point where its parcel is booked and
// picked up (stage export), then lets the test act.
func dispatched(t *testing.T, c *fakeCarrier) *harness {
	h := newHarness(t, c)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.signalShipment(time.Hour, ev(logistics.StatusInfoReceived, logistics.PhaseOrigin, 0, "express-1"))
	return h
}

func TestCancelWhilePickingReleasesThePick(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	h.run()
	assert.Equal(t, logistics.StageCancelled, h.store.lastOrder().Stage)
	assert.Equal(t, []string{"order/m_demo/TT-1/pick/1"}, h.warehouse.released)
}

func TestCancelAfterLabelVoidsIt(t *testing.T) {
	c := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h := dispatched(t, c)
	h.signal(2*time.Hour, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	h.run()
	assert.Equal(t, []string{"void"}, c.callLog())
	assert.Equal(t, logistics.StageCancelled, h.store.lastOrder().Stage)
	last := h.store.shipments[len(h.store.shipments)-1].Shipment
	assert.Equal(t, logistics.StatusCancelled, last.Status)
}

func TestCancelPastTheVoidWindowInterceptsAndTheOrderEndsReturned(t *testing.T) {
	c := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush,
		voidErr: fmt.Errorf("%w: already collected", carriers.ErrRefused)}
	h := dispatched(t, c)
	h.signal(2*time.Hour, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	h.signalShipment(5*time.Hour, ev(logistics.StatusReturnToSender, logistics.PhaseReturn, 5, "express-1"))
	h.signalShipment(9*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 9, "express-1"))
	h.run()
	assert.Equal(t, []string{"void", "intercept"}, c.callLog())
	assert.Equal(t, logistics.StageReturned, h.store.lastOrder().Stage)
}

func TestCancelNobodyCanStopIsLeftToOps(t *testing.T) {
	c := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush,
		voidErr: fmt.Errorf("%w: void window closed", carriers.ErrRefused), interceptErr: carriers.ErrUnsupported}
	h := dispatched(t, c)
	h.signal(2*time.Hour, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	var during bool
	var reason string
	h.at(3*time.Hour, func() { o := h.store.lastOrder(); during, reason = o.ActionRequired, o.StuckReason })
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()
	assert.True(t, during)
	assert.Contains(t, reason, "cancellation after dispatch needs ops (buyer)")
	assert.Contains(t, reason, "void window closed")
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage, "the parcel still travels; ops settle with the buyer")
}

func TestAddressChangeInTransit(t *testing.T) {
	t.Run("same country: redirected through the carrier", func(t *testing.T) {
		c := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
		h := dispatched(t, c)
		h.signal(2*time.Hour, logistics.SignalAddressUpdated, logistics.AddressUpdated{WebhookID: "a1",
			ShipTo: logistics.Address{Name: "Ada", Line1: "1 New Road", City: "Leeds", Country: "GB"}})
		for i, e := range journey("express-1") {
			h.signalShipment(time.Duration(i+3)*time.Hour, e)
		}
		h.run()
		assert.Equal(t, []string{"redirect:Leeds"}, c.callLog())
		last := h.store.lastOrder()
		assert.Equal(t, "Leeds", last.Order.ShipTo.City)
		assert.False(t, last.ActionRequired)
	})
	t.Run("another country: ops", func(t *testing.T) {
		c := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
		h := dispatched(t, c)
		h.signal(2*time.Hour, logistics.SignalAddressUpdated, logistics.AddressUpdated{WebhookID: "a1",
			ShipTo: logistics.Address{Name: "Ada", Line1: "1 Neue Strasse", City: "Berlin", Country: "DE"}})
		for i, e := range journey("express-1") {
			h.signalShipment(time.Duration(i+3)*time.Hour, e)
		}
		h.run()
		assert.Empty(t, c.callLog())
		last := h.store.lastOrder()
		assert.True(t, last.ActionRequired)
		assert.Contains(t, last.StuckReason, "address change to DE after dispatch")
		assert.Equal(t, "London", last.Order.ShipTo.City)
	})
}
