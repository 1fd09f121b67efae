package api

import (
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// POST /v1/calls decodes and validates its body itself. Left to huma, a body
// was parsed twice (into a tree of maps for the schema's validation, then
// into the Go types) and the tree walked by the generic validator: 38 % of
// the CPU of the reports benchmark on PostgreSQL (docs/performance.md).
// reportBodyDecoder.decode reads it once, straight into the calls, checking
// the rules the schema states as it goes (the tags of reportCallsInputBody
// and ReportedCall, repeated in report_scan.go; TestReportBodyDecodesAsHumaDid
// holds them together). A body that breaks a rule, or holds anything the
// scanner does not cover, is validated with the operation's own schema, as
// huma would have: a bad body gets the answer it always got.

// reportCallsInputBody is the body of POST /v1/calls, as documented.
type reportCallsInputBody struct {
	Calls []ReportedCall `json:"calls" minItems:"1" maxItems:"1000"`
}

// The bounds of the schema, for the checks.
const (
	minReportedCalls = 1
	maxReportedCalls = 1000
	maxMethodLength  = 16
	maxPathLength    = 2048
	maxErrorLength   = 2048
	minStatusCode    = 100
	maxStatusCode    = 599
)

// reportBodyDecoder decodes the bodies of POST /v1/calls.
type reportBodyDecoder struct {
	api    huma.API
	schema *huma.Schema // the body's, as registered
}

// decode returns the calls of a body sent with contentType, or the answer
// huma gives a body its schema refuses.
func (d reportBodyDecoder) decode(contentType string, body []byte) ([]ReportedCall, error) {
	if calls, ok := d.checked(contentType, body); ok {
		return calls, nil
	}
	return d.validated(contentType, body)
}

// checked decodes a body that keeps every rule of the schema, in one pass
// (report_scan.go); ok is false for any other, for what the scanner leaves
// to validated (escapes, numbers other than integer literals), and for a
// content type huma does not read as JSON.
func (d reportBodyDecoder) checked(contentType string, body []byte) ([]ReportedCall, bool) {
	if !d.readsAsJSON(contentType) {
		return nil, false
	}
	return scanReportBody(body)
}

// readsAsJSON says whether huma reads a body of contentType as JSON (and
// does not answer 415), asking its own lookup with the smallest JSON body.
func (d reportBodyDecoder) readsAsJSON(contentType string) bool {
	return d.api.Unmarshal(contentType, []byte("null"), new(any)) == nil
}

// validated is what huma did with every body: the parsed tree validated
// against the schema, then the typed decoding.
func (d reportBodyDecoder) validated(contentType string, body []byte) ([]ReportedCall, error) {
	var tree any
	if err := d.api.Unmarshal(contentType, body, &tree); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, huma.ErrUnknownContentType) {
			status = http.StatusUnsupportedMediaType
		}
		return nil, newProblem(status, "validation failed", &huma.ErrorDetail{Location: "body", Message: err.Error()})
	}
	res := &huma.ValidateResult{}
	path := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	path.Push("body")
	huma.Validate(d.api.OpenAPI().Components.Schemas, d.schema, path, huma.ModeWriteToServer, tree, res)
	if len(res.Errors) > 0 {
		return nil, newProblem(http.StatusUnprocessableEntity, "validation failed", res.Errors...)
	}
	var typed reportCallsInputBody
	if err := d.api.Unmarshal(contentType, body, &typed); err != nil {
		return nil, newProblem(http.StatusUnprocessableEntity, "validation failed", &huma.ErrorDetail{Location: "body", Message: err.Error()})
	}
	return typed.Calls, nil
}
