package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// The carriers' side of compensation: voiding a label, redirecting and
// intercepting a parcel in transit. Each route answers 200 with the
// parcel's state when done (or already done: they are idempotent), 422
// with code "unsupported" when the parcel's channel does not offer the
// operation, and 422 with another code when the carrier refuses it.

// opFunc changes sh under s.mu and returns the refusal code and message,
// or "" when done.
type opFunc func(sh *shipment, caps logistics.Capabilities, now time.Time) (code, message string)

// shipmentOp finds the parcel of the route's tracking number and applies op
// to it under s.mu, then answers.
func (s *Server) shipmentOp(w http.ResponseWriter, r *http.Request, carrier string, op opFunc) {
	number := r.PathValue("number")
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "unavailable", "sandbox shutting down", nil)
		return
	}
	sh, ok := s.byNumber[carrier+"|"+number]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "not_found", "unknown tracking number", nil)
		return
	}
	code, message := op(sh, capabilities(sh.carrier, sh.service), s.now())
	answer := operationResponse{Carrier: sh.carrier, TrackingNumber: sh.number, State: sh.state(), ShipTo: sh.to}
	s.mu.Unlock()
	if code != "" {
		writeError(w, http.StatusUnprocessableEntity, code, message, nil)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// void handles POST /carriers/{carrier}/shipments/{number}/void: the label
// is cancelled and the journey stops (no more scans, pushed or polled) as
// long as the void window is open and the carrier has not yet taken the
// parcel on its way (the profile's voidCutoff scan).
func (s *Server) void(w http.ResponseWriter, r *http.Request, carrier string) {
	s.shipmentOp(w, r, carrier, func(sh *shipment, caps logistics.Capabilities, now time.Time) (string, string) {
		state := sh.state()
		switch {
		case !canVoid(caps):
			return codeUnsupported, fmt.Sprintf("%s service %s does not void labels", sh.carrier, sh.service)
		case state == stateVoided:
			return "", ""
		case state == stateReturning || state == stateReturned:
			return "returning", "the parcel was intercepted and is returning to the shipper"
		case sh.scanned(profiles[sh.carrier].voidCutoff) || state == stateCompleted || state == stateOutForDelivery:
			return "already_collected", fmt.Sprintf("%s already has the parcel on its way (%s scanned)", sh.carrier, profiles[sh.carrier].voidCutoff)
		case now.After(sh.bookedAt.Add(s.scale(caps.VoidWindow))):
			return "void_window_closed", fmt.Sprintf("%s voids labels up to %s after booking", sh.carrier, caps.VoidWindow)
		}
		s.stop(sh)
		sh.voided = true
		if sh.held != nil { // a scan held back by reorder_webhooks happened before the void
			s.push(sh, *sh.held)
			sh.held = nil
		}
		if p := sh.partner; p != nil {
			s.stop(p)
			p.voided = true
		}
		s.log.Info("sandbox label voided", "carrier", sh.carrier, "tracking_number", sh.number)
		return "", ""
	})
}

// changeAddress handles POST /carriers/{carrier}/shipments/{number}/address:
// the parcel is redirected within its destination country and every later
// scan at the destination shows the new city.
func (s *Server) changeAddress(w http.ResponseWriter, r *http.Request, carrier string) {
	var req addressRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid address change: "+err.Error(), nil)
		return
	}
	if err := req.ShipTo.Validate("ship_to"); err != nil {
		var details []logistics.FieldProblem
		if le := (*logistics.Error)(nil); errors.As(err, &le) {
			details = le.Details
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the new address is invalid", details)
		return
	}
	s.shipmentOp(w, r, carrier, func(sh *shipment, caps logistics.Capabilities, _ time.Time) (string, string) {
		if !canChangeAddress(caps) {
			return codeUnsupported, fmt.Sprintf("%s service %s does not change addresses in transit", sh.carrier, sh.service)
		}
		if code, message := refuseInTransitChange(sh); code != "" {
			return code, message
		}
		if req.ShipTo.Country != sh.to.Country {
			return "country_change", fmt.Sprintf("%s redirects within %s only", sh.carrier, sh.to.Country)
		}
		sh.to = req.ShipTo
		if p := sh.partner; p != nil {
			p.to = req.ShipTo
		}
		s.log.Info("sandbox parcel redirected", "carrier", sh.carrier, "tracking_number", sh.number, "city", req.ShipTo.City)
		return "", ""
	})
}

// intercept handles POST /carriers/{carrier}/shipments/{number}/intercept:
// the journey switches to the carrier's return journey, from where the
// parcel was last scanned back to the shipper.
func (s *Server) intercept(w http.ResponseWriter, r *http.Request, carrier string) {
	s.shipmentOp(w, r, carrier, func(sh *shipment, caps logistics.Capabilities, now time.Time) (string, string) {
		if !caps.Intercept {
			return codeUnsupported, sh.carrier + " does not intercept parcels"
		}
		if sh.returning {
			return "", ""
		}
		if code, message := refuseInTransitChange(sh); code != "" {
			return code, message
		}
		s.stop(sh)
		sh.returning, sh.onHold = true, false
		s.start(sh, now, profiles[sh.carrier].returnJourney)
		s.log.Info("sandbox parcel intercepted", "carrier", sh.carrier, "tracking_number", sh.number)
		return "", ""
	})
}

// refuseInTransitChange returns the refusal of a redirect or an intercept
// for a parcel that is not in the carrier's hands on its way to the
// consignee, or "".
func refuseInTransitChange(sh *shipment) (code, message string) {
	switch sh.state() {
	case stateVoided:
		return "voided", "the label was voided"
	case stateReturning, stateReturned:
		return "returning", "the parcel was intercepted and is returning to the shipper"
	case stateAwaitingHandover:
		return "not_in_custody", sh.carrier + " has not received the parcel from the line-haul carrier yet"
	case stateOutForDelivery:
		return "out_for_delivery", "the parcel is already out for delivery"
	case stateCompleted:
		return "completed", sh.carrier + " has finished with the parcel (delivered, handed over or returned)"
	}
	return "", ""
}
