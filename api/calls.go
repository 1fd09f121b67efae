package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

type listCallsInput struct {
	ConnectionID string    `query:"connection_id" doc:"Only calls of this connection"`
	Resource     string    `query:"resource" doc:"Only calls that matched this resource"`
	Outcome      string    `query:"outcome" enum:"success,failure" doc:"Only successes or only failures"`
	StatusCode   int       `query:"status_code" minimum:"100" maximum:"599" doc:"Only calls answered with this HTTP status"`
	Source       string    `query:"source" enum:"proxy,report,probe,sync,link_test,refresh" doc:"Only calls from this source"`
	Since        time.Time `query:"since" doc:"Only calls that started at or after this time (RFC 3339)"`
	Until        time.Time `query:"until" doc:"Only calls that started before this time (RFC 3339)"`
	PageParams
}

func (h *handlers) registerCalls(api huma.API) {
	huma.Register(api, op("listCalls", http.MethodGet, "/v1/calls",
		"The call log, newest first; kept TETHER_CALL_LOG_RETENTION (default 60 days)", "calls"),
		func(ctx context.Context, in *listCallsInput) (*many[*tether.Call], error) {
			before, err := decodeCursor(in.Cursor)
			if err != nil {
				return nil, h.problem(ctx, err)
			}
			calls, more, err := h.Store.Calls(ctx, tether.CallFilter{
				ConnectionID: in.ConnectionID,
				Resource:     in.Resource,
				Outcome:      in.Outcome,
				Source:       in.Source,
				StatusCode:   in.StatusCode,
				Since:        optionalTime(in.Since),
				Until:        optionalTime(in.Until),
				Before:       before,
				Limit:        in.Limit,
			})
			if err != nil {
				return nil, h.problem(ctx, err)
			}
			var next *string
			if len(calls) > 0 {
				next = encodeCursor(calls[len(calls)-1].ID, more)
			}
			return list(calls, next), nil
		})
}

// optionalTime is nil for a query time that was not given.
func optionalTime(t time.Time) *tether.Time {
	if t.IsZero() {
		return nil
	}
	return tether.TimePtr(tether.NewTime(t))
}
