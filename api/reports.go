package api

import (
	"context"
	"net/http"
	"reflect"
	"time"

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

// reportCallsInput takes the body raw: report_body.go decodes it.
type reportCallsInput struct {
	ContentType string `header:"Content-Type" hidden:"true"`
	RawBody     []byte
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
	body := reportBodyDecoder{api: api, schema: api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[reportCallsInputBody](), true, "ReportCallsInputBody")}
	// The schema documents the body; the decoder validates it, not huma.
	// Huma gives a raw body no read deadline: the one it gives a Body.
	o.SkipValidateBody, o.BodyReadTimeout = true, 5*time.Second
	o.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: body.schema}}}
	huma.Register(api, o, func(ctx context.Context, in *reportCallsInput) (*reportCallsOutput, error) {
		calls, err := body.decode(in.ContentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		reports := make([]monitor.Reported, len(calls))
		for i, c := range calls {
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
	// Huma documents a raw body as binary besides the JSON schema given.
	delete(o.RequestBody.Content, "application/octet-stream")
}
