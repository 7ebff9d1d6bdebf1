package daguauth

import (
	"errors"
	"strconv"
)

// Status is a DaguAuthStatus: what every call of the library answers. Values are only ever
// appended.
type Status uint32

// The statuses of include/dagu_auth.h.
const (
	StatusOK                 Status = 0
	StatusNullArgument       Status = 1
	StatusInvalidUTF8        Status = 2
	StatusInvalidJSON        Status = 3
	StatusBadRequest         Status = 4
	StatusUnauthenticated    Status = 5
	StatusForbidden          Status = 6
	StatusNotFound           Status = 7
	StatusAlreadyExists      Status = 8
	StatusConflict           Status = 9
	StatusRateLimited        Status = 10
	StatusPayloadTooLarge    Status = 11
	StatusInvalidConfig      Status = 12
	StatusStorage            Status = 13
	StatusInternal           Status = 14
	StatusPanic              Status = 15
	StatusUnsupportedVersion Status = 16
	StatusUnavailable        Status = 17
)

// statusNames are dagu_auth_status_name's, so an error reads the same without a library at hand.
var statusNames = [...]string{
	StatusOK:                 "OK",
	StatusNullArgument:       "NULL_ARGUMENT",
	StatusInvalidUTF8:        "INVALID_UTF8",
	StatusInvalidJSON:        "INVALID_JSON",
	StatusBadRequest:         "BAD_REQUEST",
	StatusUnauthenticated:    "UNAUTHENTICATED",
	StatusForbidden:          "FORBIDDEN",
	StatusNotFound:           "NOT_FOUND",
	StatusAlreadyExists:      "ALREADY_EXISTS",
	StatusConflict:           "CONFLICT",
	StatusRateLimited:        "RATE_LIMITED",
	StatusPayloadTooLarge:    "PAYLOAD_TOO_LARGE",
	StatusInvalidConfig:      "INVALID_CONFIG",
	StatusStorage:            "STORAGE",
	StatusInternal:           "INTERNAL",
	StatusPanic:              "PANIC",
	StatusUnsupportedVersion: "UNSUPPORTED_VERSION",
	StatusUnavailable:        "UNAVAILABLE",
}

// String is the status's name in the header, e.g. "NOT_FOUND"; a status newer than this package
// is "STATUS_<number>" (Library.StatusName knows the library's own).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "STATUS_" + strconv.FormatUint(uint64(s), 10)
}

// Error is a status other than OK, with the library's message. Match it with errors.Is and the
// Err values (errors.Is(err, daguauth.ErrForbidden)), or read it with errors.As.
type Error struct {
	Status Status
	// Op is the C function that answered, e.g. "dagu_auth_user_create".
	Op string
	// Message is the library's text, fit to show to the caller (it never holds a secret).
	Message string
}

func (e *Error) Error() string {
	text := "daguauth: " + e.Op + ": " + e.Status.String()
	if e.Message != "" {
		text += ": " + e.Message
	}
	return text
}

// Is matches the Err value of the same status.
func (e *Error) Is(target error) bool {
	s, ok := target.(statusError)
	return ok && Status(s) == e.Status
}

// statusError is the type of the Err values: a status with no message.
type statusError Status

func (s statusError) Error() string { return "daguauth: " + Status(s).String() }

// One error per status, for errors.Is.
var (
	ErrNullArgument       error = statusError(StatusNullArgument)
	ErrInvalidUTF8        error = statusError(StatusInvalidUTF8)
	ErrInvalidJSON        error = statusError(StatusInvalidJSON)
	ErrBadRequest         error = statusError(StatusBadRequest)
	ErrUnauthenticated    error = statusError(StatusUnauthenticated)
	ErrForbidden          error = statusError(StatusForbidden)
	ErrNotFound           error = statusError(StatusNotFound)
	ErrAlreadyExists      error = statusError(StatusAlreadyExists)
	ErrConflict           error = statusError(StatusConflict)
	ErrRateLimited        error = statusError(StatusRateLimited)
	ErrPayloadTooLarge    error = statusError(StatusPayloadTooLarge)
	ErrInvalidConfig      error = statusError(StatusInvalidConfig)
	ErrStorage            error = statusError(StatusStorage)
	ErrInternal           error = statusError(StatusInternal)
	ErrPanic              error = statusError(StatusPanic)
	ErrUnsupportedVersion error = statusError(StatusUnsupportedVersion)
	ErrUnavailable        error = statusError(StatusUnavailable)
)

// ErrClosed is the answer of every call on an Instance after Close.
var ErrClosed = errors.New("daguauth: the instance is closed")
