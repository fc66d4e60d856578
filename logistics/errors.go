package logistics

import (
	"errors"
	"fmt"
)

// Code classifies an application error. The API maps each code to one HTTP
// status in a single table; the words are fixed by contract.md.
type Code string

// Error codes of the external contract.
const (
	CodeInvalid         Code = "invalid_request"
	CodeUnauthorized    Code = "unauthorized"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodePayloadTooLarge Code = "payload_too_large"
	CodeRateLimited     Code = "rate_limited"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
)

// FieldProblem names one bad field of a request and what is wrong with it.
type FieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// Error is the one application error type. Message is safe to show to the
// caller; Details lists field problems for invalid requests.
type Error struct {
	Code    Code
	Message string
	Details []FieldProblem
}

// Error implements error.
func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (%d field problems, first %s: %s)", e.Code, e.Message, len(e.Details), e.Details[0].Field, e.Details[0].Problem)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err: the message of an
// *Error, or "internal error" for anything else so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrNotFound is returned by lookups that find nothing (or find something the
// caller may not see, which must look the same).
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// problems collects field problems while validating.
type problems []FieldProblem

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldProblem{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (p problems) err(message string) error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: message, Details: p}
}
