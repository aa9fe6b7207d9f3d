// Package apperr is tend's one error type: a code from a small set, a
// message safe to show to the person who caused it, and the input field it
// concerns. Transports choose their status from the code in one place each.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller can do about it.
type Code string

const (
	Invalid         Code = "invalid"          // the input is wrong; Field says which part
	Unauthenticated Code = "unauthenticated"  // who is calling is unknown
	Forbidden       Code = "forbidden"        // known caller, not allowed
	NotFound        Code = "not_found"        // no such thing, or not visible to the caller
	Conflict        Code = "conflict"         // the state changed or the value is taken
	TooLarge        Code = "too_large"        // the body or file exceeds a limit
	RateLimited     Code = "rate_limited"     // too many attempts; retry later
	Unavailable     Code = "unavailable"      // a dependency (the database) is down
	Internal        Code = "internal"         // a bug or an unexpected fault; details are logged, not shown
	Unsupported     Code = "unsupported_type" // a media type the endpoint does not take
)

// Error is returned by domain and store code for anything a caller may see.
type Error struct {
	Code    Code
	Message string
	Field   string   // JSON field or query parameter, when the error concerns one
	Allowed []string // for conflicts of a workflow: what the caller may do instead
	Err     error    // the cause, for logs only
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New makes an error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field makes an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, Internal for errors that are not ours.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns err as *Error, wrapping foreign errors as Internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", Err: err}
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
