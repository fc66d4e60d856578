package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// trackingAccepted answers a carrier webhook: events handed to their
// shipments, and events ignored because their shipment has finished.
// Unknown numbers and shipments not yet running are refused instead (503,
// unrecorded), so the carrier's retry delivers them later.
type trackingAccepted struct {
	Accepted int `json:"accepted"`
	Ignored  int `json:"ignored"`
}

// warehouseAccepted answers a warehouse webhook.
type warehouseAccepted struct {
	OrderID    string `json:"order_id"`
	MerchantID string `json:"merchant_id"`
	WorkflowID string `json:"workflow_id"`
	Accepted   bool   `json:"accepted"`
}

// Bounds of the parcels a warehouse reports. They guard the planner's
// arithmetic against absurd values; real parcels are far inside them.
const (
	maxParcels        = 500
	maxParcelGrams    = 1_000_000 // a tonne
	maxParcelLengthMM = 100_000   // 100 m
)

// parcelProblems checks a warehouse's parcels: each weighs something and has
// no negative or absurd size.
func parcelProblems(parcels []logistics.Parcel) []logistics.FieldProblem {
	if len(parcels) > maxParcels {
		return []logistics.FieldProblem{{Field: "parcels", Problem: fmt.Sprintf("must hold at most %d parcels", maxParcels)}}
	}
	var p []logistics.FieldProblem
	for i, pc := range parcels {
		at := fmt.Sprintf("parcels[%d].", i)
		if pc.WeightGrams < 1 || pc.WeightGrams > maxParcelGrams {
			p = append(p, logistics.FieldProblem{Field: at + "weight_grams", Problem: fmt.Sprintf("must be from 1 to %d", maxParcelGrams)})
		}
		for _, d := range []struct {
			name string
			mm   int
		}{{"length_mm", pc.LengthMM}, {"width_mm", pc.WidthMM}, {"height_mm", pc.HeightMM}} {
			if d.mm < 0 || d.mm > maxParcelLengthMM {
				p = append(p, logistics.FieldProblem{Field: at + d.name, Problem: fmt.Sprintf("must be from 0 to %d", maxParcelLengthMM)})
			}
		}
	}
	return p
}

// truncateText cuts s to at most n bytes on a rune boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// carrierWebhook handles POST /v1/webhooks/carriers/:carrier: the carrier's
// adapter verifies and normalises the push; each tracking number's events go
// to the workflow that owns the number.
func (s *Server) carrierWebhook(c *gin.Context) {
	ctx := c.Request.Context()
	code := c.Param("carrier")
	carrier, ok := s.cfg.Carriers.Get(code)
	if !ok {
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "unknown carrier %q", code))
		return
	}
	parser, ok := carrier.(carriers.WebhookParser)
	if !ok {
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "carrier %q does not push webhooks", code))
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	webhookID, events, err := parser.ParseWebhook(c.Request.Header, body)
	switch {
	case errors.Is(err, carriers.ErrBadSignature):
		s.log(c).Warn("carrier webhook rejected", "carrier", code, "reason", err.Error())
		s.fail(c, logistics.Errorf(logistics.CodeUnauthorized, "the webhook signature does not verify"))
		return
	case err != nil:
		s.log(c).Warn("carrier webhook unreadable", "carrier", code, "error", err)
		s.fail(c, invalid("the webhook is invalid", "body", "could not be parsed as a "+code+" tracking webhook"))
		return
	case webhookID == "":
		s.fail(c, invalid("the webhook is invalid", "webhook-id", "is required"))
		return
	case checkWebhookID(webhookID) != nil:
		s.fail(c, checkWebhookID(webhookID))
		return
	}
	source := carrierSource(code)
	log := s.log(c).With("carrier", code, "webhook_id", webhookID)

	var numbers []string
	byNumber := map[string][]logistics.TrackingEvent{}
	for _, e := range events {
		if e.TrackingNumber == "" {
			log.Warn("carrier event without tracking number dropped", "raw_code", e.RawCode)
			continue
		}
		if len(e.TrackingNumber) > maxTrackingLength || !logistics.ValidText(e.TrackingNumber) {
			// No shipment can own it, so retrying cannot help: dropped like
			// an event without a number rather than refused for ever.
			log.Warn("carrier event with an impossible tracking number dropped", "tracking_number_bytes", len(e.TrackingNumber))
			continue
		}
		if _, seen := byNumber[e.TrackingNumber]; !seen {
			numbers = append(numbers, e.TrackingNumber)
		}
		byNumber[e.TrackingNumber] = append(byNumber[e.TrackingNumber], e)
	}
	// Resolve every number before accepting any, so a refused webhook has
	// had no effect and its redelivery starts afresh. A redelivery of an
	// accepted webhook resolves the same numbers and gets the first answer
	// from AcceptTracking.
	refs, err := s.routeCache.resolve(ctx, s.cfg.Store, numbers)
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	var unknown []string
	for _, tn := range numbers {
		// Not ours, or not booked yet: a carrier may push its first scan
		// before the booking that made the number is recorded. A number
		// issued by another carrier is treated the same, so one carrier's
		// secret never writes into another carrier's shipment.
		if ref, ok := refs[tn]; !ok || ref.Carrier != "" && ref.Carrier != code {
			unknown = append(unknown, tn)
		}
	}
	if len(unknown) > 0 {
		log.Warn("tracking events for unknown tracking numbers; carrier asked to retry", "tracking_numbers", unknown)
		s.fail(c, &logistics.Error{Code: logistics.CodeUnavailable, Message: "unknown tracking number; retry later if it was just booked",
			Details: []logistics.FieldProblem{{Field: "tracking_number", Problem: "unknown to Crossdock for this carrier: " + strings.Join(unknown, ", ")}}})
		return
	}
	var answer trackingAccepted
	acceptance := store.TrackingAcceptance{Record: store.WebhookRecord{Source: source, ID: webhookID, EventType: logistics.SignalTrackingEvent}}
	for _, tn := range numbers {
		ref := refs[tn]
		if ref.Status.Terminal() {
			// A late or repeated scan of a finished shipment: nothing can
			// change, so acknowledge it rather than have the carrier retry.
			log.Info("scan for a finished shipment ignored", "tracking_number", tn, "status", string(ref.Status))
			answer.Ignored += len(byNumber[tn])
			continue
		}
		acceptance.Shipments = append(acceptance.Shipments, store.AcceptedShipment{Ref: ref, TrackingNumber: tn, Events: byNumber[tn]})
		answer.Accepted += len(byNumber[tn])
	}
	if s.acceptTracking(c, acceptance, answer) {
		log.Info("carrier webhook accepted", "events", answer.Accepted)
	}
}

// warehouseWebhook handles POST /v1/webhooks/warehouses/:warehouse_id: the
// warehouse's adapter verifies and parses the pick confirmation, which goes
// to the order's workflow.
func (s *Server) warehouseWebhook(c *gin.Context) {
	whID := c.Param("warehouse_id")
	wh, ok := s.cfg.Warehouses.Get(whID)
	if !ok {
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "unknown warehouse %q", whID))
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ev, err := wh.ParseWebhook(c.Request.Header, body)
	switch {
	case errors.Is(err, warehouses.ErrBadSignature):
		s.log(c).Warn("warehouse webhook rejected", "warehouse_id", whID, "reason", err.Error())
		s.fail(c, logistics.Errorf(logistics.CodeUnauthorized, "the webhook signature does not verify"))
		return
	case err != nil:
		s.log(c).Warn("warehouse webhook unreadable", "warehouse_id", whID, "error", err)
		s.fail(c, invalid("the webhook is invalid", "body", "could not be parsed as a warehouse event"))
		return
	}
	if ev.WarehouseID == "" {
		ev.WarehouseID = whID
	}
	var p []logistics.FieldProblem
	if ev.ID == "" || checkWebhookID(ev.ID) != nil {
		p = append(p, logistics.FieldProblem{Field: "id", Problem: "is required: at most 256 bytes of UTF-8 text without control characters"})
	}
	if ev.WarehouseID != whID {
		p = append(p, logistics.FieldProblem{Field: "warehouse_id", Problem: "does not match the URL's warehouse"})
	}
	if !logistics.ValidID(ev.MerchantID) {
		p = append(p, logistics.FieldProblem{Field: "merchant_id", Problem: "must be 1-64 letters, digits or _.:-"})
	}
	if !logistics.ValidID(ev.OrderID) {
		p = append(p, logistics.FieldProblem{Field: "order_id", Problem: "must be 1-64 letters, digits or _.:-"})
	}
	p = append(p, parcelProblems(ev.Parcels)...)
	if len(p) > 0 {
		s.fail(c, &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook is invalid", Details: p})
		return
	}
	source := warehouseSource(whID)
	if s.findRecorded(c, source, ev.ID) {
		return
	}
	workflowID := logistics.OrderWorkflowID(ev.MerchantID, ev.OrderID)
	rec := store.WebhookRecord{Source: source, ID: ev.ID, EventType: logistics.SignalWarehouseEvent, MerchantID: ev.MerchantID, OrderID: ev.OrderID}
	// The reason may end up in the order's stuck_reason and its Temporal
	// search attribute (a few KiB at most): cleaned and bounded, not refused,
	// since the pick it reports has happened either way.
	ev.Reason = truncateText(logistics.CleanText(ev.Reason), maxReasonLength)
	err = s.cfg.Temporal.SignalWorkflow(c.Request.Context(), workflowID, "", logistics.SignalWarehouseEvent, ev)
	if isWorkflowNotFound(err) {
		s.log(c).Warn("warehouse event for an order that is not running", "warehouse_id", whID, "webhook_id", ev.ID, "workflow_id", workflowID)
		s.record(c, rec, http.StatusNotFound, errorBody{Error: errorPayload{Code: logistics.CodeNotFound,
			Message: "no running workflow for order " + ev.OrderID, Details: []logistics.FieldProblem{}}})
		return
	}
	if err != nil {
		s.fail(c, unavailable("Temporal", err))
		return
	}
	s.log(c).Info("warehouse webhook accepted", "warehouse_id", whID, "webhook_id", ev.ID, "type", ev.Type, "workflow_id", workflowID)
	s.record(c, rec, http.StatusAccepted, warehouseAccepted{OrderID: ev.OrderID, MerchantID: ev.MerchantID, WorkflowID: workflowID, Accepted: true})
}
