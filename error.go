package tether

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an Error so that adapters can map it (to an HTTP status,
// an exit code) in exactly one place.
type ErrorCode string

const (
	ECONFLICT     ErrorCode = "conflict"     // the change clashes with the current state
	EINTERNAL     ErrorCode = "internal"     // a bug or an unexpected failure; never shown in detail
	EINVALID      ErrorCode = "invalid"      // the input is malformed or fails validation
	ENOTFOUND     ErrorCode = "not_found"    // the named thing does not exist
	EUNAUTHORIZED ErrorCode = "unauthorized" // missing or wrong credentials for Tether itself
	EGONE         ErrorCode = "gone"         // it existed but can no longer be used (expired, used)
	ELOCKED       ErrorCode = "locked"       // the connection is paused
	EDISABLED     ErrorCode = "disabled"     // the connection is disabled
)

// Error is the one error type that carries a user-facing message. Anything that
// is not an *Error is an internal failure and is reported as "internal error".
type Error struct {
	Code    ErrorCode
	Message string
	// Type is a machine-readable sub-kind, e.g. "invalid_credentials" or
	// "provider_unavailable" for a failed credential test.
	Type string
	// Fields lists per-field validation problems.
	Fields []FieldError
}

// FieldError is one validation problem, located in the request.
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
	Value    any    `json:"value,omitempty"`
}

func (e *Error) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Type, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the *Error's message, or
// "internal error" for anything else, so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsNotFound reports whether err is (or wraps) an ENOTFOUND error.
func IsNotFound(err error) bool { return ErrorCodeOf(err) == ENOTFOUND }
