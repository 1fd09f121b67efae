package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/monitor"
)

// ReportedCall is one outcome of a call the app made itself.
type ReportedCall struct {
	ConnectionID string      `json:"connection_id" minLength:"1"`
	Method       string      `json:"method" minLength:"1" maxLength:"16" example:"GET"`
	Path         string      `json:"path" minLength:"1" maxLength:"2048" example:"/orders?limit=50" doc:"The provider path, relative to its base URL"`
	StatusCode   *int        `json:"status_code" minimum:"100" maximum:"599" doc:"null when no answer came (network error, timeout)"`
	DurationMS   int64       `json:"duration_ms" minimum:"0"`
	StartedAt    tether.Time `json:"started_at"`
	Resource     string      `json:"resource,omitempty" doc:"Overrides the resource found from the definition's paths"`
	Error        string      `json:"error,omitempty" maxLength:"2048" doc:"What went wrong, in the app's words"`
}

type reportCallsInput struct {
	Body struct {
		Calls []ReportedCall `json:"calls" minItems:"1" maxItems:"1000"`
	}
}

type reportCallsOutput struct {
	Status int
	Body   struct {
		Data struct {
			Accepted int `json:"accepted"`
		} `json:"data"`
	}
}

func (h *handlers) registerReports(api huma.API) {
	if h.Monitor == nil {
		return
	}
	o := op("reportCalls", http.MethodPost, "/v1/calls",
		"Report outcomes of calls the app made itself (at most 1,000); they are classified and count for health like proxied calls", "calls")
	o.DefaultStatus = http.StatusAccepted
	huma.Register(api, o, func(ctx context.Context, in *reportCallsInput) (*reportCallsOutput, error) {
		reports := make([]monitor.Reported, len(in.Body.Calls))
		for i, c := range in.Body.Calls {
			reports[i] = monitor.Reported{
				ConnectionID: c.ConnectionID, Method: c.Method, Path: c.Path, DurationMS: c.DurationMS,
				StartedAt: c.StartedAt, Resource: c.Resource, Error: c.Error,
			}
			if c.StatusCode != nil {
				reports[i].StatusCode = *c.StatusCode
			}
		}
		n, err := h.Monitor.Report(ctx, reports)
		if err != nil {
			return nil, h.problem(ctx, err)
		}
		out := &reportCallsOutput{Status: http.StatusAccepted}
		out.Body.Data.Accepted = n
		return out, nil
	})
}
