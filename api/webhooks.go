package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/serviceerror"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// webhookTolerance is how far a webhook-timestamp may be from now (contract.md).
const webhookTolerance = 5 * time.Minute

// Webhook sources, the first half of a webhook's idempotency key.
const sourceOrders = store.WebhookSourceOrders

// maxWebhookIDLength bounds the idempotency key kept for every webhook.
const maxWebhookIDLength = 256

// standardWebhookID is the Standard Webhooks idempotency header.
const standardWebhookID = standardwebhooks.HeaderWebhookID

func carrierSource(code string) string { return "carrier:" + code }

func warehouseSource(id string) string { return "warehouse:" + id }

// readBody reads the whole request body once, under the size cap.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	if c.Request.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, logistics.Errorf(logistics.CodePayloadTooLarge, "the request body is larger than %d bytes", s.cfg.MaxBodyBytes)
		}
		return nil, badSyntax("body", "could not be read")
	}
	return body, nil
}

// verifyStandardWebhook checks a Standard Webhooks signature against each
// verifier (secret rotation: one match is enough). The timestamp is checked
// against the server's clock; the library compares signatures in constant time.
func (s *Server) verifyStandardWebhook(h http.Header, body []byte, verifiers []*standardwebhooks.Webhook) error {
	if h.Get(standardwebhooks.HeaderWebhookID) == "" || h.Get(standardwebhooks.HeaderWebhookSignature) == "" {
		return errors.New("missing webhook-id or webhook-signature header")
	}
	ts, err := strconv.ParseInt(h.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64)
	if err != nil {
		return errors.New("missing or malformed webhook-timestamp header")
	}
	if skew := s.now().Sub(time.Unix(ts, 0)); skew > webhookTolerance || skew < -webhookTolerance {
		return fmt.Errorf("webhook-timestamp is %s away from now, more than %s", skew.Round(time.Second), webhookTolerance)
	}
	for _, v := range verifiers {
		if err = v.VerifyIgnoringTimestamp(body, h); err == nil {
			return nil
		}
	}
	return err
}

// replay answers a redelivered webhook with the first answer, byte for byte.
func (s *Server) replay(c *gin.Context, rec store.WebhookRecord) {
	s.log(c).Info("webhook replayed", "source", rec.Source, "webhook_id", rec.ID, "status", rec.StatusCode)
	c.Data(rec.StatusCode, "application/json; charset=utf-8", rec.Response)
}

// checkWebhookID refuses ids that cannot be kept as an idempotency key: too
// long, or not text (a database refuses invalid UTF-8 and NUL in a text
// column, which would otherwise be a 503 the sender retries forever).
func checkWebhookID(id string) error {
	switch {
	case len(id) > maxWebhookIDLength:
		return invalid("the webhook is invalid", "webhook-id", "must be at most 256 bytes")
	case !logistics.ValidText(id):
		return invalid("the webhook is invalid", "webhook-id", "must be valid UTF-8 without control characters")
	}
	return nil
}

// findRecorded looks up an earlier answer to the webhook; it writes the
// replay or the failure itself and reports whether the handler is done.
func (s *Server) findRecorded(c *gin.Context, source, id string) (done bool) {
	rec, found, err := s.cfg.Store.FindWebhook(c.Request.Context(), source, id)
	if err != nil {
		s.fail(c, unavailable("the database", err))
		return true
	}
	if found {
		s.replay(c, rec)
		return true
	}
	return false
}

// record stores the answer to a webhook and answers with the first answer
// recorded for it, so a concurrent redelivery gets the same bytes as the
// delivery that won. Nothing is acknowledged unless the record is durable.
func (s *Server) record(c *gin.Context, rec store.WebhookRecord, status int, answer any) {
	rec.StatusCode = status
	rec.Response = mustJSON(answer)
	rec.CreatedAt = s.now().UTC()
	first, inserted, err := s.cfg.Store.RecordWebhook(c.Request.Context(), rec)
	if err != nil {
		s.fail(c, unavailable("the database", err))
		return
	}
	if !inserted {
		s.log(c).Info("webhook answered by a concurrent delivery", "source", rec.Source, "webhook_id", rec.ID)
	}
	c.Data(first.StatusCode, "application/json; charset=utf-8", first.Response)
}

// acceptTracking makes a tracking submission durable (its answer, events
// and hand-offs in one transaction: AcceptTracking), wakes the relay that
// signals the workflows, and answers 202 with answer, or with the first
// answer recorded for the submission. It reports whether this call
// recorded it. Nothing is acknowledged unless it is durable.
func (s *Server) acceptTracking(c *gin.Context, a store.TrackingAcceptance, answer any) bool {
	a.Record.StatusCode = http.StatusAccepted
	a.Record.Response = mustJSON(answer)
	a.Record.CreatedAt = s.now().UTC()
	first, inserted, err := s.cfg.Store.AcceptTracking(c.Request.Context(), a)
	if err != nil {
		s.fail(c, unavailable("the database", err))
		return false
	}
	if inserted && len(a.Shipments) > 0 && s.cfg.Handoffs != nil {
		s.cfg.Handoffs.Notify()
	}
	if !inserted {
		s.log(c).Info("tracking submission answered before", "source", a.Record.Source, "webhook_id", a.Record.ID)
	}
	c.Data(first.StatusCode, "application/json; charset=utf-8", first.Response)
	return inserted
}

// isWorkflowNotFound reports whether Temporal says the workflow is not
// running (never started, or finished and no longer signalable).
func isWorkflowNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// decodeJSON unmarshals data into v and turns decoding errors into
// invalid_request with the field path under prefix ("data" -> "data.ship_to.country").
func decodeJSON(data []byte, v any, prefix string) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badSyntax(fieldPath(prefix, ""), fmt.Sprintf("is not valid JSON (at byte %d)", syntax.Offset))
	case errors.As(err, &typ):
		return invalid("the request is invalid", fieldPath(prefix, typ.Field),
			fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type), typ.Value))
	default:
		// Values whose own decoder refused them (a decimal amount, a time).
		return invalid("the request is invalid", fieldPath(prefix, ""), "could not be decoded: "+err.Error())
	}
}

func fieldPath(prefix, field string) string {
	switch {
	case prefix == "":
		if field == "" {
			return "body"
		}
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

// mustJSON marshals values the package itself builds; they always marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("api: marshal %T: %v", v, err))
	}
	return b
}
