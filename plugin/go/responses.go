package daguauth

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"strconv"
)

// BearerChallenge is the WWW-Authenticate value of every 401, the plugin's and the host's.
const BearerChallenge = `Bearer realm="restricted"`

// WriteError answers {"code", "message"} with status, the plugin's error shape (plugin/openapi.yaml,
// Error), so a client sees one format whether the host or the plugin answered. A 401 carries the
// Bearer challenge.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	body, err := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
	if err != nil {
		// Two strings always encode; this keeps the answer well-formed regardless.
		body = []byte(`{"code":"internal_error","message":"Internal error"}`)
	}
	header := w.Header()
	header.Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		header.Set("WWW-Authenticate", BearerChallenge)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteAuthError answers an error of Authorize or SetupRequired as Middleware does. Only what a
// client can act on keeps the plugin's message: ErrUnauthenticated is a 401, ErrForbidden (an API
// key used on a surface it does not allow, since ABI 1.4) a 403, ErrRateLimited a 429,
// ErrUnavailable a 503; anything else is logged and hidden behind a 500.
func WriteAuthError(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.Is(err, ErrUnauthenticated) && errors.As(err, &e):
		WriteError(w, http.StatusUnauthorized, "unauthorized", e.Message)
	case errors.Is(err, ErrForbidden) && errors.As(err, &e):
		WriteError(w, http.StatusForbidden, "forbidden", e.Message)
	case errors.Is(err, ErrRateLimited) && errors.As(err, &e):
		WriteError(w, http.StatusTooManyRequests, "rate_limited", e.Message)
	case errors.Is(err, ErrUnavailable):
		WriteError(w, http.StatusServiceUnavailable, "internal_error",
			"Service overloaded, retry later")
	default:
		log.Printf("daguauth: %v", err)
		writeInternalError(w)
	}
}

func writeInternalError(w http.ResponseWriter) {
	WriteError(w, http.StatusInternalServerError, "internal_error", "Internal error")
}

// writePayloadTooLarge is worded as the plugin words its own 413, so the two limits look like one.
func writePayloadTooLarge(w http.ResponseWriter, limit int) {
	size := strconv.Itoa(limit) + " bytes"
	if limit%(1<<20) == 0 {
		size = strconv.Itoa(limit>>20) + " MiB"
	}
	WriteError(w, http.StatusRequestEntityTooLarge, "payload_too_large",
		"Request body exceeds "+size)
}
