package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/logistics"
)

// continueAsNewAfter keeps a shipment's history far below Temporal's 10,240
// event limit however long the parcel travels.
const continueAsNewAfter = 2000

// continueAsNewAt is continueAsNewAfter from version 1 of "batch-tracking":
// the run hands over early enough that the scans arriving while it stores
// its last batch still fit within 2,000 events, and hands them over too.
const continueAsNewAt = 1500

// ShipmentInput starts (or continues) a shipment workflow.
type ShipmentInput struct {
	ParentWorkflowID string             `json:"parent_workflow_id"`
	Shipment         logistics.Shipment `json:"shipment"`
	Channel          logistics.Channel  `json:"channel"`
	PollInterval     time.Duration      `json:"poll_interval"`
	// Version is the last projection version written for this shipment.
	Version int64 `json:"version"`
	// LastEventAt is the time of the newest event applied so far.
	LastEventAt time.Time `json:"last_event_at"`
	// Pending are tracking updates the previous run received but did not
	// handle before it continued as new; this run handles them first.
	Pending []logistics.TrackingUpdate `json:"pending,omitempty"`
}

// ShipmentResult is how a shipment ended.
type ShipmentResult struct {
	Status logistics.Status `json:"status"`
	Phase  logistics.Phase  `json:"phase"`
	Failed bool             `json:"failed"`
	Reason string           `json:"reason"`
}

// silencePolls is how many poll intervals a push channel may stay silent
// before its carrier is polled for the scans it did not push.
const silencePolls = 4

type shipmentWorkflow struct {
	in       ShipmentInput
	id       string
	pending  []logistics.TrackingUpdate
	failures int  // consecutive failed polls, for back-off
	emits    bool // status changes go to the outbox (workflow version)
	// together: a status change's projection and event are written side
	// by side (workflow version "parallel-projection").
	together bool
	// backstop: a push channel is polled after silence and once more when
	// the parcel's journey ends (workflow version), so lost or late pushes
	// still reach the timeline.
	backstop bool
	// batched: every update received together is stored by one activity,
	// and a run continues as new at continueAsNewAt, handing its pending
	// updates over (workflow version "batch-tracking").
	batched bool
	// skipStored: updates the API stored already are not stored again
	// (workflow version "stored-handoffs", asked once: askedStored).
	skipStored, askedStored bool
}

// ShipmentWorkflow follows one parcel's tracking until it ends: by push
// (tracking.event signals), by polling where the channel has no push, or by
// manual scans (signals) where the channel has no tracking at all. Every
// event is stored; only status and phase changes reach the projection and
// the order workflow.
func ShipmentWorkflow(ctx workflow.Context, in ShipmentInput) (ShipmentResult, error) {
	w := &shipmentWorkflow{in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID}
	return w.run(ctx)
}

func (w *shipmentWorkflow) run(ctx workflow.Context) (ShipmentResult, error) {
	// Version 1 of "parallel-projection" also stands for the changes
	// before it: one marker instead of one per change (see sinceVersion).
	w.together = workflow.GetVersion(ctx, changeParallelProjection, workflow.DefaultVersion, 1) == 1
	w.emits = sinceVersion(ctx, w.together, "outbound-events")
	w.backstop = sinceVersion(ctx, w.together, "push-backstop-polls")
	w.batched = sinceVersion(ctx, w.together, "batch-tracking")
	w.pending, w.in.Pending = w.in.Pending, nil
	ch := workflow.GetSignalChannelWithOptions(ctx, logistics.SignalTrackingEvent, workflow.SignalChannelOptions{
		Description: `Tracking events for this shipment (the API sends carrier pushes here; ops may send manual scans). ` +
			`Input: {"events": [{"status": "in_transit", "phase": "line_haul", "occurred_at": "2026-11-25T06:00:00Z", ` +
			`"tracking_number": "...", "carrier": "...", "raw_code": "MANUAL", "source": "manual"}]}`})
	sh := &w.in.Shipment
	poll := func() bool { return w.in.Channel.Capabilities.Tracking == logistics.TrackingPoll }
	// A push channel whose carrier also answers polls (the poll activity
	// says when it does not, and the channel is then followed by pushes
	// alone) is polled when it stays silent.
	backstop := func() bool { return w.backstop && w.in.Channel.Capabilities.Tracking == logistics.TrackingPush }
	for !sh.Status.Terminal() {
		if poll() {
			if err := w.poll(ctx); err != nil {
				return ShipmentResult{}, err
			}
		}
		if sh.Status.Terminal() {
			break
		}
		if len(w.pending) == 0 {
			tctx, cancelTimer := workflow.WithCancel(ctx)
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
				var u logistics.TrackingUpdate
				c.Receive(ctx, &u)
				w.pending = append(w.pending, u.Split()...)
			})
			silent := false
			switch {
			case poll():
				sel.AddFuture(workflow.NewTimer(tctx, w.pollInterval()), func(workflow.Future) {})
			case backstop():
				sel.AddFuture(workflow.NewTimer(tctx, silencePolls*w.pollInterval()), func(workflow.Future) { silent = true })
			}
			sel.Select(ctx)
			cancelTimer()
			if silent {
				// Pushes may have been lost: ask the carrier what it has.
				if err := w.poll(ctx); err != nil {
					return ShipmentResult{}, err
				}
			}
		}
		w.drain(ch)
		if w.batched {
			if err := w.recordBatch(ctx); err != nil {
				return ShipmentResult{}, err
			}
		}
		for len(w.pending) > 0 {
			u := w.pending[0]
			w.pending = w.pending[1:]
			if err := w.record(ctx, u.Events); err != nil {
				return ShipmentResult{}, err
			}
		}
		if w.batched && !sh.Status.Terminal() && workflow.GetInfo(ctx).GetCurrentHistoryLength() > continueAsNewAt {
			// Scans that came in while the last ones were being stored
			// are stored now; any that arrive meanwhile go to the next
			// run, which handles them first (under a steady stream of
			// scans there would never be a moment with none).
			if w.drain(ch); len(w.pending) > 0 {
				if err := w.recordBatch(ctx); err != nil {
					return ShipmentResult{}, err
				}
				w.drain(ch)
			}
			w.in.Pending = w.pending
			return ShipmentResult{}, workflow.NewContinueAsNewError(ctx, ShipmentWorkflow, w.in)
		}
		if !sh.Status.Terminal() && workflow.GetInfo(ctx).GetCurrentHistoryLength() > continueAsNewAfter {
			// Scans that came in while the last ones were being stored
			// are handled first: a new run must not start without them.
			if w.drain(ch); len(w.pending) == 0 {
				return ShipmentResult{}, workflow.NewContinueAsNewError(ctx, ShipmentWorkflow, w.in)
			}
		}
	}
	if backstop() {
		// The last pushes may still be on their way, or lost, or come
		// after the final one (a carrier's queue reordered them): this
		// run ends, so fetch every scan now and let the store keep the
		// ones the timeline lacks.
		w.reconcile(ctx)
	}
	return ShipmentResult{Status: sh.Status, Phase: sh.Phase}, nil
}

// reconcile polls the carrier once to store every scan it made; the status
// has ended, so nothing else changes. A failure is logged: the parcel's
// journey is over either way.
func (w *shipmentWorkflow) reconcile(ctx workflow.Context) {
	sh := w.in.Shipment
	actx := workflow.WithActivityOptions(ctx, pollOptions)
	err := workflow.ExecuteActivity(actx, activities.NamePollTracking, activities.PollTrackingInput{
		MerchantID: sh.MerchantID, OrderID: sh.OrderID, Number: sh.Number,
		Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Legs: sh.Legs}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("final tracking poll failed; pushed scans only in the timeline",
			"tracking_number", sh.TrackingNumber, "error", err)
	}
}

// drain takes every tracking update already delivered, without blocking.
func (w *shipmentWorkflow) drain(ch workflow.ReceiveChannel) {
	for {
		var u logistics.TrackingUpdate
		if !ch.ReceiveAsync(&u) {
			return
		}
		w.pending = append(w.pending, u.Split()...)
	}
}

// poll asks the carrier for news. A carrier that stays down is logged and
// asked again at the next interval; the SLA timers of the order escalate.
func (w *shipmentWorkflow) poll(ctx workflow.Context) error {
	sh := w.in.Shipment
	actx := workflow.WithActivityOptions(ctx, pollOptions)
	var res activities.PollTrackingResult
	err := workflow.ExecuteActivity(actx, activities.NamePollTracking, activities.PollTrackingInput{
		MerchantID: sh.MerchantID, OrderID: sh.OrderID, Number: sh.Number,
		Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Legs: sh.Legs}).Get(ctx, &res)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		// No leg can ever be polled: follow pushes and manual scans only.
		workflow.GetLogger(ctx).Error("tracking cannot be polled; waiting for pushes and manual scans",
			"tracking_number", sh.TrackingNumber, "error", err)
		w.in.Channel.Capabilities.Tracking = logistics.TrackingNone
		return nil
	}
	if err != nil {
		w.failures++
		workflow.GetLogger(ctx).Warn("tracking poll failed; will poll again", "tracking_number", sh.TrackingNumber,
			"failures", w.failures, "next_poll_in", w.pollInterval().String(), "error", err)
		return nil
	}
	w.failures = 0
	return w.apply(ctx, res.Events)
}

// pollInterval adapts the pause between polls: scans are sparse during line
// haul and frequent near delivery, failed polls back off (up to 16 times),
// and the channel's rate limit is a floor.
func (w *shipmentWorkflow) pollInterval() time.Duration {
	d := w.in.PollInterval
	switch w.in.Shipment.Phase {
	case logistics.PhaseLineHaul:
		d *= 2
	case logistics.PhaseLastMile:
		d /= 2
	}
	d <<= min(w.failures, 4)
	if perMinute := w.in.Channel.Capabilities.RateLimitPerMinute; perMinute > 0 {
		d = max(d, time.Minute/time.Duration(perMinute))
	}
	return max(d, time.Second)
}

// record stores pushed events, then applies them.
func (w *shipmentWorkflow) record(ctx workflow.Context, events []logistics.TrackingEvent) error {
	if len(events) == 0 {
		return nil
	}
	sh := w.in.Shipment
	actx := workflow.WithActivityOptions(ctx, storeOptions)
	if err := workflow.ExecuteActivity(actx, activities.NameRecordTracking, activities.RecordTrackingInput{
		MerchantID: sh.MerchantID, OrderID: sh.OrderID, Number: sh.Number, Events: events}).Get(ctx, nil); err != nil {
		return err
	}
	return w.apply(ctx, events)
}

// recordBatch stores the events of every pending update with one activity,
// then applies each update in turn, so status changes are published exactly
// as when each update was recorded on its own.
func (w *shipmentWorkflow) recordBatch(ctx workflow.Context) error {
	batch := w.pending
	w.pending = nil
	var events []logistics.TrackingEvent
	for _, u := range batch {
		if u.Stored && w.storedByAPI(ctx) {
			continue // in the timeline since the API accepted it
		}
		events = append(events, u.Events...)
	}
	if len(events) > 0 {
		sh := w.in.Shipment
		actx := workflow.WithActivityOptions(ctx, storeOptions)
		if err := workflow.ExecuteActivity(actx, activities.NameRecordTracking, activities.RecordTrackingInput{
			MerchantID: sh.MerchantID, OrderID: sh.OrderID, Number: sh.Number, Events: events}).Get(ctx, nil); err != nil {
			return err
		}
	}
	for _, u := range batch {
		if err := w.apply(ctx, u.Events); err != nil {
			return err
		}
	}
	return nil
}

// storedByAPI reports whether this run trusts TrackingUpdate.Stored
// (workflow version "stored-handoffs"). Runs recorded before it stored every
// update, flagged or not, and still do on replay.
func (w *shipmentWorkflow) storedByAPI(ctx workflow.Context) bool {
	if !w.askedStored {
		w.skipStored = workflow.GetVersion(ctx, changeStoredHandoffs, workflow.DefaultVersion, 1) == 1
		w.askedStored = true
	}
	return w.skipStored
}

// apply moves the shipment forward through the events, oldest first, using
// the forward-only state machine, and publishes a change once.
func (w *shipmentWorkflow) apply(ctx workflow.Context, events []logistics.TrackingEvent) error {
	sorted := append([]logistics.TrackingEvent(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].OccurredAt.Before(sorted[j].OccurredAt) })
	sh := &w.in.Shipment
	before := *sh
	var cause logistics.TrackingEvent // the event behind the latest change
	for _, e := range sorted {
		status, changed := logistics.Advance(sh.Status, e.Status)
		if changed {
			sh.Status = status
			cause = e
		}
		// The phase follows the newest event that did not move backwards.
		if e.Phase.Valid() && (changed || e.Status == sh.Status) && !e.OccurredAt.Before(w.in.LastEventAt) &&
			phaseIndex(e.Phase) >= phaseIndex(sh.Phase) {
			sh.Phase = e.Phase
		}
		if e.OccurredAt.After(w.in.LastEventAt) {
			w.in.LastEventAt = e.OccurredAt
		}
		for i := range sh.Legs {
			if sh.Legs[i].TrackingNumber == e.TrackingNumber {
				if st, ok := logistics.Advance(sh.Legs[i].Status, e.Status); ok {
					sh.Legs[i].Status = st
				}
			}
		}
	}
	if sh.Status == before.Status && sh.Phase == before.Phase {
		return nil
	}
	sh.UpdatedAt = workflow.Now(ctx)
	w.in.Version++
	actx := workflow.WithActivityOptions(ctx, storeOptions)
	projected := workflow.ExecuteActivity(actx, activities.NameProjectShipment, activities.ProjectShipmentInput{
		WorkflowID: w.id, Shipment: *sh, Version: w.in.Version})
	if !w.together {
		// Runs from before "parallel-projection": the event after the write.
		if err := projected.Get(ctx, nil); err != nil {
			return err
		}
	}
	if w.emits && sh.Status != before.Status {
		data := map[string]any{"shipment_number": sh.Number, "carrier": sh.Carrier,
			"tracking_number": sh.TrackingNumber, "status": sh.Status, "previous_status": before.Status,
			"phase": sh.Phase, "substatus": cause.Substatus, "reason": cause.Reason}
		if err := workflow.ExecuteActivity(actx, activities.NameEmitEvent, activities.EmitEventInput{
			ID: fmt.Sprintf("%s/v%d/%s", w.id, w.in.Version, activities.EventStatusChanged), MerchantID: sh.MerchantID,
			OrderID: sh.OrderID, Type: activities.EventStatusChanged, Data: data, OccurredAt: workflow.Now(ctx)}).Get(ctx, nil); err != nil {
			return err
		}
	}
	// The projection is written before the order hears of the change.
	if err := projected.Get(ctx, nil); err != nil {
		return err
	}
	return workflow.SignalExternalWorkflow(ctx, w.in.ParentWorkflowID, "", signalShipmentProgress, ShipmentProgress{
		Number: sh.Number, Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Status: sh.Status, Phase: sh.Phase,
		Substatus: cause.Substatus, Reason: cause.Reason,
	}).Get(ctx, nil)
}

func phaseIndex(p logistics.Phase) int {
	for i, x := range logistics.Phases {
		if x == p {
			return i
		}
	}
	return -1
}
