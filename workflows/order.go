package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/logistics"
)

// intakeWait is how long a workflow started by an early cancel or address
// update waits for its order.created before giving up.
const intakeWait = 7 * 24 * time.Hour

// signalShipmentProgress is sent by a shipment workflow to its order
// workflow whenever the shipment's status or phase changes.
const signalShipmentProgress = "shipment.progress"

// ShipmentProgress is the payload of shipment.progress.
type ShipmentProgress struct {
	Number         int              `json:"number"`
	Carrier        string           `json:"carrier"`
	TrackingNumber string           `json:"tracking_number"`
	Status         logistics.Status `json:"status"`
	Phase          logistics.Phase  `json:"phase"`
	// Substatus and Reason are those of the event that made the change.
	Substatus string `json:"substatus,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// OrderStatus answers the "status" query: live detail for ops and the API.
type OrderStatus struct {
	Stage          logistics.Stage `json:"stage"`
	Stuck          bool            `json:"stuck"`
	StuckReason    string          `json:"stuck_reason"`
	ActionRequired bool            `json:"action_required"`
	WaitingFor     string          `json:"waiting_for"`
	Version        int64           `json:"version"`
}

var errCancelled = errors.New("order cancelled")

type opsRequest struct {
	name   string
	action logistics.OpsAction
}

// orderWorkflow is one order's state; its methods are the stages.
type orderWorkflow struct {
	in       logistics.OrderWorkflowInput
	id       string
	settings activities.Settings

	created   bool
	createdAt time.Time
	order     logistics.Order
	seen      map[string]bool

	cancel        *logistics.OrderCancelled
	cancelHandled bool   // the cancellation saga ran (after dispatch)
	pickKey       string // the pick request the warehouse holds, if any
	addresses     []logistics.AddressUpdated
	packed        *logistics.WarehouseEvent
	ops           []opsRequest
	preferred     string // carrier ops asked for with ops.switch_carrier

	stage          logistics.Stage
	emits          bool // outbound events are emitted (workflow version)
	together       bool // fewer workflow tasks and commands (workflow version "parallel-projection")
	tidyTimers     bool // no timer left pending to fire for nothing (version 2 of it)
	waitingFor     string
	stuck          bool
	stuckReason    string
	actionRequired bool
	// reasons are what needs ops and is not settled yet, oldest first;
	// stuckReason shows the latest.
	reasons []string
	version int64

	review   *opsRequest     // ops' answer to a compliance review
	inReview bool            // a compliance review is waiting for ops
	cleared  map[string]bool // denied-party block reasons ops cleared

	origin    logistics.Address
	parcels   []logistics.Parcel
	plan      activities.PlanChannelsResult
	customs   logistics.CustomsDecision
	shipments []logistics.Shipment
	progress  map[int]ShipmentProgress
	channels  map[int]logistics.Channel // the channel each shipment was booked on
	watch     *watch
	finished  map[int]bool
	changed   bool
}

// OrderWorkflow drives one order from intake to a terminal stage. It is
// started (or signalled) by the API with SignalWithStart, so the first
// signal may be a cancel or an address update that precedes the create:
// those are held until the create arrives.
func OrderWorkflow(ctx workflow.Context, in logistics.OrderWorkflowInput) error {
	w := newOrderWorkflow(ctx, in)
	if err := w.setup(ctx); err != nil {
		return err
	}
	return w.run(ctx)
}

func newOrderWorkflow(ctx workflow.Context, in logistics.OrderWorkflowInput) *orderWorkflow {
	return &orderWorkflow{in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID,
		seen: map[string]bool{}, progress: map[int]ShipmentProgress{}, channels: map[int]logistics.Channel{}, finished: map[int]bool{}, cleared: map[string]bool{},
		watch: newWatch()}
}

func (w *orderWorkflow) setup(ctx workflow.Context) error {
	log := workflow.GetLogger(ctx)
	receive(ctx, logistics.SignalOrderCreated, func(s logistics.OrderCreated) { w.onCreated(ctx, s) })
	receive(ctx, logistics.SignalOrderCancelled, func(s logistics.OrderCancelled) {
		if w.once(s.WebhookID) && w.cancel == nil {
			w.cancel = &s
		}
	})
	receive(ctx, logistics.SignalAddressUpdated, func(s logistics.AddressUpdated) {
		if w.once(s.WebhookID) {
			w.addresses = append(w.addresses, s)
		}
	})
	receive(ctx, logistics.SignalWarehouseEvent, func(e logistics.WarehouseEvent) {
		if w.once("warehouse:"+e.ID) && w.stage == logistics.StagePicking {
			w.packed = &e
		} else {
			log.Info("warehouse event ignored", "event_id", e.ID, "type", string(e.Type), "stage", string(w.stage))
		}
	})
	receive(ctx, signalShipmentProgress, func(p ShipmentProgress) {
		w.progress[p.Number] = p
		w.watch.observe(p, workflow.Now(ctx))
		w.changed = true
	})
	receive(ctx, logistics.SignalCustomsDocuments, func(act logistics.OpsAction) {
		if len(w.watch.holdSince) == 0 {
			log.Info("customs documents noted: no shipment is on a customs hold", "actor", act.Actor)
		}
		w.watch.documents = &act
		w.changed = true
	})
	for _, name := range []string{logistics.SignalOpsRetry, logistics.SignalOpsSkip, logistics.SignalOpsSwitchCarrier} {
		receive(ctx, name, func(act logistics.OpsAction) {
			if name == logistics.SignalOpsSwitchCarrier && act.Carrier != "" {
				w.preferred = act.Carrier
			}
			if !w.stuck {
				log.Info("ops signal ignored: order is not stuck", "signal", name, "actor", act.Actor)
				return
			}
			w.ops = append(w.ops, opsRequest{name: name, action: act})
		})
	}
	for _, name := range []string{logistics.SignalComplianceClear, logistics.SignalComplianceConfirm} {
		receive(ctx, name, func(act logistics.OpsAction) {
			if !w.inReview {
				log.Info("compliance signal ignored: no review is waiting", "signal", name, "actor", act.Actor)
				return
			}
			w.review = &opsRequest{name: name, action: act}
		})
	}
	receive(ctx, logistics.SignalOpsCancel, func(act logistics.OpsAction) {
		if w.cancel == nil {
			w.cancel = &logistics.OrderCancelled{Reason: strings.TrimSpace("cancelled by ops " + act.Actor + ": " + act.Note)}
		}
	})
	return workflow.SetQueryHandlerWithOptions(ctx, logistics.QueryStatus, func() (OrderStatus, error) {
		return OrderStatus{Stage: w.stage, Stuck: w.stuck, StuckReason: w.stuckReason,
			ActionRequired: w.actionRequired, WaitingFor: w.waitingFor, Version: w.version}, nil
	}, workflow.QueryHandlerOptions{Description: "The order's stage, whether it is stuck and why, and what it waits for."})
}

// signalDescriptions are shown in the Temporal UI's "Send a Signal" dialog,
// with the JSON to paste where ops send one by hand.
var signalDescriptions = map[string]string{
	logistics.SignalOrderCreated:      "From the order service (via the API): the order to fulfil. A duplicate is ignored.",
	logistics.SignalOrderCancelled:    "From the order service (via the API): cancel the order; after dispatch it needs a carrier intercept.",
	logistics.SignalAddressUpdated:    "From the order service (via the API): a new ship_to; before dispatch customs is decided again.",
	logistics.SignalWarehouseEvent:    "From the warehouse (via the API): packed, short_pick or out_of_stock.",
	signalShipmentProgress:            "Internal: a shipment workflow reports a status or phase change.",
	logistics.SignalOpsRetry:          `Ops: run the stuck step again. Input: {"actor": "you@example.com", "note": "why"}`,
	logistics.SignalOpsSkip:           `Ops: skip the stuck step (only where that is safe). Input: {"actor": "you@example.com", "note": "why"}`,
	logistics.SignalOpsCancel:         `Ops: cancel the order. Input: {"actor": "you@example.com", "note": "why"}`,
	logistics.SignalOpsSwitchCarrier:  `Ops: book with another carrier first, then retry. Input: {"actor": "you@example.com", "carrier": "sbx_post"}`,
	logistics.SignalCustomsDocuments:  `Ops or the merchant: the documents customs asked for are with the carrier. Input: {"actor": "you@example.com", "note": "invoice and licence sent"}`,
	logistics.SignalComplianceClear:   `Ops: the denied-party match is a false positive; ship. Input: {"actor": "you@example.com", "note": "why"}`,
	logistics.SignalComplianceConfirm: `Ops: the denied-party match is real; cancel. Input: {"actor": "you@example.com", "note": "why"}`,
}

func (w *orderWorkflow) onCreated(ctx workflow.Context, s logistics.OrderCreated) {
	if w.once(s.WebhookID) && !w.created {
		// The order is judged by the rules in force on its own date.
		w.created, w.order, w.createdAt = true, s.Order, s.OccurredAt
		if w.createdAt.IsZero() {
			w.createdAt = workflow.Now(ctx)
		}
	}
}

// receive runs handler for every signal on the named channel, in order.
func receive[T any](ctx workflow.Context, name string, handler func(T)) {
	ch := workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: signalDescriptions[name]})
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var v T
			ch.Receive(ctx, &v)
			handler(v)
		}
	})
}

// once reports whether a webhook id is seen for the first time; redelivered
// signals are no-ops. Empty ids (internal senders) always pass.
func (w *orderWorkflow) once(id string) bool {
	if id == "" {
		return true
	}
	if w.seen[id] {
		return false
	}
	w.seen[id] = true
	return true
}

func (w *orderWorkflow) run(ctx workflow.Context) error {
	started, err := w.begin(ctx)
	if err != nil || !started {
		return err
	}
	return w.walk(ctx, []func(workflow.Context) error{w.screening, w.picking, w.booking, w.following})
}

// begin waits for the order, reads the worker's settings and enters the
// received stage. It reports false when no order.created ever came.
func (w *orderWorkflow) begin(ctx workflow.Context) (bool, error) {
	// Version 1 of "parallel-projection" writes a stage's projection and
	// emits its event side by side, sets a stage's search attributes with
	// one upsert, starts no timer that is not needed (the intake wait when
	// order.created is already here, an SLA timer for a deadline that one
	// already waits for), and takes every earlier change without a marker
	// of its own (see sinceVersion). Version 2 leaves no timer behind to
	// wake the order for nothing: a wait that ends before its timeout
	// cancels its timer (awaitWithTimeout), and the SLA timer is not
	// replaced when a scan moves the deadline later (see following). The
	// commands differ, the outcome does not.
	v := workflow.GetVersion(ctx, changeParallelProjection, workflow.DefaultVersion, 2)
	w.together, w.tidyTimers = v >= 1, v >= 2
	w.waitFor(ctx, "order.created from the order service")
	if w.together {
		// SignalWithStart delivers order.created with the start: take it
		// before the signal handlers get to run, so no intake timer starts.
		ch := workflow.GetSignalChannel(ctx, logistics.SignalOrderCreated)
		var s logistics.OrderCreated
		for !w.created && ch.ReceiveAsync(&s) {
			w.onCreated(ctx, s)
		}
	}
	ok := w.created
	if !ok {
		var err error
		if ok, err = w.awaitWithTimeout(ctx, intakeWait, func() bool { return w.created }); err != nil {
			return false, err
		}
	}
	if !ok {
		workflow.GetLogger(ctx).Warn("no order.created arrived; closing", "merchant_id", w.in.MerchantID, "order_id", w.in.OrderID)
		return false, nil
	}
	lctx := workflow.WithLocalActivityOptions(ctx, localOptions)
	if err := workflow.ExecuteLocalActivity(lctx, activities.NameSettings).Get(ctx, &w.settings); err != nil {
		return false, fmt.Errorf("read settings: %w", err)
	}
	// Version 1 of "outbound-events" tells the merchant: stage changes and
	// what needs their action go to the outbox.
	w.emits = sinceVersion(ctx, w.together, "outbound-events")
	// Explicit false values let ops filter on CrossdockStuck = false too.
	initial := []temporal.SearchAttributeUpdate{saStuck.ValueSet(false), saActionRequired.ValueSet(false)}
	if w.together {
		return true, w.enterWith(ctx, logistics.StageReceived, initial...)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, initial...); err != nil {
		return false, err
	}
	return true, w.enter(ctx, logistics.StageReceived)
}

// walk runs the stages in order; a cancellation ends the order from
// whichever stage it reached. Reordering stages changes the commands a
// running order replays: do it only behind workflow.GetVersion
// (nondeterminism_test.go shows what happens otherwise).
func (w *orderWorkflow) walk(ctx workflow.Context, stages []func(workflow.Context) error) error {
	for _, stage := range stages {
		err := stage(ctx)
		if errors.Is(err, errCancelled) {
			return w.finishCancelled(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// screening decides customs and checks that some channel can carry the order.
func (w *orderWorkflow) screening(ctx workflow.Context) error {
	if err := w.enter(ctx, logistics.StageScreening); err != nil {
		return err
	}
	return w.untilDone(ctx, "screening", func(ctx workflow.Context) error {
		w.applyAddressUpdates(ctx)
		return w.screen(ctx)
	})
}

// screen plans the lane, decides customs (denied-party screening included)
// and stores the decision. A denied-party match waits for ops' compliance
// review; any other block (no channel takes the goods, an item customs
// cannot accept) makes the order stuck with the reasons.
func (w *orderWorkflow) screen(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, localOptions)
	if err := workflow.ExecuteLocalActivity(lctx, activities.NamePlanChannels, activities.PlanChannelsInput{
		Order: w.order, Parcels: w.parcels}).Get(ctx, &w.plan); err != nil {
		return err
	}
	w.origin = w.plan.Origin
	if err := workflow.UpsertTypedSearchAttributes(ctx, saLane.ValueSet(logistics.Lane(w.origin.Country, w.order.ShipTo.Country))); err != nil {
		return err
	}
	channelType := logistics.ChannelCourier
	if len(w.plan.Options) > 0 {
		channelType = w.plan.Options[0].Channel.Type
	}
	if err := workflow.ExecuteLocalActivity(lctx, activities.NameDecideCustoms, activities.DecideCustomsInput{
		Order: w.order, ChannelType: channelType, Date: w.createdAt}).Get(ctx, &w.customs); err != nil {
		return err
	}
	if len(w.plan.Options) == 0 {
		// Dangerous goods, weight or tax ids no channel accepts: blocked,
		// with each channel's reason, for the merchant to see.
		w.customs.Blocked = true
		for _, r := range w.plan.Rejected {
			w.customs.BlockReasons = append(w.customs.BlockReasons, "no_eligible_channel: "+r.Carrier+"/"+r.Service+": "+r.Reason)
		}
		if len(w.plan.Rejected) == 0 {
			w.customs.BlockReasons = append(w.customs.BlockReasons, "no_eligible_channel: no channel serves "+
				logistics.Lane(w.origin.Country, w.order.ShipTo.Country))
		}
	}
	w.applyComplianceClearances()
	if err := w.saveCustoms(ctx); err != nil {
		return err
	}
	if !w.customs.Blocked {
		return nil
	}
	if w.deniedPartyOnly() {
		return w.complianceReview(ctx)
	}
	return temporal.NewNonRetryableApplicationError("customs blocked: "+strings.Join(w.customs.BlockReasons, "; "), "Blocked", nil)
}

func (w *orderWorkflow) saveCustoms(ctx workflow.Context) error {
	sctx := workflow.WithActivityOptions(ctx, storeOptions)
	return workflow.ExecuteActivity(sctx, activities.NameSaveCustoms, activities.SaveCustomsInput{
		MerchantID: w.order.MerchantID, OrderID: w.order.OrderID, Decision: w.customs, At: workflow.Now(ctx)}).Get(ctx, nil)
}

// picking asks the warehouse to pick and waits for its packed confirmation.
func (w *orderWorkflow) picking(ctx workflow.Context) error {
	if err := w.enter(ctx, logistics.StagePicking); err != nil {
		return err
	}
	attempt := 0
	// A confirmation that arrives while the order is stuck (say after the
	// timeout) settles the stage without waiting for ops.
	confirmed := func() bool { return w.packed != nil && w.packed.Type == logistics.WarehousePacked }
	return w.untilDoneOr(ctx, "picking", confirmed, func(ctx workflow.Context) error {
		if !confirmed() {
			attempt++
			w.packed = nil
			actx := workflow.WithActivityOptions(ctx, warehouseOptions)
			var res activities.RequestPickResult
			w.pickKey = fmt.Sprintf("%s/pick/%d", w.id, attempt)
			if err := workflow.ExecuteActivity(actx, activities.NameRequestPick, activities.RequestPickInput{
				Order: w.order, IdempotencyKey: w.pickKey}).Get(ctx, &res); err != nil {
				return err
			}
			w.waitFor(ctx, "the warehouse's pick confirmation (warehouse.event), for up to "+w.settings.PickTimeout.String())
			ok, err := w.awaitWithTimeout(ctx, w.settings.PickTimeout, func() bool { return w.packed != nil || w.cancel != nil })
			switch {
			case err != nil:
				return err
			case w.cancel != nil:
				return errCancelled
			case !ok:
				return fmt.Errorf("warehouse %s did not confirm the pick within %s", w.order.WarehouseID, w.settings.PickTimeout)
			}
		}
		if w.packed.Type != logistics.WarehousePacked || len(w.packed.Parcels) == 0 {
			return fmt.Errorf("warehouse %s reported %s: %s", w.order.WarehouseID, w.packed.Type, w.packed.Reason)
		}
		w.parcels = w.packed.Parcels
		return nil
	})
}

// booking books every parcel, falling back to the next eligible channel on
// a carrier's hard refusal.
func (w *orderWorkflow) booking(ctx workflow.Context) error {
	if err := w.enter(ctx, logistics.StageBooking); err != nil {
		return err
	}
	if w.applyAddressUpdates(ctx) {
		if err := w.untilDone(ctx, "screening", w.screen); err != nil {
			return err
		}
	}
	if len(w.parcels) == 0 {
		// Ops skipped the pick (packed by hand): one parcel of the order's weight.
		w.parcels = []logistics.Parcel{{WeightGrams: w.order.WeightGrams()}}
	}
	for i, parcel := range w.parcels {
		number := i + 1
		err := w.untilDone(ctx, "booking", func(ctx workflow.Context) error {
			sh, err := w.book(ctx, number, parcel)
			if err == nil {
				w.shipments = append(w.shipments, sh)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	// Every booking skipped by ops: nothing to follow. Stuck, not failed:
	// ops cancel the order, or skip again once it shipped outside Crossdock.
	if err := w.untilDone(ctx, "booking", func(workflow.Context) error {
		if len(w.shipments) == 0 {
			return temporal.NewNonRetryableApplicationError("every parcel was skipped by ops; nothing to follow", "NothingShipped", nil)
		}
		return nil
	}); err != nil || len(w.shipments) == 0 {
		return err
	}
	// Version 1 prints the paper of channels without APIs and hands
	// batch-only carriers their parcels on the end-of-day manifest; runs
	// that started before it booked every carrier by API.
	if sinceVersion(ctx, w.together, "paper-and-manifests") {
		if err := w.untilDone(ctx, "booking", w.handover); err != nil {
			return err
		}
	}
	return workflow.UpsertTypedSearchAttributes(ctx, saCarrier.ValueSet(w.shipments[0].Carrier))
}

func (w *orderWorkflow) book(ctx workflow.Context, number int, parcel logistics.Parcel) (logistics.Shipment, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, localOptions)
	if err := workflow.ExecuteLocalActivity(lctx, activities.NamePlanChannels, activities.PlanChannelsInput{
		Order: w.order, Parcels: []logistics.Parcel{parcel}}).Get(ctx, &w.plan); err != nil {
		return logistics.Shipment{}, err
	}
	// ops.switch_carrier: try the carrier ops chose first, keep the rest in rank order.
	options := append(w.plan.Options[:0:0], w.plan.Options...)
	sort.SliceStable(options, func(i, j int) bool {
		return options[i].Channel.Carrier == w.preferred && options[j].Channel.Carrier != w.preferred
	})
	wfID := logistics.ShipmentWorkflowID(w.order.MerchantID, w.order.OrderID, number)
	var refusals []string
	for _, opt := range options {
		actx := workflow.WithActivityOptions(ctx, w.carrierOptions())
		var sh logistics.Shipment
		err := workflow.ExecuteActivity(actx, activities.NameBookShipment, activities.BookShipmentInput{
			IdempotencyKey: wfID + "/" + opt.Channel.Carrier + "/" + opt.Channel.Service,
			WorkflowID:     wfID, Order: w.order, Number: number, Origin: w.origin, Parcel: parcel,
			Channel: opt.Channel, Customs: w.customs,
		}).Get(ctx, &sh)
		var appErr *temporal.ApplicationError
		// A refusal, or a carrier whose circuit breaker is open: try the
		// next-best channel. (Replay-safe without a version: histories from
		// before CarrierUnavailable existed never hold one.)
		if errors.As(err, &appErr) && (appErr.Type() == activities.ErrTypeCarrierRefused ||
			appErr.Type() == activities.ErrTypeCarrierUnavailable) {
			refusals = append(refusals, opt.Channel.Carrier+": "+appErr.Message())
			continue
		}
		if err != nil {
			return logistics.Shipment{}, err
		}
		w.channels[number] = opt.Channel
		return sh, w.startShipment(ctx, wfID, sh, opt.Channel)
	}
	return logistics.Shipment{}, temporal.NewNonRetryableApplicationError(
		"every eligible channel refused: "+strings.Join(refusals, "; "), "AllRefused", nil)
}

// handover does what a channel's gaps need once its parcels are booked:
// Crossdock prints labels and postal customs forms (CN22/CN23) where the
// carrier has no label API or customs go on paper, files the import entry
// with the carrier's broker where customs clear through one, books a
// collection where the carrier collects on request, and puts
// batch-only carriers' parcels on the manifest of the channel's next
// cut-off, waits for it and submits the manifest. Every step is idempotent,
// so a retry after ops unstick the order repeats nothing. A cancellation
// that arrives while the manifest waits is handled once it has gone (the
// parcel is then with the courier; the saga asks ops, as for any carrier
// that can neither void nor intercept).
func (w *orderWorkflow) handover(ctx workflow.Context) error {
	sctx := workflow.WithActivityOptions(ctx, storeOptions)
	type manifestKey struct{ carrier, day string }
	var manifests []manifestKey
	var submitAt time.Time
	var pickupCarriers []string
	pickups := map[string][]logistics.Shipment{}
	for _, sh := range w.shipments {
		ch := w.channels[sh.Number]
		if ch.Capabilities.Pickup {
			if !slices.Contains(pickupCarriers, sh.Carrier) {
				pickupCarriers = append(pickupCarriers, sh.Carrier)
			}
			pickups[sh.Carrier] = append(pickups[sh.Carrier], sh)
		}
		if activities.NeedsPaper(ch, w.customs) {
			if err := workflow.ExecuteActivity(sctx, activities.NamePrintDocuments, activities.PrintDocumentsInput{
				Order: w.order, Origin: w.origin, Shipment: sh, Channel: ch, Customs: w.customs, Date: workflow.Now(ctx),
			}).Get(ctx, nil); err != nil {
				return err
			}
		}
		if ch.Capabilities.Customs == logistics.CustomsBroker {
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, w.carrierOptions()), activities.NameFileCustoms,
				activities.FileCustomsEntryInput{Order: w.order, Shipment: sh, Customs: w.customs}).Get(ctx, nil); err != nil {
				return err
			}
		}
		if ch.Capabilities.Label != logistics.LabelBatchManifest {
			continue
		}
		var m activities.AddToManifestResult
		if err := workflow.ExecuteActivity(sctx, activities.NameAddToManifest, activities.AddToManifestInput{
			Order: w.order, Shipment: sh, Channel: ch, At: workflow.Now(ctx),
		}).Get(ctx, &m); err != nil {
			return err
		}
		if k := (manifestKey{sh.Carrier, m.Day}); !slices.Contains(manifests, k) {
			manifests = append(manifests, k)
		}
		if m.SubmitAt.After(submitAt) {
			submitAt = m.SubmitAt
		}
	}
	// One collection per carrier for the order's parcels (slice, not the
	// map, for a deterministic order).
	for _, carrier := range pickupCarriers {
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, w.carrierOptions()), activities.NameSchedulePickup,
			activities.SchedulePickupInput{Reference: w.id + "/" + carrier, Carrier: carrier, Origin: w.origin,
				Shipments: pickups[carrier], ReadyAt: workflow.Now(ctx)}).Get(ctx, nil); err != nil {
			return err
		}
	}
	if len(manifests) == 0 {
		return nil
	}
	if wait := submitAt.Sub(workflow.Now(ctx)); wait > 0 {
		w.waitFor(ctx, "the carrier's cut-off at "+submitAt.UTC().Format(time.RFC3339)+" to send the end-of-day manifest")
		if err := workflow.Sleep(ctx, wait); err != nil {
			return err
		}
		w.waitFor(ctx, "")
	}
	for _, k := range manifests {
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, w.carrierOptions()), activities.NameSubmitManifest,
			activities.SubmitManifestInput{Carrier: k.carrier, Day: k.day}).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// carrierOptions are the booking retry policy, bounded by the worker's
// settings where they say so.
func (w *orderWorkflow) carrierOptions() workflow.ActivityOptions {
	opts := carrierOptions
	policy := *opts.RetryPolicy
	if w.settings.CarrierAttempts > 0 {
		policy.MaximumAttempts = w.settings.CarrierAttempts
	}
	if w.settings.CarrierMaxInterval > 0 {
		policy.MaximumInterval = w.settings.CarrierMaxInterval
		policy.InitialInterval = min(policy.InitialInterval, w.settings.CarrierMaxInterval)
	}
	opts.RetryPolicy = &policy
	return opts
}

func (w *orderWorkflow) startShipment(ctx workflow.Context, wfID string, sh logistics.Shipment, ch logistics.Channel) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: wfID,
		StaticSummary: fmt.Sprintf("shipment %d of order %s · %s %s · lane %s", sh.Number, sh.OrderID, sh.Carrier,
			sh.TrackingNumber, logistics.Lane(sh.Origin, sh.Destination)),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			saMerchant.ValueSet(sh.MerchantID), saCarrier.ValueSet(sh.Carrier),
			saLane.ValueSet(logistics.Lane(sh.Origin, sh.Destination))),
	})
	fut := workflow.ExecuteChildWorkflow(cctx, ShipmentWorkflow, ShipmentInput{
		ParentWorkflowID: w.id, Shipment: sh, Channel: ch, PollInterval: w.settings.PollInterval, Version: 1})
	if err := fut.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return fmt.Errorf("start shipment workflow %s: %w", wfID, err)
	}
	w.progress[sh.Number] = ShipmentProgress{Number: sh.Number, Carrier: sh.Carrier,
		TrackingNumber: sh.TrackingNumber, Status: sh.Status, Phase: sh.Phase}
	workflow.Go(ctx, func(ctx workflow.Context) {
		var res ShipmentResult
		if err := fut.Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Error("shipment workflow failed", "workflow_id", wfID, "error", err)
			res = ShipmentResult{Status: logistics.StatusException, Failed: true, Reason: err.Error()}
		}
		p := w.progress[sh.Number]
		p.Status, p.Phase = res.Status, res.Phase
		w.progress[sh.Number] = p
		w.finished[sh.Number] = true
		if res.Failed {
			w.stuckReason = "shipment " + wfID + " failed: " + res.Reason
		}
		w.changed = true
	})
	return nil
}

// following mirrors the shipments' progress into the order's stage until
// every shipment has finished.
func (w *orderWorkflow) following(ctx workflow.Context) error {
	// Version 1 ends an order cancelled or returned when its shipments do;
	// runs that started before it keep the earlier rule.
	stageOf := w.shipmentStage
	if !sinceVersion(ctx, w.together, "terminal-shipment-stages") {
		stageOf = w.shipmentStageV0
	}
	// Version 1 of "shipment-watch" raises SLA and customs-hold alerts.
	watching := sinceVersion(ctx, w.together, "shipment-watch")
	w.waitFor(ctx, fmt.Sprintf("tracking of %d shipment(s) to delivery", len(w.shipments)))
	var next time.Time
	// From version 1 of "parallel-projection" one timer serves every wait
	// for the same deadline: a shipment's progress that leaves the next
	// SLA deadline where it was starts no new timer. From version 2 a
	// pending timer also serves a later deadline: scans that push the
	// deadline on (most do) start no timer, and none is left behind to
	// wake the order for nothing when it fires. The timer then fires
	// early, the check finds nothing due yet and the next one is armed. A
	// timer that an earlier deadline replaces is cancelled.
	var deadline workflow.Future
	var deadlineAt time.Time
	cancelDeadline := func() {}
	rearm := func() bool {
		if w.tidyTimers {
			return deadline == nil || deadline.IsReady() || next.Before(deadlineAt)
		}
		return deadline == nil || !next.Equal(deadlineAt)
	}
	for {
		wake := func() bool { return w.changed || w.pendingAfterDispatch() || (watching && len(w.ops) > 0) }
		switch {
		case !watching || next.IsZero():
			if err := workflow.Await(ctx, wake); err != nil {
				return err
			}
		case w.together:
			if rearm() {
				tctx := ctx
				if w.tidyTimers {
					cancelDeadline() // nothing to cancel once it has fired
					tctx, cancelDeadline = workflow.WithCancel(ctx)
				}
				deadline = workflow.NewTimerWithOptions(tctx, next.Sub(workflow.Now(ctx)), workflow.TimerOptions{Summary: "next SLA check"})
				deadlineAt = next
			}
			if err := workflow.Await(ctx, func() bool { return wake() || deadline.IsReady() }); err != nil {
				return err
			}
		default:
			if _, err := workflow.AwaitWithTimeout(ctx, next.Sub(workflow.Now(ctx)), wake); err != nil {
				return err
			}
		}
		w.changed = false
		if watching && len(w.ops) > 0 {
			// While shipments travel, ops acknowledge an escalated alert.
			// Version 1 keeps the reasons the acknowledgement is not
			// about (a cancellation that still needs ops); runs from
			// before it cleared every reason.
			w.ops = nil
			ack := w.clearStuck
			if sinceVersion(ctx, w.together, "acknowledge-keeps-other-reasons") {
				ack = w.acknowledge
			}
			if err := ack(ctx); err != nil {
				return err
			}
		}
		if watching {
			var err error
			if next, err = w.watchShipments(ctx); err != nil {
				return err
			}
		}
		if w.cancel != nil && !w.cancelHandled {
			w.cancelHandled = true
			if err := w.cancelDispatched(ctx); err != nil {
				return err
			}
		}
		if len(w.addresses) > 0 {
			if err := w.redirect(ctx); err != nil {
				return err
			}
		}
		stage, done := stageOf()
		if stage != w.stage {
			if err := w.enter(ctx, stage); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// shipmentStage is the order's stage from its shipments, and whether every
// shipment has finished. While some travel, it is the least advanced stage
// among them; once all have finished: returned if any came back, delivered
// if any arrived, cancelled if every label was voided, failed otherwise.
func (w *orderWorkflow) shipmentStage() (logistics.Stage, bool) {
	least, done := logistics.Stage(""), true
	count := map[logistics.Stage]int{}
	for _, sh := range w.shipments {
		p := w.progress[sh.Number]
		s := logistics.StageFor(p.Status, p.Phase)
		count[s]++
		if !w.finished[sh.Number] {
			done = false
		}
		if !s.Terminal() && (least == "" || stageIndex(s) < stageIndex(least)) {
			least = s
		}
	}
	if !done {
		if least == "" {
			least = w.stage // all at a terminal status, some still closing
		}
		return least, false
	}
	switch {
	case count[logistics.StageReturned] > 0:
		return logistics.StageReturned, true
	case count[logistics.StageDelivered] > 0:
		return logistics.StageDelivered, true
	case count[logistics.StageCancelled] == len(w.shipments):
		return logistics.StageCancelled, true
	}
	return logistics.StageFailed, true
}

// shipmentStageV0 is shipmentStage before version 1 of
// "terminal-shipment-stages": the least advanced stage in contract order,
// which read a voided or returned shipment as delivered.
func (w *orderWorkflow) shipmentStageV0() (logistics.Stage, bool) {
	least, done := logistics.StageDelivered, true
	for _, sh := range w.shipments {
		p := w.progress[sh.Number]
		s := logistics.StageFor(p.Status, p.Phase)
		if !w.finished[sh.Number] {
			done = false
		}
		if stageIndex(s) < stageIndex(least) {
			least = s
		}
	}
	if done && !least.Terminal() {
		least = logistics.StageFailed
	}
	return least, done
}

func stageIndex(s logistics.Stage) int {
	for i, x := range logistics.Stages {
		if x == s {
			return i
		}
	}
	return len(logistics.Stages)
}

// applyAddressUpdates applies held address changes before dispatch and
// reports whether the destination country changed (customs must be decided
// again).
func (w *orderWorkflow) applyAddressUpdates(ctx workflow.Context) bool {
	changed := false
	for _, u := range w.addresses {
		if u.ShipTo.Country != w.order.ShipTo.Country {
			changed = true
		}
		w.order.ShipTo = u.ShipTo
		workflow.GetLogger(ctx).Info("address updated", "order_id", w.order.OrderID, "country", u.ShipTo.Country)
	}
	w.addresses = nil
	return changed
}

// awaitWithTimeout is workflow.AwaitWithTimeout that, from version 2 of
// "parallel-projection", starts no timer when condition already holds and
// cancels its timer once it does. Left pending, the timer would fire at
// the timeout (a pick's is two days) and wake the order for nothing;
// cancelled in the workflow task that started it, it never reaches the
// history at all.
func (w *orderWorkflow) awaitWithTimeout(ctx workflow.Context, timeout time.Duration, condition func() bool) (bool, error) {
	if !w.tidyTimers {
		return workflow.AwaitWithTimeout(ctx, timeout, condition)
	}
	if condition() {
		return true, nil
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimerWithOptions(tctx, timeout, workflow.TimerOptions{Summary: "AwaitWithTimeout"})
	if err := workflow.Await(ctx, func() bool { return condition() || timer.IsReady() }); err != nil {
		return false, err
	}
	return condition(), nil
}

// untilDone runs step; when it fails for good the order is marked stuck and
// waits for ops: retry runs the step again, skip moves on, cancel cancels.
func (w *orderWorkflow) untilDone(ctx workflow.Context, what string, step func(workflow.Context) error) error {
	return w.untilDoneOr(ctx, what, nil, step)
}

// untilDoneOr is untilDone where settled, if not nil, also ends the wait
// for ops: the step runs again as if ops had sent ops.retry.
func (w *orderWorkflow) untilDoneOr(ctx workflow.Context, what string, settled func() bool, step func(workflow.Context) error) error {
	for {
		if w.cancel != nil {
			return errCancelled
		}
		err := step(ctx)
		if err == nil || errors.Is(err, errCancelled) {
			return err
		}
		if err := w.markStuck(ctx, what+": "+failureMessage(err)); err != nil {
			return err
		}
		w.waitFor(ctx, "ops: ops.retry, ops.skip, ops.cancel or ops.switch_carrier")
		if err := workflow.Await(ctx, func() bool {
			return len(w.ops) > 0 || w.cancel != nil || (settled != nil && settled())
		}); err != nil {
			return err
		}
		if w.cancel != nil {
			return errCancelled
		}
		if len(w.ops) == 0 {
			workflow.GetLogger(ctx).Info("stuck stage settled by itself", "order_id", w.order.OrderID, "stage", string(w.stage))
			if err := w.clearStuck(ctx); err != nil {
				return err
			}
			continue
		}
		op := w.ops[0]
		w.ops = w.ops[1:]
		workflow.GetLogger(ctx).Info("ops action", "signal", op.name, "actor", op.action.Actor, "note", op.action.Note)
		if err := w.clearStuck(ctx); err != nil {
			return err
		}
		if op.name == logistics.SignalOpsSkip {
			return nil
		}
	}
}

func failureMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

func (w *orderWorkflow) markStuck(ctx workflow.Context, reason string) error {
	workflow.GetLogger(ctx).Warn("order stuck", "order_id", w.order.OrderID, "reason", reason)
	w.stuck, w.stuckReason, w.actionRequired = true, reason, true
	w.openReason(reason)
	if err := workflow.UpsertTypedSearchAttributes(ctx, saStuck.ValueSet(true), saStuckReason.ValueSet(reason),
		saActionRequired.ValueSet(true)); err != nil {
		return err
	}
	w.details(ctx)
	return w.projectAndEmit(ctx, activities.EventActionRequired, w.actionRequiredData(reason))
}

// acknowledge settles what made the order stuck (ops answered it) and
// keeps any other reason that still needs ops: the order stays
// action_required with the latest of them.
func (w *orderWorkflow) acknowledge(ctx workflow.Context) error {
	w.reasons = slices.DeleteFunc(w.reasons, func(r string) bool { return r == w.stuckReason })
	if len(w.reasons) == 0 {
		return w.clearStuck(ctx)
	}
	return w.showReasons(ctx)
}

// dropReason settles one reason (an alert whose cause went away) and shows
// what is left; with nothing left the order is clear.
func (w *orderWorkflow) dropReason(ctx workflow.Context, reason string) error {
	w.reasons = slices.DeleteFunc(w.reasons, func(r string) bool { return r == reason })
	if len(w.reasons) == 0 {
		return w.clearStuck(ctx)
	}
	return w.showReasons(ctx)
}

// showReasons shows the latest open reason, not stuck: the order moves on
// but needs ops.
func (w *orderWorkflow) showReasons(ctx workflow.Context) error {
	w.stuck, w.stuckReason, w.actionRequired = false, w.reasons[len(w.reasons)-1], true
	if err := workflow.UpsertTypedSearchAttributes(ctx, saStuck.ValueSet(false), saStuckReason.ValueSet(w.stuckReason),
		saActionRequired.ValueSet(true)); err != nil {
		return err
	}
	w.details(ctx)
	return w.project(ctx)
}

// openReason records a reason that needs ops until settled.
func (w *orderWorkflow) openReason(reason string) {
	if !slices.Contains(w.reasons, reason) {
		w.reasons = append(w.reasons, reason)
	}
}

func (w *orderWorkflow) clearStuck(ctx workflow.Context) error {
	w.reasons = nil
	w.stuck, w.stuckReason, w.actionRequired = false, "", false
	if err := workflow.UpsertTypedSearchAttributes(ctx, saStuck.ValueSet(false), saStuckReason.ValueSet(""),
		saActionRequired.ValueSet(false)); err != nil {
		return err
	}
	w.details(ctx)
	return w.project(ctx)
}

// enter moves the order to stage: search attributes, UI details, projection.
func (w *orderWorkflow) enter(ctx workflow.Context, stage logistics.Stage) error {
	return w.enterWith(ctx, stage)
}

// enterWith is enter with more search attributes set by the same upsert.
func (w *orderWorkflow) enterWith(ctx workflow.Context, stage logistics.Stage, more ...temporal.SearchAttributeUpdate) error {
	w.stage = stage
	if stage.Terminal() || stageIndex(stage) <= stageIndex(logistics.StageBooking) {
		w.waitingFor = "" // a new step says what it waits for; an ended order waits for nothing
	}
	workflow.GetLogger(ctx).Info("order stage", "order_id", w.order.OrderID, "stage", string(stage))
	if err := workflow.UpsertTypedSearchAttributes(ctx, append(more, saMerchant.ValueSet(w.order.MerchantID),
		saStage.ValueSet(string(stage)))...); err != nil {
		return err
	}
	w.details(ctx)
	return w.projectAndEmit(ctx, activities.EventStageChanged, map[string]any{"stage": stage, "workflow_id": w.id})
}

// projectAndEmit writes the projection with the next version and appends
// the event that goes with it to the outbox. From version 1 of
// "parallel-projection" both run at once and one workflow task takes both
// results: the projection's version guards its row against late writes,
// the event's id names that version, and notify/sender delivers outbox
// events on its own, so neither needs the other to finish first. The
// workflow still waits for both before it moves on.
func (w *orderWorkflow) projectAndEmit(ctx workflow.Context, eventType string, data map[string]any) error {
	if !w.together {
		if err := w.project(ctx); err != nil {
			return err
		}
		return w.emit(ctx, eventType, data)
	}
	projected := w.projectAsync(ctx)
	emitted := w.emitAsync(ctx, eventType, data)
	err := projected.Get(ctx, nil)
	if emitted != nil {
		if emitErr := emitted.Get(ctx, nil); err == nil {
			err = emitErr
		}
	}
	return err
}

// emit appends an event for the merchant to the outbox; its id names the
// projection version it goes with, so a retried emit appends once.
func (w *orderWorkflow) emit(ctx workflow.Context, eventType string, data map[string]any) error {
	if f := w.emitAsync(ctx, eventType, data); f != nil {
		return f.Get(ctx, nil)
	}
	return nil
}

// emitAsync starts emit; it returns nil when the run emits nothing.
func (w *orderWorkflow) emitAsync(ctx workflow.Context, eventType string, data map[string]any) workflow.Future {
	if !w.emits {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, storeOptions)
	return workflow.ExecuteActivity(actx, activities.NameEmitEvent, activities.EmitEventInput{
		ID: fmt.Sprintf("%s/v%d/%s", w.id, w.version, eventType), MerchantID: w.order.MerchantID, OrderID: w.order.OrderID,
		Type: eventType, Data: data, OccurredAt: workflow.Now(ctx)})
}

// actionRequiredData is the action_required event: the order needs
// someone, and why.
func (w *orderWorkflow) actionRequiredData(reason string) map[string]any {
	return map[string]any{"stage": w.stage, "reason": reason, "stuck": w.stuck}
}

// waitFor records what the order waits for, for the status query and the
// Temporal UI's details card.
func (w *orderWorkflow) waitFor(ctx workflow.Context, what string) {
	w.waitingFor = what
	w.details(ctx)
}

func (w *orderWorkflow) details(ctx workflow.Context) {
	d := "**Stage:** " + string(w.stage)
	if w.waitingFor != "" {
		d += "\n\n**Waiting for:** " + w.waitingFor
	}
	switch {
	case w.stuck && w.inReview:
		d += "\n\n**Compliance review:** " + w.stuckReason +
			"\n\nSend `ops.compliance_clear` (false positive: ship) or `ops.compliance_confirm` (do not ship) with " +
			"`{\"actor\": \"you@example.com\", \"note\": \"why\"}`."
	case w.stuck:
		d += "\n\n**Stuck:** " + w.stuckReason + "\n\nSend `ops.retry`, `ops.skip`, `ops.cancel` or `ops.switch_carrier` (`{\"carrier\": \"...\"}`)."
	}
	workflow.SetCurrentDetails(ctx, d)
}

// project writes the order projection with the next version.
func (w *orderWorkflow) project(ctx workflow.Context) error {
	return w.projectAsync(ctx).Get(ctx, nil)
}

// projectAsync starts project.
func (w *orderWorkflow) projectAsync(ctx workflow.Context) workflow.Future {
	w.version++
	actx := workflow.WithActivityOptions(ctx, storeOptions)
	return workflow.ExecuteActivity(actx, activities.NameProjectOrder, activities.ProjectOrderInput{
		WorkflowID: w.id, Order: w.order, Stage: w.stage, Stuck: w.stuck, StuckReason: w.stuckReason,
		ActionRequired: w.actionRequired, Version: w.version, At: workflow.Now(ctx),
	})
}
