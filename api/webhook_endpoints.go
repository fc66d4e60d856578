package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// SecretRotationOverlap is how long a replaced endpoint secret keeps
// signing (as a second signature) after POST .../rotate-secret, so a
// merchant can deploy the new secret without dropping deliveries.
const SecretRotationOverlap = 24 * time.Hour

// WebhookEndpointStore is what the merchant's webhook-endpoint routes need
// from the store; *store.Store satisfies it. Every method is scoped by the
// merchant: another merchant's endpoint or delivery answers
// logistics.ErrNotFound exactly like a missing one.
type WebhookEndpointStore interface {
	// CreateWebhookEndpoint stores an endpoint and returns it with its secret.
	CreateWebhookEndpoint(ctx context.Context, in store.NewWebhookEndpoint) (store.WebhookEndpoint, string, error)
	// ListWebhookEndpoints returns a page of endpoints, newest first.
	ListWebhookEndpoints(ctx context.Context, merchantID string, limit int, cursor string) ([]store.WebhookEndpoint, string, error)
	// GetWebhookEndpoint returns one endpoint.
	GetWebhookEndpoint(ctx context.Context, merchantID, id string) (store.WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes an endpoint with its delivery log.
	DeleteWebhookEndpoint(ctx context.Context, merchantID, id string) error
	// RotateWebhookSecret replaces the secret; the old one signs for overlap.
	RotateWebhookSecret(ctx context.Context, merchantID, id string, overlap time.Duration) (store.WebhookEndpoint, string, error)
	// EnableWebhookEndpoint enables an endpoint the sender disabled.
	EnableWebhookEndpoint(ctx context.Context, merchantID, id string) (store.WebhookEndpoint, error)
	// ListWebhookDeliveries returns a page of an endpoint's delivery log.
	ListWebhookDeliveries(ctx context.Context, merchantID, endpointID string, f store.DeliveryFilter) ([]store.WebhookDelivery, string, error)
	// RedeliverWebhook schedules a delivery to be sent again now.
	RedeliverWebhook(ctx context.Context, merchantID, endpointID, deliveryID string) (store.WebhookDelivery, error)
}

// URLChecker vets a webhook URL before it is stored (scheme, and that it
// cannot reach Crossdock's own network); notify.Guard satisfies it. A
// refusal is a *logistics.Error with CodeInvalid on the field "url".
type URLChecker interface {
	CheckURL(ctx context.Context, raw string) error
}

// webhookEndpointDTO is an endpoint as the merchant sees it. Secret is
// present only in the answers of create and rotate-secret.
type webhookEndpointDTO struct {
	ID                      string                `json:"id"`
	URL                     string                `json:"url"`
	Events                  []logistics.EventType `json:"events"`
	Enabled                 bool                  `json:"enabled"`
	DisabledReason          *string               `json:"disabled_reason"`
	DisabledAt              *time.Time            `json:"disabled_at"`
	PreviousSecretExpiresAt *time.Time            `json:"previous_secret_expires_at"`
	CreatedAt               time.Time             `json:"created_at"`
	UpdatedAt               time.Time             `json:"updated_at"`
	Secret                  string                `json:"secret,omitempty"`
}

// toWebhookEndpoint builds the DTO; previous_secret_expires_at shows only
// while the replaced secret still signs (at now).
func toWebhookEndpoint(ep store.WebhookEndpoint, secret string, now time.Time) webhookEndpointDTO {
	dto := webhookEndpointDTO{ID: ep.ID, URL: ep.URL, Events: nonNil(ep.Events), Enabled: ep.Enabled,
		DisabledAt: ep.DisabledAt, CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt, Secret: secret}
	if !ep.Enabled {
		reason := ep.DisabledReason
		dto.DisabledReason = &reason
	}
	if ep.PreviousSecretExpiresAt != nil && ep.PreviousSecretExpiresAt.After(now) {
		dto.PreviousSecretExpiresAt = ep.PreviousSecretExpiresAt
	}
	return dto
}

// webhookDeliveryDTO is one entry of an endpoint's delivery log.
type webhookDeliveryDTO struct {
	ID             string              `json:"id"`
	EndpointID     string              `json:"endpoint_id"`
	EventID        string              `json:"event_id"`
	EventType      logistics.EventType `json:"event_type"`
	OrderID        string              `json:"order_id"`
	State          store.DeliveryState `json:"state"`
	NextAttemptAt  *time.Time          `json:"next_attempt_at"`
	LastStatusCode *int                `json:"last_status_code"`
	LastError      string              `json:"last_error"`
	DeliveredAt    *time.Time          `json:"delivered_at"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
	Attempts       []webhookAttemptDTO `json:"attempts"`
}

type webhookAttemptDTO struct {
	Number      int                 `json:"number"`
	AttemptedAt time.Time           `json:"attempted_at"`
	Outcome     store.DeliveryState `json:"outcome"`
	StatusCode  *int                `json:"status_code"`
	Error       string              `json:"error"`
	DurationMs  int64               `json:"duration_ms"`
}

func statusOrNull(code int) *int {
	if code == 0 {
		return nil
	}
	return &code
}

func toWebhookDelivery(d store.WebhookDelivery) webhookDeliveryDTO {
	dto := webhookDeliveryDTO{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType,
		OrderID: d.OrderID, State: d.State, NextAttemptAt: d.NextAttemptAt, LastStatusCode: statusOrNull(d.LastStatusCode),
		LastError: d.LastError, DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Attempts: make([]webhookAttemptDTO, 0, len(d.AttemptLog))}
	for _, a := range d.AttemptLog {
		dto.Attempts = append(dto.Attempts, webhookAttemptDTO{Number: a.Number, AttemptedAt: a.At, Outcome: a.Outcome,
			StatusCode: statusOrNull(a.StatusCode), Error: a.Error, DurationMs: a.Duration.Milliseconds()})
	}
	return dto
}

// webhookEndpoints returns the endpoint store, or the 503 every
// webhook-endpoint route answers when the deployment has none configured.
func (s *Server) webhookEndpoints() (WebhookEndpointStore, error) {
	if s.cfg.WebhookEndpoints == nil {
		return nil, logistics.Errorf(logistics.CodeUnavailable, "webhook endpoints are not configured")
	}
	return s.cfg.WebhookEndpoints, nil
}

// endpointNotFound gives every not-found endpoint the same answer, whether
// it is missing or another merchant's.
func endpointNotFound(err error) error {
	if logistics.ErrorCode(err) == logistics.CodeNotFound {
		return logistics.Errorf(logistics.CodeNotFound, "webhook endpoint not found")
	}
	return fromStore(err)
}

// endpointParam reads :endpoint_id; an id that cannot be one of ours
// answers 404 like a missing one, without a database query.
func endpointParam(c *gin.Context) (string, error) {
	id := c.Param("endpoint_id")
	if !logistics.ValidID(id) {
		return "", endpointNotFound(logistics.ErrNotFound)
	}
	return id, nil
}

// createWebhookEndpointRequest is the body of POST /v1/webhook-endpoints.
type createWebhookEndpointRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// createWebhookEndpoint handles POST /v1/webhook-endpoints: it checks the
// URL (https, and no internal address: SSRF) and the event types, stores
// the endpoint and answers it with its secret, shown only this once.
func (s *Server) createWebhookEndpoint(c *gin.Context) {
	endpoints, err := s.webhookEndpoints()
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req createWebhookEndpointRequest
	if err := decodeJSON(body, &req, ""); err != nil {
		s.fail(c, err)
		return
	}
	var problems []logistics.FieldProblem
	events := make([]logistics.EventType, 0, len(req.Events))
	if len(req.Events) == 0 {
		problems = append(problems, logistics.FieldProblem{Field: "events",
			Problem: "must list at least one of " + joinWords(logistics.EventTypes)})
	}
	for i, e := range req.Events {
		if !logistics.EventType(e).Valid() {
			problems = append(problems, logistics.FieldProblem{Field: fmt.Sprintf("events[%d]", i),
				Problem: "must be one of " + joinWords(logistics.EventTypes)})
			continue
		}
		events = append(events, logistics.EventType(e))
	}
	if err := s.cfg.WebhookURLs.CheckURL(c.Request.Context(), req.URL); err != nil {
		var le *logistics.Error
		if !asInvalid(err, &le) {
			s.fail(c, err)
			return
		}
		problems = append(problems, le.Details...)
	}
	var verdict error
	if len(problems) > 0 {
		verdict = &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook endpoint is invalid", Details: problems}
	}
	if err := s.conform(c, body, verdict); err != nil {
		s.fail(c, err)
		return
	}
	m := merchantOf(c)
	ep, secret, err := endpoints.CreateWebhookEndpoint(c.Request.Context(), store.NewWebhookEndpoint{MerchantID: m.ID, URL: req.URL, Events: events})
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	s.log(c).Info("webhook endpoint created", "merchant_id", m.ID, "endpoint_id", ep.ID, "events", len(ep.Events))
	c.JSON(http.StatusCreated, toWebhookEndpoint(ep, secret, s.now()))
}

// asInvalid reports whether err is an invalid_request *logistics.Error with
// field details, and sets *le to it.
func asInvalid(err error, le **logistics.Error) bool {
	if logistics.ErrorCode(err) != logistics.CodeInvalid {
		return false
	}
	var e *logistics.Error
	if !errors.As(err, &e) || len(e.Details) == 0 {
		return false
	}
	*le = e
	return true
}

// listWebhookEndpoints handles GET /v1/webhook-endpoints.
func (s *Server) listWebhookEndpoints(c *gin.Context) {
	endpoints, err := s.webhookEndpoints()
	if err != nil {
		s.fail(c, err)
		return
	}
	limit, cursor, err := parsePage(c)
	if err = s.conform(c, nil, err); err != nil {
		s.fail(c, err)
		return
	}
	list, next, err := endpoints.ListWebhookEndpoints(c.Request.Context(), merchantOf(c).ID, limit, cursor)
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	data := make([]webhookEndpointDTO, 0, len(list))
	for _, ep := range list {
		data = append(data, toWebhookEndpoint(ep, "", s.now()))
	}
	c.JSON(http.StatusOK, newPage(data, next))
}

// parsePage reads limit and cursor; a bad limit or an oversized cursor is a
// 422 naming the field.
func parsePage(c *gin.Context) (int, string, error) {
	var problems []logistics.FieldProblem
	limit, problem := parseLimit(c.Query("limit"))
	if problem != nil {
		problems = append(problems, *problem)
	}
	cursor := c.Query("cursor")
	if len(cursor) > 512 {
		problems = append(problems, logistics.FieldProblem{Field: "cursor", Problem: "is not a cursor this API returned"})
	}
	if len(problems) > 0 {
		return 0, "", &logistics.Error{Code: logistics.CodeInvalid, Message: "the query is invalid", Details: problems}
	}
	return limit, cursor, nil
}

// getWebhookEndpoint handles GET /v1/webhook-endpoints/:endpoint_id.
func (s *Server) getWebhookEndpoint(c *gin.Context) {
	s.withEndpoint(c, func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string) {
		ep, err := endpoints.GetWebhookEndpoint(ctx, merchantID, id)
		if err != nil {
			s.fail(c, endpointNotFound(err))
			return
		}
		c.JSON(http.StatusOK, toWebhookEndpoint(ep, "", s.now()))
	})
}

// deleteWebhookEndpoint handles DELETE /v1/webhook-endpoints/:endpoint_id:
// nothing more is sent to it, and its delivery log goes with it.
func (s *Server) deleteWebhookEndpoint(c *gin.Context) {
	s.withEndpoint(c, func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string) {
		if err := endpoints.DeleteWebhookEndpoint(ctx, merchantID, id); err != nil {
			s.fail(c, endpointNotFound(err))
			return
		}
		s.log(c).Info("webhook endpoint deleted", "merchant_id", merchantID, "endpoint_id", id)
		c.Status(http.StatusNoContent)
	})
}

// rotateWebhookSecret handles POST .../rotate-secret: a new secret, shown
// once; the old one keeps signing for SecretRotationOverlap.
func (s *Server) rotateWebhookSecret(c *gin.Context) {
	s.withEndpoint(c, func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string) {
		ep, secret, err := endpoints.RotateWebhookSecret(ctx, merchantID, id, SecretRotationOverlap)
		if err != nil {
			s.fail(c, endpointNotFound(err))
			return
		}
		s.log(c).Info("webhook secret rotated", "merchant_id", merchantID, "endpoint_id", id)
		c.JSON(http.StatusOK, toWebhookEndpoint(ep, secret, s.now()))
	})
}

// enableWebhookEndpoint handles POST .../enable. The URL is checked again
// under today's rules first: an endpoint subscribed in development does not
// come back to life pointing at a private address.
func (s *Server) enableWebhookEndpoint(c *gin.Context) {
	s.withEndpoint(c, func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string) {
		ep, err := endpoints.GetWebhookEndpoint(ctx, merchantID, id)
		if err != nil {
			s.fail(c, endpointNotFound(err))
			return
		}
		if err := s.cfg.WebhookURLs.CheckURL(ctx, ep.URL); err != nil {
			s.fail(c, err)
			return
		}
		ep, err = endpoints.EnableWebhookEndpoint(ctx, merchantID, id)
		if err != nil {
			s.fail(c, endpointNotFound(err))
			return
		}
		s.log(c).Info("webhook endpoint enabled", "merchant_id", merchantID, "endpoint_id", id)
		c.JSON(http.StatusOK, toWebhookEndpoint(ep, "", s.now()))
	})
}

// listWebhookDeliveries handles GET .../deliveries: the endpoint's delivery
// log, newest first, each delivery with its attempts.
func (s *Server) listWebhookDeliveries(c *gin.Context) {
	s.withEndpoint(c, func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string) {
		limit, cursor, err := parsePage(c)
		state := store.DeliveryState(c.Query("state"))
		if state != "" && !state.Valid() {
			err = addProblem(err, "the query is invalid", logistics.FieldProblem{Field: "state", Problem: "must be one of " + joinWords(store.DeliveryStates)})
		}
		if err = s.conform(c, nil, err); err != nil {
			s.fail(c, err)
			return
		}
		list, next, err := endpoints.ListWebhookDeliveries(ctx, merchantID, id, store.DeliveryFilter{State: state, Limit: limit, Cursor: cursor})
		if err != nil {
			s.fail(c, endpointNotFound(err))
			return
		}
		data := make([]webhookDeliveryDTO, 0, len(list))
		for _, d := range list {
			data = append(data, toWebhookDelivery(d))
		}
		c.JSON(http.StatusOK, newPage(data, next))
	})
}

// redeliverWebhook handles POST .../deliveries/:delivery_id/redeliver: the
// event is sent again as soon as possible, with the same webhook-id.
func (s *Server) redeliverWebhook(c *gin.Context) {
	s.withEndpoint(c, func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string) {
		deliveryID := c.Param("delivery_id")
		notFound := logistics.Errorf(logistics.CodeNotFound, "webhook delivery not found")
		if !logistics.ValidID(deliveryID) {
			s.fail(c, notFound)
			return
		}
		d, err := endpoints.RedeliverWebhook(ctx, merchantID, id, deliveryID)
		if logistics.ErrorCode(err) == logistics.CodeNotFound {
			s.fail(c, notFound)
			return
		}
		if err != nil {
			s.fail(c, fromStore(err))
			return
		}
		s.log(c).Info("webhook redelivery requested", "merchant_id", merchantID, "endpoint_id", id, "delivery_id", deliveryID)
		c.JSON(http.StatusAccepted, toWebhookDelivery(d))
	})
}

// withEndpoint runs fn with the endpoint store, the merchant and a
// plausible :endpoint_id, or answers the error.
func (s *Server) withEndpoint(c *gin.Context, fn func(ctx context.Context, endpoints WebhookEndpointStore, merchantID, id string)) {
	endpoints, err := s.webhookEndpoints()
	if err != nil {
		s.fail(c, err)
		return
	}
	id, err := endpointParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	fn(c.Request.Context(), endpoints, merchantOf(c).ID, id)
}
