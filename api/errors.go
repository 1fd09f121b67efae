package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

// Problem is an RFC 9457 problem detail, with Tether's error_type member for
// failures that have one (a failed credential test).
type Problem struct {
	huma.ErrorModel
	ErrorType string `json:"error_type,omitempty" doc:"Machine-readable kind, e.g. invalid_credentials or provider_unavailable"`
}

func init() {
	huma.NewError = newProblem
}

// newProblem builds every error answer huma writes, including its own
// validation errors. Values echoed back are dropped where they could be
// secrets (a raw body, a credential field).
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	p := &Problem{ErrorModel: huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg}}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var detail *huma.ErrorDetail
		if d, ok := err.(huma.ErrorDetailer); ok {
			detail = d.ErrorDetail()
		} else {
			detail = &huma.ErrorDetail{Message: err.Error()}
		}
		if detail.Location == "body" || strings.HasPrefix(detail.Location, "body.credentials") {
			detail.Value = nil
		}
		p.Errors = append(p.Errors, detail)
	}
	if status == http.StatusBadRequest && len(p.Errors) > 0 && p.Errors[0].Location == "body" {
		p.Detail = "the request body is not valid JSON"
	}
	return p
}

// statusOf maps a domain error code to its HTTP status: the one place this
// happens.
var statusOf = map[tether.ErrorCode]int{
	tether.EINVALID:      http.StatusUnprocessableEntity,
	tether.ENOTFOUND:     http.StatusNotFound,
	tether.ECONFLICT:     http.StatusConflict,
	tether.EUNAUTHORIZED: http.StatusUnauthorized,
	tether.EGONE:         http.StatusGone,
	tether.ELOCKED:       http.StatusLocked,
	tether.EDISABLED:     http.StatusFailedDependency,
}

// problem converts a service error into the API's answer. Anything that is not
// a *tether.Error is internal: logged in full, answered as "internal error".
func (h *handlers) problem(ctx context.Context, err error) error {
	var e *tether.Error
	if !errors.As(err, &e) {
		h.Log.ErrorContext(ctx, "internal error", slog.Any("error", err))
		return newProblem(http.StatusInternalServerError, "internal error")
	}
	status, ok := statusOf[e.Code]
	if !ok {
		h.Log.ErrorContext(ctx, "internal error", slog.Any("error", err))
		return newProblem(http.StatusInternalServerError, "internal error")
	}
	p := newProblem(status, e.Message).(*Problem)
	p.ErrorType = e.Type
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: f.Location, Message: f.Message, Value: f.Value})
	}
	return p
}
