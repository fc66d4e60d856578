package sandbox

import (
	"slices"
	"strings"
	"time"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// shipment is one parcel as a sandbox carrier knows it. Every field is
// guarded by Server.mu.
type shipment struct {
	carrier, service, number string
	from, to                 logistics.Address
	resp                     shipmentResponse
	// key, merchantID and orderID are the booking's, for the admin view
	// (empty for a partner's parcel, which the consolidator booked).
	key, merchantID, orderID string
	// replays counts bookings answered from this one (same idempotency key).
	replays int
	// partner is the last-mile partner's parcel a consolidator hands over to.
	partner *shipment

	bookedAt time.Time
	script   []step
	next     int       // index of the next step to play
	due      time.Time // when the next step plays
	gen      int       // bumped when the journey stops or changes; stale timers see it and do nothing
	onHold   bool      // a customs hold scan was emitted for the current step
	// entryFiled: the shipper filed the import entry with the carrier's
	// broker; awaitingEntry: the parcel is parked at import customs until
	// it is.
	entryFiled, awaitingEntry bool
	attempts                  int  // failed delivery attempts so far
	lastMile                  bool // the parcel has gone out for delivery
	voided                    bool // the label was voided: the journey stopped
	// returning: the parcel was intercepted and plays the return journey.
	returning bool
	held      *wireEvent
	// lastPush is closed when the parcel's latest queued push is settled.
	lastPush chan struct{}
	events   []wireEvent
}

// newShipment registers a parcel under number, or under a fresh tracking
// number when number is "".
func (s *Server) newShipment(carrier, service string, req carriers.BookRequest, number string) *shipment {
	p := profiles[carrier]
	if number == "" {
		number = p.newNumber()
		for s.byNumber[carrier+"|"+number] != nil {
			number = p.newNumber()
		}
	}
	sh := &shipment{carrier: carrier, service: service, number: number, from: req.ShipFrom, to: req.ShipTo, bookedAt: s.now()}
	s.byNumber[carrier+"|"+number] = sh
	return sh
}

// view is the carrier's tracking answer for sh (a copy, safe to encode
// after the lock is released).
func (sh *shipment) view() trackingResponse {
	return trackingResponse{Carrier: sh.carrier, TrackingNumber: sh.number,
		OriginCountry: sh.from.Country, DestinationCountry: sh.to.Country,
		Events: append([]wireEvent{}, sh.events...)}
}

// Shipment states as the compensation routes report and check them.
const (
	stateAwaitingHandover = "awaiting_handover" // a partner's parcel not yet handed over
	stateInTransit        = "in_transit"
	stateOutForDelivery   = "out_for_delivery"
	stateCompleted        = "completed" // delivered, handed over or returned
	stateVoided           = "voided"
	stateReturning        = "returning"
	stateReturned         = "returned"
)

// state says where sh stands for void, address change and intercept.
func (sh *shipment) state() string {
	done := len(sh.script) > 0 && sh.next >= len(sh.script)
	switch {
	case sh.voided:
		return stateVoided
	case sh.returning && done:
		return stateReturned
	case sh.returning:
		return stateReturning
	case len(sh.script) == 0:
		return stateAwaitingHandover
	case done:
		return stateCompleted
	case sh.lastMile:
		return stateOutForDelivery
	}
	return stateInTransit
}

// scanned reports whether the carrier has emitted code for sh.
func (sh *shipment) scanned(code string) bool {
	return slices.ContainsFunc(sh.events, func(ev wireEvent) bool { return ev.Code == code })
}

// stop halts sh's journey: its timer is stopped and a timer that already
// fired and waits for the lock finds the generation changed. Callers hold
// s.mu.
func (s *Server) stop(sh *shipment) {
	if t, ok := s.timers[sh]; ok {
		t.Stop()
		delete(s.timers, sh)
	}
	sh.gen++
}

// scale turns a real-world duration into sandbox time.
func (s *Server) scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speedup)
}

// journeyLength is the real-world offset of a script's last step.
func journeyLength(script []step) time.Duration {
	if len(script) == 0 {
		return 0
	}
	return script[len(script)-1].after
}

// start plays script for sh from base. Callers hold s.mu.
func (s *Server) start(sh *shipment, base time.Time, script []step) {
	if len(script) == 0 {
		return
	}
	sh.script, sh.next = script, 0
	sh.due = base.Add(s.scale(script[0].after))
	s.schedule(sh)
}

// schedule arms the timer for sh's next step. Callers hold s.mu.
func (s *Server) schedule(sh *shipment) {
	if s.closed {
		return
	}
	gen := sh.gen
	s.timers[sh] = time.AfterFunc(time.Until(sh.due), func() { s.fire(sh, gen) })
}

// resumeHeld moves parcels held by a customs_hold fault on with their
// journey now that the fault is cleared (carrier "" means every carrier),
// instead of at the end the fault was set for.
func (s *Server) resumeHeld(carrier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for sh, t := range s.timers {
		if !sh.onHold || (carrier != "" && sh.carrier != carrier) || !sh.due.After(now) {
			continue
		}
		t.Stop()
		sh.due = now
		s.schedule(sh)
	}
}

// fire plays sh's next step, bending the script where a fault says so:
// stall postpones it, customs_hold holds the parcel at import customs until
// the fault ends, failed_attempt fails delivery (three times sends it back).
// gen is the journey generation the timer was armed for; a voided or
// intercepted journey has moved on and the step is not played.
func (s *Server) fire(sh *shipment, gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || gen != sh.gen || sh.next >= len(sh.script) {
		return
	}
	delete(s.timers, sh)
	now := s.now()
	st := sh.script[sh.next]
	p := profiles[sh.carrier]

	if end, ok := s.faults.until(sh.carrier, FaultStall); ok {
		sh.due = end
		s.schedule(sh)
		return
	}
	if st.kind == stepImportCustoms && p.holdCode != "" {
		if end, ok := s.faults.until(sh.carrier, FaultCustomsHold); ok {
			if !sh.onHold {
				s.emit(sh, p.holdCode, st.at, now, false)
				sh.onHold = true
			}
			sh.due = end
			s.schedule(sh)
			return
		}
	}
	if st.kind == stepImportCustoms && needsEntry(sh) && !sh.entryFiled {
		// The broker clears nothing without the importer's entry: the
		// parcel waits at import customs (no timer) until it is filed.
		if !sh.onHold {
			s.emit(sh, p.holdCode, st.at, now, false)
			sh.onHold = true
		}
		sh.awaitingEntry = true
		return
	}
	if st.kind == stepDelivered && p.attemptCode != "" && s.faults.is(sh.carrier, FaultFailedAttempt) {
		sh.attempts++
		if sh.attempts >= maxAttempts {
			s.emit(sh, p.attemptCode, st.at, now, false)
			s.emit(sh, p.returnCode, st.at, now.Add(time.Millisecond), true)
			sh.next = len(sh.script)
			return
		}
		s.emit(sh, p.attemptCode, st.at, now, false)
		sh.next = slices.IndexFunc(sh.script, func(x step) bool { return x.kind == stepOutForDelivery })
		if sh.next < 0 {
			sh.next = len(sh.script) - 1
		}
		sh.due = now.Add(s.scale(reattemptAfter))
		s.schedule(sh)
		return
	}

	sh.onHold = false
	if st.kind == stepOutForDelivery || st.kind == stepDelivered {
		sh.lastMile = true
	}
	sh.next++
	last := sh.next >= len(sh.script)
	s.emit(sh, st.code, st.at, now, last)
	if st.kind == stepHandover && sh.partner != nil {
		s.start(sh.partner, now, profiles[sh.partner.carrier].partnerJourney)
	}
	if last {
		return
	}
	sh.due = sh.due.Add(s.scale(sh.script[sh.next].after - st.after))
	s.schedule(sh)
}

// emit records a scan and, for push carriers, sends it. Under the
// reorder_webhooks fault a scan is held back and sent after the next one;
// final flushes whatever is held. Callers hold s.mu.
func (s *Server) emit(sh *shipment, code string, at place, now time.Time, final bool) {
	loc := logistics.Location{City: sh.from.City, Country: sh.from.Country}
	switch {
	case at == atDestination:
		loc = logistics.Location{City: sh.to.City, Country: sh.to.Country}
	case at == atLastScan && len(sh.events) > 0:
		loc = sh.events[len(sh.events)-1].Location
	}
	ev := wireEvent{Code: code, Description: profiles[sh.carrier].codes[code], OccurredAt: now, Location: loc}
	sh.events = append(sh.events, ev)
	if trackingMode(sh.carrier) != logistics.TrackingPush {
		return
	}
	if !final && sh.held == nil && s.faults.is(sh.carrier, FaultReorderWebhooks) {
		sh.held = &ev
		return
	}
	s.push(sh, ev)
	if sh.held != nil {
		s.push(sh, *sh.held)
		sh.held = nil
	}
}

// sortRows orders CSV rows by tracking number, keeping each parcel's
// scans in the order they happened.
func sortRows(rows [][]string) {
	slices.SortStableFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
}

// now is the network's clock, in UTC.
func (s *Server) now() time.Time { return time.Now().UTC() }
