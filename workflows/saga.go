package workflows

// Sagas of the order workflow: what cancelling or redirecting an order
// undoes, depending on how far it got.

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/logistics"
)

// pendingAfterDispatch reports a cancel or address change that came after
// the parcels left the warehouse and is not handled yet.
func (w *orderWorkflow) pendingAfterDispatch() bool {
	return (w.cancel != nil && !w.cancelHandled) || len(w.addresses) > 0
}

// cancelDispatched is the cancellation saga once labels exist: void each
// unfinished shipment's label within the channel's void window, else ask the
// carrier to intercept it (it comes back and the order ends returned), else
// leave it to ops with the reasons.
func (w *orderWorkflow) cancelDispatched(ctx workflow.Context) error {
	var unresolved []string
	for _, sh := range w.shipments {
		if w.finished[sh.Number] {
			continue
		}
		target := activities.VoidLabelInput{Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber}
		voidErr := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, w.carrierOptions()), activities.NameVoidLabel, target).Get(ctx, nil)
		if voidErr == nil {
			if err := w.markShipmentCancelled(ctx, sh); err != nil {
				return err
			}
			continue
		}
		interceptErr := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, w.carrierOptions()), activities.NameIntercept,
			activities.InterceptInput{Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber}).Get(ctx, nil)
		if interceptErr == nil {
			workflow.GetLogger(ctx).Info("shipment intercepted; it returns to the shipper", "tracking_number", sh.TrackingNumber)
			continue
		}
		unresolved = append(unresolved, fmt.Sprintf("%s %s: void: %s; intercept: %s", sh.Carrier, sh.TrackingNumber,
			failureMessage(voidErr), failureMessage(interceptErr)))
	}
	if len(unresolved) > 0 {
		return w.requireAction(ctx, "cancellation after dispatch needs ops ("+w.cancel.Reason+"): "+strings.Join(unresolved, "; "))
	}
	return nil
}

// markShipmentCancelled tells a shipment workflow its label was voided: a
// cancelled scan in its timeline ends it.
func (w *orderWorkflow) markShipmentCancelled(ctx workflow.Context, sh logistics.Shipment) error {
	p := w.progress[sh.Number]
	e := logistics.TrackingEvent{Status: logistics.StatusCancelled, Phase: p.Phase, Substatus: "cancelled.label_voided",
		Reason: "order cancelled: " + w.cancel.Reason, ResponsibleParty: logistics.PartyShipper, OccurredAt: workflow.Now(ctx),
		Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, RawCode: "CROSSDOCK_VOID",
		RawDescription: "label voided by Crossdock", Source: logistics.SourceManual}
	childID := logistics.ShipmentWorkflowID(sh.MerchantID, sh.OrderID, sh.Number)
	err := workflow.SignalExternalWorkflow(ctx, childID, "", logistics.SignalTrackingEvent,
		logistics.TrackingUpdate{WebhookID: "void:" + sh.TrackingNumber, Events: []logistics.TrackingEvent{e}}).Get(ctx, nil)
	if err != nil {
		// The shipment workflow ended meanwhile: there is nobody left to
		// tell, and the order must not fail for it.
		workflow.GetLogger(ctx).Warn("voided shipment's workflow already ended", "workflow_id", childID, "error", err)
	}
	return nil
}

// redirect is the address-change saga in transit: within the same country
// each unfinished shipment is redirected through its carrier where the
// channel allows; anything else is left to ops with the reasons.
func (w *orderWorkflow) redirect(ctx workflow.Context) error {
	u := w.addresses[len(w.addresses)-1]
	w.addresses = nil
	if u.ShipTo.Country != w.order.ShipTo.Country {
		return w.requireAction(ctx, "address change to "+u.ShipTo.Country+" after dispatch: the parcel has cleared for "+
			w.order.ShipTo.Country+"; it needs ops")
	}
	var unresolved []string
	for _, sh := range w.shipments {
		if w.finished[sh.Number] {
			continue
		}
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, w.carrierOptions()), activities.NameChangeAddress,
			activities.ChangeAddressInput{Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, ShipTo: u.ShipTo}).Get(ctx, nil)
		if err != nil {
			unresolved = append(unresolved, sh.Carrier+" "+sh.TrackingNumber+": "+failureMessage(err))
		}
	}
	if len(unresolved) > 0 {
		return w.requireAction(ctx, "address change after dispatch needs ops: "+strings.Join(unresolved, "; "))
	}
	w.order.ShipTo = u.ShipTo
	workflow.GetLogger(ctx).Info("shipment redirected", "order_id", w.order.OrderID, "city", u.ShipTo.City)
	return w.project(ctx)
}

// requireAction records something only ops can settle, without stopping
// the order: it keeps following its shipments.
func (w *orderWorkflow) requireAction(ctx workflow.Context, reason string) error {
	w.actionRequired = true
	w.stuckReason = reason
	w.openReason(reason)
	if err := workflow.UpsertTypedSearchAttributes(ctx, saActionRequired.ValueSet(true), saStuckReason.ValueSet(reason)); err != nil {
		return err
	}
	return w.projectAndEmit(ctx, activities.EventActionRequired, w.actionRequiredData(reason))
}

// compensate runs an undo step of a saga; when it fails for good the order
// is stuck for ops, who retry it (ops.retry) or settle it by hand
// (ops.skip). A cancel does not interrupt it: it is part of one.
func (w *orderWorkflow) compensate(ctx workflow.Context, what string, step func(workflow.Context) error) error {
	for {
		err := step(ctx)
		if err == nil {
			return nil
		}
		if err := w.markStuck(ctx, what+": "+failureMessage(err)); err != nil {
			return err
		}
		w.waitFor(ctx, "ops: ops.retry (try the undo again) or ops.skip (settled by hand)")
		if err := workflow.Await(ctx, func() bool { return len(w.ops) > 0 }); err != nil {
			return err
		}
		op := w.ops[0]
		w.ops = w.ops[1:]
		if err := w.clearStuck(ctx); err != nil {
			return err
		}
		if op.name == logistics.SignalOpsSkip {
			workflow.GetLogger(ctx).Info("compensation settled by ops", "what", what, "actor", op.action.Actor)
			return nil
		}
	}
}

func (w *orderWorkflow) finishCancelled(ctx workflow.Context) error {
	if w.pickKey != "" && len(w.shipments) == 0 {
		// Picked or being picked: the warehouse puts the stock back.
		err := w.compensate(ctx, "cancel: release the pick at "+w.order.WarehouseID, func(ctx workflow.Context) error {
			actx := workflow.WithActivityOptions(ctx, warehouseOptions)
			return workflow.ExecuteActivity(actx, activities.NameReleasePick, activities.ReleasePickInput{
				Order: w.order, IdempotencyKey: w.pickKey}).Get(ctx, nil)
		})
		if err != nil {
			return err
		}
	}
	w.stuck, w.actionRequired = false, false
	w.stuckReason = "cancelled: " + w.cancel.Reason
	if err := workflow.UpsertTypedSearchAttributes(ctx, saStuck.ValueSet(false), saActionRequired.ValueSet(false)); err != nil {
		return err
	}
	return w.enter(ctx, logistics.StageCancelled)
}
