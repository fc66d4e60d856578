package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/oklog/ulid/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// Order webhook event types (contract.md).
const (
	eventOrderCreated        = "order.created"
	eventOrderCancelled      = "order.cancelled"
	eventOrderAddressUpdated = "order.address_updated"
)

// maxReasonLength bounds a cancellation reason.
const maxReasonLength = 1000

// Order intake timing (see intakeOrder).
const (
	// intakeStartTimeout bounds the first delivery's SignalWithStart, so its
	// claim is settled well inside intakeLease.
	intakeStartTimeout = 30 * time.Second
	// intakeLease is how long an unanswered intake claim protects its
	// holder; past it the holder is presumed dead and another delivery may
	// take over. It must exceed intakeStartTimeout plus the writes around it.
	intakeLease = 2 * time.Minute
	// intakeWait is how long a duplicate waits for the first delivery to
	// answer before asking its sender to retry (503).
	intakeWait = 10 * time.Second
	// intakePollMin and intakePollMax bound the pause between two looks at
	// a claim held by another delivery.
	intakePollMin = 5 * time.Millisecond
	intakePollMax = 200 * time.Millisecond
	// intakeReleaseTimeout bounds giving up a claim after a failed start.
	intakeReleaseTimeout = 5 * time.Second
)

// orderEnvelope is the order service's webhook body before its data is
// decoded by type.
type orderEnvelope struct {
	Type       string          `json:"type"`
	OccurredAt string          `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// orderEvent is a decoded, validated order webhook, ready to signal.
type orderEvent struct {
	Type       string
	MerchantID string
	OrderID    string
	Signal     string
	Payload    any
}

// orderAccepted answers order.created.
type orderAccepted struct {
	OrderID    string          `json:"order_id"`
	MerchantID string          `json:"merchant_id"`
	WorkflowID string          `json:"workflow_id"`
	Stage      logistics.Stage `json:"stage"`
}

// orderEventAccepted answers order.cancelled and order.address_updated.
type orderEventAccepted struct {
	OrderID    string `json:"order_id"`
	MerchantID string `json:"merchant_id"`
	WorkflowID string `json:"workflow_id"`
	Accepted   bool   `json:"accepted"`
}

// orderWebhook handles POST /v1/webhooks/orders: verify, replay a known
// webhook-id, validate, hand the event to the order's workflow
// (SignalWithStart, so an update or cancel that overtakes its create still
// lands), record the answer, and only then acknowledge.
func (s *Server) orderWebhook(c *gin.Context) {
	ctx := c.Request.Context()
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.verifyStandardWebhook(c.Request.Header, body, s.orderHooks); err != nil {
		s.log(c).Warn("order webhook rejected", "reason", err.Error())
		s.fail(c, logistics.Errorf(logistics.CodeUnauthorized, "the webhook signature does not verify"))
		return
	}
	webhookID := c.GetHeader(standardWebhookID)
	if err := checkWebhookID(webhookID); err != nil {
		s.fail(c, err)
		return
	}
	if s.findRecorded(c, sourceOrders, webhookID) {
		return
	}
	ev, occurredAt, err := parseOrderEvent(body, webhookID)
	if err = s.conform(c, body, err); err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.cfg.Store.GetMerchant(ctx, ev.MerchantID); err != nil {
		if logistics.ErrorCode(err) == logistics.CodeNotFound {
			s.fail(c, invalid("the order is invalid", "data.merchant_id", "unknown merchant"))
			return
		}
		s.fail(c, fromStore(err))
		return
	}
	workflowID := logistics.OrderWorkflowID(ev.MerchantID, ev.OrderID)
	if ev.Type == eventOrderCreated {
		s.intakeOrder(c, ev, webhookID, workflowID, occurredAt)
		return
	}
	if err := s.signalWithStart(ctx, workflowID, ev); err != nil {
		s.fail(c, err)
		return
	}
	s.log(c).Info("order webhook accepted", "webhook_id", webhookID, "type", ev.Type, "merchant_id", ev.MerchantID,
		"order_id", ev.OrderID, "workflow_id", workflowID, "occurred_at", occurredAt)
	rec := store.WebhookRecord{Source: sourceOrders, ID: webhookID, EventType: ev.Type, MerchantID: ev.MerchantID, OrderID: ev.OrderID}
	s.record(c, rec, http.StatusAccepted, orderEventAccepted{OrderID: ev.OrderID, MerchantID: ev.MerchantID, WorkflowID: workflowID, Accepted: true})
}

// intakeOrder answers an order.created. The store decides atomically which
// delivery of the order is first: only that one calls SignalWithStart and
// answers 202. Every other delivery, concurrent or later, under another
// webhook-id, waits until the first has recorded its answer and then answers
// 200 with the same body, starting nothing; a concurrent delivery of the same
// webhook-id replays the first answer. A first delivery that cannot start the
// order releases its claim, so the sender's retry (or another delivery) starts
// it; one whose process died holding the claim is taken over after
// intakeLease. A duplicate that waits longer than intakeWait answers 503.
func (s *Server) intakeOrder(c *gin.Context, ev orderEvent, webhookID, workflowID string, occurredAt time.Time) {
	ctx := c.Request.Context()
	log := s.log(c).With("webhook_id", webhookID, "type", ev.Type, "merchant_id", ev.MerchantID, "order_id", ev.OrderID)
	claim := store.OrderIntakeClaim{MerchantID: ev.MerchantID, OrderID: ev.OrderID, WebhookID: webhookID,
		Claim: ulid.Make().String(), Lease: intakeLease}
	rec := store.WebhookRecord{Source: sourceOrders, ID: webhookID, EventType: ev.Type, MerchantID: ev.MerchantID, OrderID: ev.OrderID}
	answer := orderAccepted{OrderID: ev.OrderID, MerchantID: ev.MerchantID, WorkflowID: workflowID, Stage: logistics.StageReceived}

	// The wait is on the real clock: s.now may be a test's fixed clock.
	giveUp := time.Now().Add(intakeWait)
	pause := intakePollMin
	for {
		claim.At = s.now()
		d, err := s.cfg.Store.ClaimOrderIntake(ctx, claim)
		if err != nil {
			s.fail(c, unavailable("the database", err))
			return
		}
		switch d.Outcome {
		case store.IntakeFirst:
			startCtx, cancel := context.WithTimeout(ctx, intakeStartTimeout)
			err := s.signalWithStart(startCtx, workflowID, ev)
			cancel()
			if d.TookOver && logistics.ErrorCode(err) == logistics.CodeConflict {
				// The order's workflow has run and finished, so the holder
				// whose claim this was started it and died before recording
				// its answer (only an intake holder starts an order). The
				// order was received: complete its intake rather than refuse
				// every retry for ever.
				log.Warn("order started by an abandoned delivery has finished; intake completed", "workflow_id", workflowID)
				s.record(c, rec, http.StatusAccepted, answer)
				return
			}
			if err != nil {
				s.releaseIntake(c, claim)
				s.fail(c, err)
				return
			}
			log.Info("order webhook accepted", "workflow_id", workflowID, "duplicate", false, "occurred_at", occurredAt)
			s.record(c, rec, http.StatusAccepted, answer)
			return
		case store.IntakeDuplicate:
			// The first delivery started the order. If it was this very
			// webhook-id, record returns (and replays) its 202.
			log.Info("order webhook accepted", "workflow_id", workflowID, "duplicate", true, "first_webhook_id", d.WebhookID,
				"occurred_at", occurredAt)
			s.record(c, rec, http.StatusOK, answer)
			return
		}
		if !time.Now().Before(giveUp) {
			log.Warn("order intake still held by another delivery", "first_webhook_id", d.WebhookID)
			s.fail(c, logistics.Errorf(logistics.CodeUnavailable, "another delivery of order %s is still being processed; retry later", ev.OrderID))
			return
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			s.fail(c, unavailable("the order intake", ctx.Err()))
			return
		case <-timer.C:
		}
		pause = min(2*pause, intakePollMax)
		// A concurrent delivery of this webhook-id may have answered meanwhile.
		if s.findRecorded(c, sourceOrders, webhookID) {
			return
		}
	}
}

// releaseIntake gives up an intake claim after a failed start. It runs even
// if the request was cancelled (a client that hung up is a common cause); if
// it fails, the claim expires after intakeLease.
func (s *Server) releaseIntake(c *gin.Context, claim store.OrderIntakeClaim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), intakeReleaseTimeout)
	defer cancel()
	if err := s.cfg.Store.ReleaseOrderIntake(ctx, claim.MerchantID, claim.OrderID, claim.Claim); err != nil {
		s.log(c).Error("order intake claim not released; it expires with its lease", "merchant_id", claim.MerchantID,
			"order_id", claim.OrderID, "webhook_id", claim.WebhookID, "lease", intakeLease, "error", err)
	}
}

// signalWithStart sends ev to the order's workflow, starting it if it does
// not run. The conflict policy never starts a second run for an order.
func (s *Server) signalWithStart(ctx context.Context, workflowID string, ev orderEvent) error {
	opts := client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                logistics.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(logistics.SearchMerchant).ValueSet(ev.MerchantID),
			temporal.NewSearchAttributeKeyKeyword(logistics.SearchStage).ValueSet(string(logistics.StageReceived)),
		),
	}
	opts.StaticSummary = s.orderSummary(ev)
	input := logistics.OrderWorkflowInput{MerchantID: ev.MerchantID, OrderID: ev.OrderID}
	_, err := s.cfg.Temporal.SignalWithStartWorkflow(ctx, workflowID, ev.Signal, ev.Payload, opts,
		logistics.OrderWorkflowType, input)
	if err == nil {
		return nil
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		// Only a finished workflow refuses under USE_EXISTING: the order is
		// over (delivered, cancelled, ...) and this event cannot apply.
		return logistics.Errorf(logistics.CodeConflict, "order %s has already finished; the event cannot apply", ev.OrderID)
	}
	return unavailable("Temporal", err)
}

// orderSummary is the one-line summary the Temporal UI shows for the run:
// merchant, order and, once the order is known, its lane.
func (s *Server) orderSummary(ev orderEvent) string {
	summary := "merchant " + ev.MerchantID + " · order " + ev.OrderID
	created, ok := ev.Payload.(logistics.OrderCreated)
	if !ok {
		return summary
	}
	origin := "?"
	if w, ok := s.cfg.Warehouses.Get(created.Order.WarehouseID); ok {
		origin = w.Address().Country
	}
	return summary + " · lane " + logistics.Lane(origin, created.Order.ShipTo.Country) + " · from " + created.Order.WarehouseID
}

// parseOrderEvent decodes and validates an order webhook body. Every
// problem is an invalid_request naming the field.
func parseOrderEvent(body []byte, webhookID string) (orderEvent, time.Time, error) {
	var env orderEnvelope
	if err := decodeJSON(body, &env, ""); err != nil {
		return orderEvent{}, time.Time{}, err
	}
	var p []logistics.FieldProblem
	occurredAt, err := time.Parse(time.RFC3339Nano, env.OccurredAt)
	if err != nil {
		p = append(p, logistics.FieldProblem{Field: "occurred_at", Problem: "must be an RFC 3339 timestamp with offset"})
	}
	switch env.Type {
	case eventOrderCreated, eventOrderCancelled, eventOrderAddressUpdated:
	default:
		p = append(p, logistics.FieldProblem{Field: "type", Problem: "must be one of order.created, order.cancelled, order.address_updated"})
	}
	if len(env.Data) == 0 || strings.TrimSpace(string(env.Data)) == "null" {
		p = append(p, logistics.FieldProblem{Field: "data", Problem: "is required"})
	}
	if len(p) > 0 {
		return orderEvent{}, time.Time{}, &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook is invalid", Details: p}
	}

	ev := orderEvent{Type: env.Type}
	switch env.Type {
	case eventOrderCreated:
		order, err := decodeOrder(env.Data)
		if err != nil {
			return orderEvent{}, time.Time{}, err
		}
		ev.MerchantID, ev.OrderID, ev.Signal = order.MerchantID, order.OrderID, logistics.SignalOrderCreated
		ev.Payload = logistics.OrderCreated{WebhookID: webhookID, OccurredAt: occurredAt, Order: order}
	case eventOrderCancelled:
		var data struct {
			MerchantID string `json:"merchant_id"`
			OrderID    string `json:"order_id"`
			Reason     string `json:"reason"`
		}
		if err := decodeJSON(env.Data, &data, "data"); err != nil {
			return orderEvent{}, time.Time{}, err
		}
		p = validateOrderRef(data.MerchantID, data.OrderID)
		if !logistics.ValidText(data.Reason) {
			p = append(p, logistics.FieldProblem{Field: "data.reason", Problem: "must be valid UTF-8 without control characters"})
		}
		if len(data.Reason) > maxReasonLength {
			p = append(p, logistics.FieldProblem{Field: "data.reason", Problem: "must be at most 1000 bytes"})
		}
		ev.MerchantID, ev.OrderID, ev.Signal = data.MerchantID, data.OrderID, logistics.SignalOrderCancelled
		ev.Payload = logistics.OrderCancelled{WebhookID: webhookID, OccurredAt: occurredAt, Reason: data.Reason}
	case eventOrderAddressUpdated:
		var data struct {
			MerchantID string            `json:"merchant_id"`
			OrderID    string            `json:"order_id"`
			ShipTo     logistics.Address `json:"ship_to"`
		}
		if err := decodeJSON(env.Data, &data, "data"); err != nil {
			return orderEvent{}, time.Time{}, err
		}
		p = validateOrderRef(data.MerchantID, data.OrderID)
		var le *logistics.Error
		if err := data.ShipTo.Validate("data.ship_to"); errors.As(err, &le) {
			p = append(p, le.Details...)
		}
		ev.MerchantID, ev.OrderID, ev.Signal = data.MerchantID, data.OrderID, logistics.SignalAddressUpdated
		ev.Payload = logistics.AddressUpdated{WebhookID: webhookID, OccurredAt: occurredAt, ShipTo: data.ShipTo}
	}
	if len(p) > 0 {
		return orderEvent{}, time.Time{}, &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook is invalid", Details: p}
	}
	return ev, occurredAt, nil
}

func validateOrderRef(merchantID, orderID string) []logistics.FieldProblem {
	var p []logistics.FieldProblem
	if !logistics.ValidID(merchantID) {
		p = append(p, logistics.FieldProblem{Field: "data.merchant_id", Problem: "must be 1-64 letters, digits or _.:-"})
	}
	if !logistics.ValidID(orderID) {
		p = append(p, logistics.FieldProblem{Field: "data.order_id", Problem: "must be 1-64 letters, digits or _.:-"})
	}
	return p
}
