package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// pickupWindow is how long after the parcels are ready a sandbox driver
// comes, and for how long (real time; scaled by the speed-up).
const (
	pickupLead   = time.Hour
	pickupLength = 3 * time.Hour
)

// schedulePickup handles POST /carriers/{carrier}/pickups: a collection
// from the shipper's address for the given parcels, idempotent on the
// request's reference. Carriers without a pickup channel answer
// "unsupported"; parcels the carrier does not know, "unknown_parcel".
func (s *Server) schedulePickup(w http.ResponseWriter, r *http.Request, carrier string) {
	if !anyChannel(carrier, func(c logistics.Capabilities) bool { return c.Pickup }) {
		writeError(w, http.StatusUnprocessableEntity, codeUnsupported, carrier+" does not collect on request", nil)
		return
	}
	var req carriers.PickupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a pickup request: "+err.Error(), nil)
		return
	}
	var problems []logistics.FieldProblem
	if strings.TrimSpace(req.Reference) == "" {
		problems = append(problems, logistics.FieldProblem{Field: "reference", Problem: "is required"})
	}
	if !countryPattern.MatchString(req.Address.Country) || strings.TrimSpace(req.Address.Line1) == "" {
		problems = append(problems, logistics.FieldProblem{Field: "address", Problem: "needs a street line and a country"})
	}
	if len(req.TrackingNumbers) == 0 {
		problems = append(problems, logistics.FieldProblem{Field: "tracking_numbers", Problem: "must list the parcels"})
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the pickup request is invalid", problems)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := carrier + "|" + req.Reference
	if p, ok := s.pickups[key]; ok {
		writeJSON(w, http.StatusOK, p)
		return
	}
	for _, tn := range req.TrackingNumbers {
		if s.byNumber[carrier+"|"+tn] == nil {
			writeError(w, http.StatusUnprocessableEntity, "unknown_parcel", fmt.Sprintf("%s has no parcel %s", carrier, tn), nil)
			return
		}
	}
	ready := req.ReadyAt
	if now := s.now(); ready.Before(now) {
		ready = now
	}
	p := carriers.Pickup{Confirmation: fmt.Sprintf("PU%s", digits(8)),
		WindowStart: ready.Add(s.scale(pickupLead)), WindowEnd: ready.Add(s.scale(pickupLead + pickupLength))}
	s.pickups[key] = p
	s.log.Info("sandbox pickup scheduled", "carrier", carrier, "confirmation", p.Confirmation, "parcels", len(req.TrackingNumbers))
	writeJSON(w, http.StatusCreated, p)
}
