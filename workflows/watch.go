package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/logistics"
)

// substatusCustomsHold marks a tracking event for a parcel customs hold.
const substatusCustomsHold = "exception.customs_hold"

// watch holds what the order workflow watches while its shipments travel:
// when each shipment last moved, customs holds, and the alerts raised, so
// each alert is raised once and cleared when the cause goes away.
type watch struct {
	since     map[int]time.Time // when each shipment's status or phase last changed
	holdSince map[int]time.Time // shipments on a customs hold, since when
	reminded  map[int]int       // reminders sent per hold
	documents *logistics.OpsAction
	alert     string // the alert currently shown (action_required)
	escalated bool
}

func newWatch() *watch {
	return &watch{since: map[int]time.Time{}, holdSince: map[int]time.Time{}, reminded: map[int]int{}}
}

// observe records a shipment's progress at now.
func (wt *watch) observe(p ShipmentProgress, now time.Time) {
	wt.since[p.Number] = now
	if p.Substatus == substatusCustomsHold {
		if _, ok := wt.holdSince[p.Number]; !ok {
			wt.holdSince[p.Number] = now
		}
		return
	}
	delete(wt.holdSince, p.Number)
	delete(wt.reminded, p.Number)
}

// check evaluates the SLAs and customs holds at now. It returns the alert to
// show ("" when nothing is wrong), whether it must escalate to stuck, and
// when to look again (zero: nothing to wait for).
func (w *orderWorkflow) check(now time.Time) (alert string, escalate bool, next time.Time) {
	sla := w.settings.ForLane(logistics.Lane(w.origin.Country, w.order.ShipTo.Country))
	var alerts []string
	soonest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, sh := range w.shipments {
		if w.finished[sh.Number] {
			continue
		}
		p := w.progress[sh.Number]
		since, ok := w.watch.since[sh.Number]
		if !ok {
			continue
		}
		if hold, on := w.watch.holdSince[sh.Number]; on {
			msg := fmt.Sprintf("customs hold on %s %s since %s", sh.Carrier, sh.TrackingNumber, hold.UTC().Format(time.RFC3339))
			if w.watch.documents != nil {
				msg += "; documents provided by " + w.watch.documents.Actor + ", waiting for customs"
			} else {
				msg += ": send customs.documents_provided once the documents are with the carrier"
			}
			if sla.HoldEscalation > 0 && w.watch.documents == nil {
				if !now.Before(hold.Add(sla.HoldEscalation)) {
					escalate = true
					msg += " (unresolved for " + sla.HoldEscalation.String() + ")"
				} else {
					soonest(hold.Add(sla.HoldEscalation))
				}
			}
			if sla.HoldReminder > 0 && w.watch.documents == nil {
				n := int(now.Sub(hold) / sla.HoldReminder)
				w.watch.reminded[sh.Number] = n
				if n > 0 {
					msg += fmt.Sprintf(" (reminder %d)", n)
				}
				soonest(hold.Add(time.Duration(n+1) * sla.HoldReminder))
			}
			alerts = append(alerts, msg)
			continue
		}
		var limit time.Duration
		var what string
		switch {
		case p.Status == logistics.StatusAvailableForPickup:
			limit, what = sla.PickupWait, "waiting at a pickup point"
		case p.Phase == logistics.PhaseImportCustoms:
			limit, what = sla.ImportCustoms, "in import customs"
		case p.Status == logistics.StatusPickedUp || p.Status == logistics.StatusInTransit:
			limit, what = sla.NoMovement, "without tracking progress"
		}
		if limit <= 0 {
			continue
		}
		if !now.Before(since.Add(limit)) {
			alerts = append(alerts, fmt.Sprintf("%s %s %s for over %s", sh.Carrier, sh.TrackingNumber, what, limit))
		} else {
			soonest(since.Add(limit))
		}
	}
	return strings.Join(alerts, "; "), escalate, next
}

// watchShipments raises, refreshes or clears the order's alert after a
// change or a deadline: action_required with the reason, stuck when a
// customs hold goes unresolved too long.
func (w *orderWorkflow) watchShipments(ctx workflow.Context) (time.Time, error) {
	alert, escalate, next := w.check(workflow.Now(ctx))
	switch {
	case escalate && !w.watch.escalated:
		w.reasons = slices.DeleteFunc(w.reasons, func(r string) bool { return r == w.watch.alert })
		w.watch.escalated, w.watch.alert = true, alert
		return next, w.markStuck(ctx, alert)
	case alert != "" && alert != w.watch.alert:
		// A refreshed alert (a reminder) replaces the one it refreshes.
		w.reasons = slices.DeleteFunc(w.reasons, func(r string) bool { return r == w.watch.alert })
		w.watch.alert = alert
		workflow.GetLogger(ctx).Warn("order needs attention", "order_id", w.order.OrderID, "alert", alert)
		return next, w.requireAction(ctx, alert)
	case alert == "" && w.watch.alert != "":
		settled := w.watch.alert
		ours := w.stuckReason == settled
		w.watch.alert, w.watch.escalated, w.watch.documents = "", false, nil
		if !ours {
			// Something else (a saga step) set its own reason since: it
			// stays until ops settle it.
			w.reasons = slices.DeleteFunc(w.reasons, func(r string) bool { return r == settled })
			return next, nil
		}
		return next, w.dropReason(ctx, settled)
	}
	return next, nil
}
