package workflows

// Compliance review of denied-party matches in the order workflow.

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/logistics"
)

// deniedPartyReason prefixes the customs engine's block reason for a
// consignee on the denied-party list.
const deniedPartyReason = "denied_party_match:"

// deniedPartyOnly reports whether every block reason is a denied-party
// match, which is ops' compliance call rather than a data problem.
func (w *orderWorkflow) deniedPartyOnly() bool {
	for _, r := range w.customs.BlockReasons {
		if !strings.HasPrefix(r, deniedPartyReason) {
			return false
		}
	}
	return len(w.customs.BlockReasons) > 0
}

// applyComplianceClearances drops matches ops already cleared for this
// order, so a re-screen (after an address change) does not ask again.
func (w *orderWorkflow) applyComplianceClearances() {
	if len(w.cleared) == 0 {
		return
	}
	kept := w.customs.BlockReasons[:0:0]
	for _, r := range w.customs.BlockReasons {
		if w.cleared[r] {
			w.customs.Warnings = append(w.customs.Warnings, "cleared_by_compliance_review: "+strings.TrimPrefix(r, deniedPartyReason+" "))
			continue
		}
		kept = append(kept, r)
	}
	w.customs.BlockReasons = kept
	w.customs.Blocked = len(kept) > 0
}

// complianceReview holds the order until ops clear the denied-party match
// (the order continues) or confirm it (the order is cancelled).
func (w *orderWorkflow) complianceReview(ctx workflow.Context) error {
	w.review = nil
	w.inReview = true
	defer func() { w.inReview = false }()
	if err := w.markStuck(ctx, "compliance review: "+strings.Join(w.customs.BlockReasons, "; ")); err != nil {
		return err
	}
	w.waitFor(ctx, "compliance review: ops.compliance_clear or ops.compliance_confirm")
	if err := workflow.Await(ctx, func() bool { return w.review != nil || w.cancel != nil }); err != nil {
		return err
	}
	if w.cancel != nil {
		return errCancelled
	}
	review := *w.review
	workflow.GetLogger(ctx).Info("compliance review", "order_id", w.order.OrderID, "signal", review.name,
		"actor", review.action.Actor, "note", review.action.Note)
	if review.name == logistics.SignalComplianceConfirm {
		w.cancel = &logistics.OrderCancelled{Reason: strings.TrimSpace("compliance: denied party confirmed by " +
			review.action.Actor + " " + review.action.Note)}
		return errCancelled
	}
	for _, r := range w.customs.BlockReasons {
		w.cleared[r] = true
	}
	w.applyComplianceClearances()
	if err := w.clearStuck(ctx); err != nil {
		return err
	}
	return w.saveCustoms(ctx)
}
