package workflows_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
	"github.com/crossdock/crossdock/workflows"
)

type harness struct {
	t         *testing.T
	env       *testsuite.TestWorkflowEnvironment
	store     *fakeStore
	warehouse *fakeWarehouse
}

func newHarness(t *testing.T, cs ...carriers.Carrier) *harness {
	t.Helper()
	return newHarnessWith(t, carriers.NewRegistry(cs...))
}

func newHarnessWith(t *testing.T, reg *carriers.Registry) *harness {
	t.Helper()
	return newHarnessSettings(t, reg, activities.Settings{PickTimeout: 6 * time.Hour, PollInterval: 30 * time.Minute})
}

func newHarnessSettings(t *testing.T, reg *carriers.Registry, settings activities.Settings) *harness {
	t.Helper()
	env := newEnv()
	h := &harness{t: t, env: env, store: &fakeStore{}, warehouse: &fakeWarehouse{}}
	workflows.Register(env, &activities.Activities{
		Store: h.store, Carriers: reg, Warehouses: warehouses.NewRegistry(h.warehouse),
		Customs: fakeCustoms{}, Settings: settings,
	})
	return h
}

// newEnv is a test environment running as order/m_demo/TT-1, logging
// warnings and errors only.
func newEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: logistics.OrderWorkflowID("m_demo", "TT-1")})
	return env
}

func demoOrder() logistics.Order {
	return logistics.Order{MerchantID: "m_demo", OrderID: "TT-1", WarehouseID: "wh_szx",
		ServiceLevel: logistics.ServiceStandard, Incoterm: logistics.IncotermDDP,
		ShipTo: logistics.Address{Name: "Ada", Line1: "12 Example St", City: "London", Country: "GB"},
		Items: []logistics.Item{{SKU: "T", Description: "Cotton T-shirt", Quantity: 2,
			UnitPrice: logistics.Money{Amount: decimal.RequireFromString("12.50"), Currency: "GBP"},
			HSCode:    "610910", OriginCountry: "CN", WeightGrams: 180, DangerousGoods: logistics.DGNone}}}
}

// at runs fn after d of workflow time.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

func (h *harness) signal(d time.Duration, name string, arg any) {
	h.at(d, func() { h.env.SignalWorkflow(name, arg) })
}

func (h *harness) signalShipment(d time.Duration, events ...logistics.TrackingEvent) {
	h.at(d, func() {
		require.NoError(h.t, h.env.SignalWorkflowByID(logistics.ShipmentWorkflowID("m_demo", "TT-1", 1),
			logistics.SignalTrackingEvent, logistics.TrackingUpdate{WebhookID: "t" + d.String(), Events: events}))
	})
}

func (h *harness) run() {
	h.env.ExecuteWorkflow(logistics.OrderWorkflowType, logistics.OrderWorkflowInput{MerchantID: "m_demo", OrderID: "TT-1"})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
}

func packed() logistics.WarehouseEvent {
	return logistics.WarehouseEvent{ID: "wh-1", Type: logistics.WarehousePacked, WarehouseID: "wh_szx",
		MerchantID: "m_demo", OrderID: "TT-1", Parcels: []logistics.Parcel{{WeightGrams: 500}}}
}

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func ev(status logistics.Status, phase logistics.Phase, hours int, tn string) logistics.TrackingEvent {
	return logistics.TrackingEvent{Status: status, Phase: phase, OccurredAt: t0.Add(time.Duration(hours) * time.Hour),
		Carrier: "express", TrackingNumber: tn, RawCode: string(status) + string(phase), Source: logistics.SourceWebhook}
}

func journey(tn string) []logistics.TrackingEvent {
	return []logistics.TrackingEvent{
		ev(logistics.StatusPickedUp, logistics.PhaseOrigin, 1, tn),
		ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 10, tn),
		ev(logistics.StatusInTransit, logistics.PhaseImportCustoms, 40, tn),
		ev(logistics.StatusOutForDelivery, logistics.PhaseLastMile, 60, tn),
		ev(logistics.StatusDelivered, logistics.PhaseLastMile, 64, tn),
	}
}

func TestOrderTravelsEveryStageByPush(t *testing.T) {
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h := newHarness(t, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Second, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w2", Order: demoOrder()}) // duplicate create: no-op
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+2)*time.Hour, e)
	}
	// A late, older event must not move the status backwards.
	h.signalShipment(8*time.Hour, ev(logistics.StatusInTransit, logistics.PhaseLineHaul, 11, "express-1"))
	h.run()

	assert.Equal(t, []logistics.Stage{logistics.StageReceived, logistics.StageScreening, logistics.StagePicking,
		logistics.StageBooking, logistics.StageExport, logistics.StageLineHaul, logistics.StageCustoms,
		logistics.StageLastMile, logistics.StageDelivered}, h.store.stages())
	assert.Equal(t, 1, express.bookingCount(), "one booking")
	assert.Len(t, h.warehouse.pickKeys(), 1)
	assert.Len(t, h.store.customs, 1)
	var last int64
	for _, o := range h.store.orders {
		assert.Greater(t, o.Version, last, "projection versions are monotonic")
		last = o.Version
	}
	sh := h.store.shipments[len(h.store.shipments)-1]
	assert.Equal(t, logistics.StatusDelivered, sh.Shipment.Status)
	assert.Equal(t, "shipment/m_demo/TT-1/1", sh.WorkflowID)

	counts := map[string]int{}
	for _, typ := range h.store.eventTypes() {
		counts[typ]++
	}
	assert.Equal(t, 9, counts["order.stage_changed"], "one event per stage")
	assert.Equal(t, 4, counts["shipment.status_changed"], "picked_up, in_transit, out_for_delivery, delivered")
	assert.Zero(t, counts["order.action_required"])
}

func TestCancelBeforeCreateIsHeldAndApplied(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.signal(0, logistics.SignalOrderCancelled, logistics.OrderCancelled{WebhookID: "c1", Reason: "buyer changed mind"})
	h.signal(time.Second, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.run()
	assert.Equal(t, logistics.StageCancelled, h.store.lastOrder().Stage)
	assert.Empty(t, h.warehouse.pickKeys(), "a cancelled order is never picked")
}

func TestRefusingCarrierFallsBackToNextChannel(t *testing.T) {
	refusing := &fakeCarrier{code: "aaa_fast", days: 1, tracking: logistics.TrackingPush, refuse: true}
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h := newHarness(t, refusing, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+2)*time.Hour, e)
	}
	h.run()
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	assert.Equal(t, 1, express.bookingCount())
	assert.Equal(t, "express", h.store.shipments[0].Shipment.Carrier)
}

func TestPickTimeoutMakesOrderStuckUntilOpsRetry(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	var stuck bool
	var status, picking workflows.OrderStatus
	h.at(30*time.Minute, func() {
		v, err := h.env.QueryWorkflow(logistics.QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&picking))
	})
	h.at(7*time.Hour, func() {
		stuck = h.store.lastOrder().Stuck
		v, err := h.env.QueryWorkflow(logistics.QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&status))
		h.env.SignalWorkflow(logistics.SignalOpsRetry, nil) // the Temporal UI sends a signal with no input
	})
	h.signal(8*time.Hour, logistics.SignalWarehouseEvent, func() logistics.WarehouseEvent { e := packed(); e.ID = "wh-2"; return e }())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+9)*time.Hour, e)
	}
	h.run()
	assert.True(t, stuck, "the order was stuck after the pick timeout")
	assert.Equal(t, logistics.StagePicking, picking.Stage)
	assert.Contains(t, picking.WaitingFor, "pick confirmation")
	assert.True(t, status.Stuck)
	assert.Contains(t, status.StuckReason, "did not confirm the pick")
	assert.Contains(t, status.WaitingFor, "ops.retry")
	assert.Contains(t, h.store.eventTypes(), "order.action_required", "the merchant hears the order needs someone")
	assert.Equal(t, []string{"order/m_demo/TT-1/pick/1", "order/m_demo/TT-1/pick/2"}, h.warehouse.pickKeys())
	last := h.store.lastOrder()
	assert.Equal(t, logistics.StageDelivered, last.Stage)
	assert.False(t, last.Stuck)
}

func TestLateConfirmationUnsticksPickingWithoutOps(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	var stuck bool
	h.at(7*time.Hour, func() { stuck = h.store.lastOrder().Stuck })
	h.signal(8*time.Hour, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+9)*time.Hour, e)
	}
	h.run()
	assert.True(t, stuck)
	assert.Len(t, h.warehouse.pickKeys(), 1, "no second pick for a confirmation that was only late")
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

func TestOutOfStockWaitsForOpsSkipOrRetry(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, logistics.WarehouseEvent{ID: "oos", Type: logistics.WarehouseOutOfStock,
		WarehouseID: "wh_szx", MerchantID: "m_demo", OrderID: "TT-1", Reason: "SKU T out of stock"})
	var reason string
	h.at(time.Hour, func() {
		reason = h.store.lastOrder().StuckReason
		h.env.SignalWorkflow(logistics.SignalOpsRetry, logistics.OpsAction{Actor: "ops"})
	})
	h.signal(2*time.Hour, logistics.SignalWarehouseEvent, func() logistics.WarehouseEvent { e := packed(); e.ID = "wh-2"; return e }())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+3)*time.Hour, e)
	}
	h.run()
	assert.Contains(t, reason, "out_of_stock")
	assert.Len(t, h.warehouse.pickKeys(), 2, "ops.retry asks the warehouse again")
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

func TestPollOnlyChannelIsPolledToDelivery(t *testing.T) {
	post := &fakeCarrier{code: "post", days: 6, tracking: logistics.TrackingPoll, journey: journey("")}
	h := newHarness(t, post)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.run()
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	assert.GreaterOrEqual(t, post.polls, len(journey("")))
}

func newBlockedHarness(t *testing.T, reasons ...string) *harness {
	t.Helper()
	env := newEnv()
	h := &harness{t: t, env: env, store: &fakeStore{}, warehouse: &fakeWarehouse{}}
	workflows.Register(env, &activities.Activities{Store: h.store,
		Carriers:   carriers.NewRegistry(&fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}),
		Warehouses: warehouses.NewRegistry(h.warehouse), Customs: fakeCustoms{reasons: reasons},
		Settings: activities.Settings{PickTimeout: time.Hour, PollInterval: time.Hour}})
	return h
}

func TestDeniedPartyWaitsForComplianceReview(t *testing.T) {
	t.Run("confirmed: cancelled, never picked", func(t *testing.T) {
		h := newBlockedHarness(t, deniedParty)
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Minute, logistics.SignalOpsRetry, logistics.OpsAction{Actor: "ops"}) // not the review's answer
		var during store.OrderRecord
		h.at(time.Hour, func() {
			during = h.store.lastOrder()
			h.env.SignalWorkflow(logistics.SignalComplianceConfirm, logistics.OpsAction{Actor: "compliance@example.com", Note: "true match"})
		})
		h.run()
		assert.True(t, during.Stuck)
		assert.Contains(t, during.StuckReason, "compliance review: "+deniedParty)
		last := h.store.lastOrder()
		assert.Equal(t, logistics.StageCancelled, last.Stage)
		assert.Contains(t, last.StuckReason, "denied party confirmed by compliance@example.com")
		assert.Empty(t, h.warehouse.pickKeys())
		require.NotEmpty(t, h.store.customs)
		assert.True(t, h.store.customs[0].Blocked, "the merchant sees why")
	})
	t.Run("cleared: the order ships and the decision records the review", func(t *testing.T) {
		h := newBlockedHarness(t, deniedParty)
		h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
		h.signal(time.Hour, logistics.SignalComplianceClear, logistics.OpsAction{Actor: "compliance@example.com", Note: "different person"})
		// The buyer moves to Germany before dispatch: customs is decided
		// again for the new country, and ops are not asked a second time.
		h.signal(2*time.Hour, logistics.SignalAddressUpdated, logistics.AddressUpdated{WebhookID: "a1",
			ShipTo: logistics.Address{Name: "Ada", Line1: "1 Neue Strasse", City: "Berlin", Country: "DE"}})
		h.signal(3*time.Hour, logistics.SignalWarehouseEvent, packed())
		for i, e := range journey("express-1") {
			h.signalShipment(time.Duration(i+4)*time.Hour, e)
		}
		h.run()
		assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
		final := h.store.customs[len(h.store.customs)-1]
		assert.Equal(t, "decided_for_DE", final.Regime, "re-decided for the new country")
		assert.False(t, final.Blocked)
		assert.Contains(t, final.Warnings, "cleared_by_compliance_review: ACME PROLIFERATION TRADING CO (SDN 1234)")
	})
}

func TestOtherCustomsBlocksAreStuckForOps(t *testing.T) {
	h := newBlockedHarness(t, "hs_code_missing: items[0] sku T")
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalComplianceClear, logistics.OpsAction{Actor: "ops"}) // no review waits: ignored
	var during store.OrderRecord
	h.at(time.Hour, func() {
		during = h.store.lastOrder()
		h.env.SignalWorkflow(logistics.SignalOpsCancel, logistics.OpsAction{Actor: "ops", Note: "merchant will resend"})
	})
	h.run()
	assert.True(t, during.Stuck)
	assert.Contains(t, during.StuckReason, "screening: customs blocked: hs_code_missing")
	assert.Equal(t, logistics.StageCancelled, h.store.lastOrder().Stage)
}

func TestNoChannelForTheGoodsIsABlockedDecision(t *testing.T) {
	h := newHarness(t, &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush})
	o := demoOrder()
	o.Items[0].DangerousGoods = logistics.DGLithiumStandalone
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: o})
	var during store.OrderRecord
	h.at(time.Hour, func() {
		during = h.store.lastOrder()
		h.env.SignalWorkflow(logistics.SignalOpsCancel, logistics.OpsAction{Actor: "ops"})
	})
	h.run()
	require.NotEmpty(t, h.store.customs)
	d := h.store.customs[0]
	assert.True(t, d.Blocked)
	require.NotEmpty(t, d.BlockReasons)
	assert.Contains(t, d.BlockReasons[0], "no_eligible_channel: express/std")
	assert.True(t, during.Stuck)
	assert.Empty(t, h.warehouse.pickKeys(), "nothing is picked that cannot be shipped")
}

func TestUnpollableChannelFallsBackToPushesAndScans(t *testing.T) {
	h := newHarness(t, untrackable{&fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPoll}})
	polls := 0
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == activities.NamePollTracking {
			polls++
		}
	})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+2)*24*time.Hour, e)
	}
	h.run()
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	assert.Equal(t, 1, polls, "a channel that cannot be polled is not polled again every interval")
}

func TestBookingMovesOnWhenACarriersCircuitOpens(t *testing.T) {
	down := &fakeCarrier{code: "aaa_fast", days: 1, tracking: logistics.TrackingPush, down: true}
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h := newHarness(t, down, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()
	assert.Equal(t, 5, down.attemptCount(), "five failures in a row open the circuit; the sixth attempt is not made")
	assert.Equal(t, 1, express.bookingCount(), "the next-best channel books once")
	assert.Equal(t, "express", h.store.shipments[0].Shipment.Carrier)
	for _, o := range h.store.orders {
		assert.False(t, o.Stuck, "no ops needed")
	}
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

func TestOpsSwitchCarrierAfterAnOutage(t *testing.T) {
	down := &fakeCarrier{code: "aaa_fast", days: 1, tracking: logistics.TrackingPush, down: true}
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	// A breaker that never trips: the retries run out and ops step in.
	never := carriers.NewBreakers(carriers.BreakerSettings{ConsecutiveFailures: 1 << 30})
	h := newHarnessWith(t, carriers.NewRegistry(down, express).WithBreakers(never))
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	stuck := h.snapshot(2 * time.Hour)
	h.signal(3*time.Hour, logistics.SignalOpsSwitchCarrier, logistics.OpsAction{Actor: "ops", Carrier: "express"})
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()
	assert.True(t, stuck.Stuck)
	assert.Contains(t, stuck.StuckReason, "booking:")
	assert.Equal(t, 1, express.bookingCount())
	assert.Equal(t, "express", h.store.shipments[0].Shipment.Carrier)
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

func TestOpsSkipAPickPackedByHand(t *testing.T) {
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h := newHarness(t, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(7*time.Hour, logistics.SignalOpsSkip, logistics.OpsAction{Actor: "ops", Note: "packed by hand"})
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+8)*time.Hour, e)
	}
	h.run()
	require.NotEmpty(t, h.store.shipments)
	assert.Equal(t, 360, h.store.shipments[0].Shipment.Parcel.WeightGrams, "one parcel of the order's weight")
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

func TestBatchOnlyCarrierGetsAPrintedLabelAndTheEndOfDayManifest(t *testing.T) {
	local := &fakeCarrier{code: "local", days: 6, tracking: logistics.TrackingNone, label: logistics.LabelBatchManifest}
	h := newHarness(t, local)
	var booked, submitted time.Time
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		switch info.ActivityType.Name {
		case activities.NameBookShipment:
			booked = h.env.Now()
		case activities.NameSubmitManifest:
			submitted = h.env.Now()
		}
	})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("local-1") {
		h.signalShipment(time.Duration(i+30)*time.Hour, e)
	}
	h.run()

	require.Len(t, h.store.documents, 1)
	label := h.store.documents[0]
	assert.Equal(t, "label", label.Kind)
	assert.Equal(t, "local-1", label.TrackingNumber)
	assert.True(t, bytes.HasPrefix(label.Content, []byte("%PDF-")), "a PDF label")
	assert.Equal(t, "/v1/tracking/local-1/label", h.store.shipments[0].Shipment.LabelURL)

	files := local.submitted()
	require.Len(t, files, 1, "one manifest for the day")
	for name, csv := range files {
		assert.Contains(t, name, "local-")
		assert.Contains(t, csv, "local-1", "the parcel is on it")
	}
	require.False(t, submitted.IsZero())
	cutoff := time.Date(booked.Year(), booked.Month(), booked.Day(), 17, 0, 0, 0, time.UTC)
	if !cutoff.After(booked) {
		cutoff = cutoff.AddDate(0, 0, 1)
	}
	assert.False(t, submitted.Before(cutoff), "the manifest waits for the cut-off (%s), sent at %s", cutoff, submitted)
	assert.Less(t, submitted.Sub(cutoff), time.Hour)
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}

func TestBrokerChannelGetsTheImportEntryFiled(t *testing.T) {
	consol := &fakeCarrier{code: "consol", days: 9, tracking: logistics.TrackingPush, customsPath: logistics.CustomsBroker}
	h := newHarness(t, consol)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("consol-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()
	entries := consol.filedEntries()
	require.Len(t, entries, 1, "filed once, with the booking's number")
	assert.Equal(t, "TT-1", entries[0].Reference)
	assert.Equal(t, "decided_for_GB", entries[0].Decision.Regime, "the decision Crossdock made goes to the broker")
	assert.Equal(t, "London", entries[0].Importer.City)
	assert.Len(t, entries[0].Items, 1)
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	assert.Empty(t, h.store.documents, "a broker channel with a label API prints nothing")
}

func TestCarrierThatCollectsOnRequestGetsOnePickupPerOrder(t *testing.T) {
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush, pickup: true}
	h := newHarness(t, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()
	reqs := express.pickupRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "order/m_demo/TT-1/express", reqs[0].Reference, "idempotent per order and carrier")
	assert.Equal(t, []string{"express-1"}, reqs[0].TrackingNumbers)
	assert.Equal(t, "CN", reqs[0].Address.Country, "collected at the warehouse")
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)

	plain := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h = newHarness(t, plain)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()
	assert.Empty(t, plain.pickupRequests(), "a carrier on a standing round is not asked")
}
