package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/crossdock/crossdock/logistics"
)

// statusByCode is the one table from application error codes to HTTP
// statuses (style.md rule 3). Handlers never pick an error status themselves.
var statusByCode = map[logistics.Code]int{
	logistics.CodeInvalid:         http.StatusUnprocessableEntity,
	logistics.CodeUnauthorized:    http.StatusUnauthorized,
	logistics.CodeNotFound:        http.StatusNotFound,
	logistics.CodeConflict:        http.StatusConflict,
	logistics.CodePayloadTooLarge: http.StatusRequestEntityTooLarge,
	logistics.CodeRateLimited:     http.StatusTooManyRequests,
	logistics.CodeUnavailable:     http.StatusServiceUnavailable,
	logistics.CodeInternal:        http.StatusInternalServerError,
}

// retryAfterUnavailable is the Retry-After (seconds) sent with every 503.
const retryAfterUnavailable = 5

// errorBody is the contract's error shape.
type errorBody struct {
	Error errorPayload `json:"error"`
}

type errorPayload struct {
	Code    logistics.Code           `json:"code"`
	Message string                   `json:"message"`
	Details []logistics.FieldProblem `json:"details"`
}

// apiError carries the HTTP status for the rare answers that are not a
// logistics code (400 for malformed syntax, 405) and a cause that is logged
// but never shown to the caller.
type apiError struct {
	app    *logistics.Error
	status int // 0: take it from statusByCode
	cause  error
}

func (e *apiError) Error() string {
	if e.cause == nil {
		return e.app.Error()
	}
	return e.app.Error() + ": " + e.cause.Error()
}

// Unwrap lets errors.As find the *logistics.Error first, then the cause.
func (e *apiError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.app}
	}
	return []error{e.app, e.cause}
}

// unavailable reports that a dependency (the database, Temporal) failed: the
// caller gets 503 with Retry-After and what failed, the log gets the cause.
func unavailable(what string, cause error) error {
	return &apiError{app: logistics.Errorf(logistics.CodeUnavailable, "%s is unavailable; retry later", what), cause: cause}
}

// badSyntax is a 400 invalid_request: the request could not even be parsed.
func badSyntax(field, problem string) error {
	return &apiError{
		app: &logistics.Error{Code: logistics.CodeInvalid, Message: "the request is malformed",
			Details: []logistics.FieldProblem{{Field: field, Problem: problem}}},
		status: http.StatusBadRequest,
	}
}

// invalid is a 422 invalid_request with one field problem.
func invalid(message, field, problem string) error {
	return &logistics.Error{Code: logistics.CodeInvalid, Message: message,
		Details: []logistics.FieldProblem{{Field: field, Problem: problem}}}
}

// fromStore passes application errors of the store through (not_found,
// invalid cursor, ...) and turns any other store failure into 503.
func fromStore(err error) error {
	var e *logistics.Error
	if errors.As(err, &e) && e.Code != logistics.CodeInternal {
		return err
	}
	return unavailable("the database", err)
}

// fail writes err in the contract's shape and aborts the chain. Messages of
// internal errors never reach the caller; every 5xx is logged with its cause.
func (s *Server) fail(c *gin.Context, err error) {
	code := logistics.ErrorCode(err)
	status := statusByCode[code]
	var ae *apiError
	if errors.As(err, &ae) && ae.status != 0 {
		status = ae.status
	}
	if status == 0 {
		code, status = logistics.CodeInternal, http.StatusInternalServerError
	}
	body := errorPayload{Code: code, Message: logistics.ErrorMessage(err), Details: []logistics.FieldProblem{}}
	var le *logistics.Error
	if errors.As(err, &le) && len(le.Details) > 0 {
		body.Details = le.Details
	}
	if code == logistics.CodeInternal {
		body.Message = "internal error"
		body.Details = []logistics.FieldProblem{}
	}
	switch code {
	case logistics.CodeUnavailable:
		c.Header("Retry-After", strconv.Itoa(retryAfterUnavailable))
	case logistics.CodeRateLimited:
		if c.Writer.Header().Get("Retry-After") == "" {
			c.Header("Retry-After", "1")
		}
	}
	if status >= 500 {
		s.log(c).Error("request failed", "status", status, "code", code, "error", err)
	}
	c.AbortWithStatusJSON(status, errorBody{Error: body})
}

// failStatus writes an error with an explicit status that has no logistics
// code of its own (405).
func (s *Server) failStatus(c *gin.Context, status int, code logistics.Code, message string) {
	c.AbortWithStatusJSON(status, errorBody{Error: errorPayload{Code: code, Message: message, Details: []logistics.FieldProblem{}}})
}

// addProblem adds a field problem to err, a 422 invalid_request built by
// the same handler (or nil, which starts one with message).
func addProblem(err error, message string, p logistics.FieldProblem) error {
	var le *logistics.Error
	if err == nil || !errors.As(err, &le) {
		return &logistics.Error{Code: logistics.CodeInvalid, Message: message, Details: []logistics.FieldProblem{p}}
	}
	merged := *le
	merged.Details = append(slices.Clip(le.Details), p)
	return &merged
}

// writeJSON answers v as JSON with status, the same bytes as gin's c.JSON
// plus a trailing newline. json.Encoder builds the body in a pooled buffer
// and writes it once, where c.JSON marshals into a new slice per response
// (a large one for a long timeline). A value that cannot be encoded writes
// nothing and answers the contract's 500; a client gone mid-write is
// recorded on the context, as gin does.
func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(status)
	err := json.NewEncoder(c.Writer).Encode(v)
	switch {
	case err == nil:
	case !c.Writer.Written():
		s.fail(c, fmt.Errorf("encode response: %w", err))
	default:
		_ = c.Error(err)
		c.Abort()
	}
}
