package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
	"github.com/crossdock/crossdock/workflows"
)

func newWatchedHarness(t *testing.T, sla activities.SLA) *harness {
	t.Helper()
	env := newEnv()
	h := &harness{t: t, env: env, store: &fakeStore{}, warehouse: &fakeWarehouse{}}
	workflows.Register(env, &activities.Activities{Store: h.store,
		Carriers:   carriers.NewRegistry(&fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}),
		Warehouses: warehouses.NewRegistry(h.warehouse), Customs: fakeCustoms{},
		Settings: activities.Settings{PickTimeout: 6 * time.Hour, PollInterval: time.Hour, SLA: sla}})
	return h
}

func hold(hours int) logistics.TrackingEvent {
	e := ev(logistics.StatusException, logistics.PhaseImportCustoms, hours, "express-1")
	e.Substatus, e.Reason, e.RawCode = "exception.customs_hold", "commercial invoice missing", "HOLD"
	return e
}

// snapshot samples the order projection at a workflow time.
func (h *harness) snapshot(d time.Duration) *store.OrderRecord {
	var rec store.OrderRecord
	h.at(d, func() { rec = h.store.lastOrder() })
	return &rec
}

func TestCustomsHoldWaitsForDocumentsWithRemindersAndEscalation(t *testing.T) {
	t.Run("documents provided: the hold clears and the parcel is delivered", func(t *testing.T) {
		h := newWatchedHarness(t, activities.SLA{HoldReminder: 24 * time.Hour, HoldEscalation: 72 * time.Hour})
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
		h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
		h.signalShipment(2*time.Hour, hold(2))
		onHold := h.snapshot(3 * time.Hour)
		reminded := h.snapshot(2*time.Hour + 25*time.Hour)
		h.signal(30*time.Hour, logistics.SignalCustomsDocuments, logistics.OpsAction{Actor: "merchant@example.com"})
		withDocs := h.snapshot(31 * time.Hour)
		// Days later customs releases it: time skipping, nothing escalates.
		h.signalShipment(100*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseImportCustoms, 100, "express-1"))
		cleared := h.snapshot(101 * time.Hour)
		h.signalShipment(102*time.Hour, ev(logistics.StatusOutForDelivery, logistics.PhaseLastMile, 102, "express-1"))
		h.signalShipment(103*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 103, "express-1"))
		h.run()

		assert.True(t, onHold.ActionRequired)
		assert.False(t, onHold.Stuck)
		assert.Contains(t, onHold.StuckReason, "customs hold on express express-1")
		assert.Contains(t, onHold.StuckReason, "send customs.documents_provided")
		assert.Contains(t, reminded.StuckReason, "(reminder 1)")
		assert.Contains(t, withDocs.StuckReason, "documents provided by merchant@example.com")
		assert.False(t, withDocs.Stuck, "documents stop the escalation")
		assert.False(t, cleared.ActionRequired, "the alert clears with the hold")
		assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	})
	t.Run("no documents: escalates to stuck", func(t *testing.T) {
		h := newWatchedHarness(t, activities.SLA{HoldReminder: 24 * time.Hour, HoldEscalation: 72 * time.Hour})
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
		h.signalShipment(2*time.Hour, hold(2))
		escalated := h.snapshot(76 * time.Hour)
		h.signalShipment(80*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseImportCustoms, 80, "express-1"))
		h.signalShipment(81*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 81, "express-1"))
		h.run()
		assert.True(t, escalated.Stuck)
		assert.Contains(t, escalated.StuckReason, "unresolved for 72h0m0s")
		last := h.store.lastOrder()
		assert.Equal(t, logistics.StageDelivered, last.Stage)
		assert.False(t, last.Stuck, "released by customs: no longer stuck")
	})
}

func TestSLANoMovementRaisesActionRequired(t *testing.T) {
	h := newWatchedHarness(t, activities.SLA{NoMovement: 48 * time.Hour})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
	quiet := h.snapshot(40 * time.Hour)
	late := h.snapshot(50 * time.Hour)
	h.signalShipment(60*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 60, "express-1"))
	moving := h.snapshot(61 * time.Hour)
	h.signalShipment(70*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 70, "express-1"))
	h.run()
	assert.False(t, quiet.ActionRequired)
	assert.True(t, late.ActionRequired)
	assert.Contains(t, late.StuckReason, "without tracking progress for over 48h0m0s")
	assert.False(t, moving.ActionRequired)
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

// newUnstoppableHarness follows an order whose carrier can neither void
// nor intercept, so a cancellation after dispatch needs ops.
func newUnstoppableHarness(t *testing.T, sla activities.SLA) *harness {
	t.Helper()
	c := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush,
		voidErr: carriers.ErrUnsupported, interceptErr: carriers.ErrUnsupported}
	env := newEnv()
	h := &harness{t: t, env: env, store: &fakeStore{}, warehouse: &fakeWarehouse{}}
	workflows.Register(env, &activities.Activities{Store: h.store, Carriers: carriers.NewRegistry(c),
		Warehouses: warehouses.NewRegistry(h.warehouse), Customs: fakeCustoms{},
		Settings: activities.Settings{PickTimeout: 6 * time.Hour, PollInterval: time.Hour, SLA: sla}})
	return h
}

func TestAnAlertClearingDoesNotEraseAnotherReason(t *testing.T) {
	h := newUnstoppableHarness(t, activities.SLA{NoMovement: 10 * time.Hour})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
	h.signal(20*time.Hour, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	h.signalShipment(21*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 21, "express-1"))
	afterMove := h.snapshot(22 * time.Hour)
	h.signalShipment(23*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 23, "express-1"))
	h.run()
	assert.True(t, afterMove.ActionRequired, "the parcel moved again, but the cancellation still needs ops")
	assert.Contains(t, afterMove.StuckReason, "cancellation after dispatch needs ops")
}

func TestAcknowledgingAnEscalatedAlertKeepsOtherReasons(t *testing.T) {
	h := newUnstoppableHarness(t, activities.SLA{HoldReminder: 24 * time.Hour, HoldEscalation: 72 * time.Hour})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
	// The carrier can neither void nor intercept: the cancellation needs ops.
	h.signal(2*time.Hour, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	h.signalShipment(3*time.Hour, hold(3))
	escalated := h.snapshot(80 * time.Hour)
	h.signal(81*time.Hour, logistics.SignalOpsRetry, logistics.OpsAction{Actor: "ops@example.com", Note: "broker called"})
	acknowledged := h.snapshot(82 * time.Hour)
	h.signalShipment(90*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseImportCustoms, 90, "express-1"))
	released := h.snapshot(91 * time.Hour)
	h.signalShipment(92*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 92, "express-1"))
	h.run()

	assert.True(t, escalated.Stuck)
	assert.Contains(t, escalated.StuckReason, "unresolved for 72h0m0s")
	assert.False(t, acknowledged.Stuck, "ops acknowledged the escalated hold")
	assert.True(t, acknowledged.ActionRequired, "the cancellation still needs ops")
	assert.Contains(t, acknowledged.StuckReason, "cancellation after dispatch needs ops")
	assert.True(t, released.ActionRequired, "the hold's release settles the hold, not the cancellation")
	assert.Contains(t, released.StuckReason, "cancellation after dispatch needs ops")
}

func TestAClearedAlertShowsTheReasonItHid(t *testing.T) {
	h := newUnstoppableHarness(t, activities.SLA{NoMovement: 10 * time.Hour})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
	h.signal(2*time.Hour, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer"})
	quiet := h.snapshot(15 * time.Hour) // the no-movement alert now shows
	h.signalShipment(16*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 16, "express-1"))
	moving := h.snapshot(17 * time.Hour)
	h.signalShipment(18*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 18, "express-1"))
	h.run()
	assert.Contains(t, quiet.StuckReason, "without tracking progress")
	assert.True(t, moving.ActionRequired, "the alert went, the cancellation it hid did not")
	assert.Contains(t, moving.StuckReason, "cancellation after dispatch needs ops")
}

// timerLog records the timers a harness's workflows start and cancel.
type timerLog struct {
	started   map[string]time.Duration
	cancelled map[string]bool
}

func logTimers(h *harness) *timerLog {
	l := &timerLog{started: map[string]time.Duration{}, cancelled: map[string]bool{}}
	h.env.SetOnTimerScheduledListener(func(id string, d time.Duration) { l.started[id] = d })
	h.env.SetOnTimerCanceledListener(func(id string) { l.cancelled[id] = true })
	return l
}

// lasting lists the started timers whose duration satisfies keep.
func (l *timerLog) lasting(keep func(time.Duration) bool) []string {
	var ids []string
	for id, d := range l.started {
		if keep(d) {
			ids = append(ids, id)
		}
	}
	return ids
}

// slaCheck tells a timer long enough to be an SLA check (the pick timeout
// and the shipment's backstop are hours).
func slaCheck(d time.Duration) bool { return d > 12*time.Hour }

func TestSLATimerFollowsTheDeadlineWithoutLeavingTimersBehind(t *testing.T) {
	t.Run("scans that push the deadline on start no timer", func(t *testing.T) {
		h := newWatchedHarness(t, activities.SLA{NoMovement: 48 * time.Hour})
		timers := logTimers(h)
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
		h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
		for _, at := range []int{10, 20, 30} {
			h.signalShipment(time.Duration(at)*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseLineHaul, at, "express-1"))
		}
		h.signalShipment(40*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 40, "express-1"))
		h.run()
		assert.Len(t, timers.lasting(slaCheck), 1, "one SLA timer for the whole journey, not one per scan")
		assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	})
	t.Run("a timer that fires before the moved deadline raises nothing and re-arms", func(t *testing.T) {
		h := newWatchedHarness(t, activities.SLA{NoMovement: 48 * time.Hour})
		timers := logTimers(h)
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
		h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
		// Armed for 49h; this scan moves the deadline to 78h.
		h.signalShipment(30*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 30, "express-1"))
		early := h.snapshot(60 * time.Hour)
		late := h.snapshot(80 * time.Hour)
		h.signalShipment(90*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 90, "express-1"))
		h.run()
		assert.False(t, early.ActionRequired, "the first timer fired at 49h, before the deadline")
		assert.True(t, late.ActionRequired, "the re-armed timer raised the alert at 78h")
		assert.Contains(t, late.StuckReason, "without tracking progress for over 48h0m0s")
		assert.Len(t, timers.lasting(slaCheck), 2, "armed at the first scan, re-armed when it fired early")
	})
	t.Run("an earlier deadline cancels the later timer it replaces", func(t *testing.T) {
		h := newWatchedHarness(t, activities.SLA{NoMovement: 48 * time.Hour, HoldReminder: 24 * time.Hour})
		timers := logTimers(h)
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
		// Armed for 49h (no movement); the hold's first reminder is due at 26h.
		h.signalShipment(time.Hour, ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, "express-1"))
		h.signalShipment(2*time.Hour, hold(2))
		h.signalShipment(30*time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 30, "express-1"))
		h.run()
		noMovement := timers.lasting(func(d time.Duration) bool { return d > 40*time.Hour && d <= 48*time.Hour })
		if assert.Len(t, noMovement, 1, "one no-movement timer") {
			assert.True(t, timers.cancelled[noMovement[0]], "replaced by the reminder's earlier deadline, it must not fire for nothing")
		}
	})
}

func TestAFinishedWaitCancelsItsTimer(t *testing.T) {
	h := newWatchedHarness(t, activities.SLA{})
	timers := logTimers(h)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.signalShipment(time.Hour, ev(logistics.StatusDelivered, logistics.PhaseLastMile, 1, "express-1"))
	h.run()
	pick := timers.lasting(func(d time.Duration) bool { return d == 6*time.Hour }) // the harness's pick timeout
	if assert.Len(t, pick, 1, "one pick wait") {
		assert.True(t, timers.cancelled[pick[0]], "the pick confirmation cancels the timeout's timer: left pending it would fire after the order moved on")
	}
}
