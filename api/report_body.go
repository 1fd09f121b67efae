package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

// POST /v1/calls decodes and validates its body itself. Left to huma, a body
// was parsed twice (into a tree of maps for the schema's validation, then
// into the Go types) and the tree walked by the generic validator: 38 % of
// the CPU of the reports benchmark on PostgreSQL (docs/performance.md).
// reportBodyDecoder.decode parses it once into a tree, checks the tree
// against the rules the schema states (the tags of reportCallsInputBody and
// ReportedCall, repeated below; TestReportBodyDecodesAsHumaDid holds them
// together) and converts it. A body that breaks a rule, or holds
// anything the checks do not cover, is validated with the operation's own
// schema, as huma would have: a bad body gets the answer it always got.

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

// checked decodes a body that keeps every rule of the schema, in one pass;
// ok is false for any other, and for what the checks leave to validated:
//   - a content type huma does not read as JSON;
//   - a backslash anywhere: tether.Time reads its text unescaped, so an
//     escaped time is an error there that the tree would hide;
//   - numbers other than integer literals (200.0, 2e2: the typed decoding
//     refuses them), read as json.Number so that none is rounded.
func (d reportBodyDecoder) checked(contentType string, body []byte) ([]ReportedCall, bool) {
	if bytes.IndexByte(body, '\\') >= 0 || !d.readsAsJSON(contentType) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil || dec.InputOffset() != int64(len(bytes.TrimRight(body, " \t\r\n"))) {
		return nil, false
	}
	return reportedCallsOf(tree)
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

// reportedCallsOf converts a parsed body whose every member keeps the
// schema's rules; ok is false when one does not, or is beyond what the checks
// cover.
func reportedCallsOf(tree any) (calls []ReportedCall, ok bool) {
	body, ok := tree.(map[string]any)
	if !ok || len(body) != 1 {
		return nil, false
	}
	list, ok := body["calls"].([]any)
	if !ok || len(list) < minReportedCalls || len(list) > maxReportedCalls {
		return nil, false
	}
	calls = make([]ReportedCall, len(list))
	for i, item := range list {
		fields, ok := item.(map[string]any)
		if !ok || !reportedCallOf(fields, &calls[i]) {
			return nil, false
		}
	}
	return calls, true
}

// reportedCallOf fills c from the members of one call if they keep the
// schema's rules: no member beyond ReportedCall's, every required one
// present, each of its type and within its bounds.
func reportedCallOf(fields map[string]any, c *ReportedCall) bool {
	required := 0
	for name, value := range fields {
		var ok bool
		switch name {
		case "connection_id":
			c.ConnectionID, ok = nonEmptyText(value, math.MaxInt)
			required++
		case "method":
			c.Method, ok = nonEmptyText(value, maxMethodLength)
			required++
		case "path":
			c.Path, ok = nonEmptyText(value, maxPathLength)
			required++
		case "status_code":
			c.StatusCode, ok = statusCode(value)
			required++
		case "duration_ms":
			var ms int64
			ms, ok = integer(value, 0, math.MaxInt64)
			c.DurationMS = ms
			required++
		case "started_at":
			c.StartedAt, ok = startTime(value)
			required++
		case "resource":
			c.Resource, ok = text(value, math.MaxInt)
		case "error":
			c.Error, ok = text(value, maxErrorLength)
		}
		if !ok {
			return false // an unknown member, or a bad value
		}
	}
	return required == 6
}

// text is value if it is a string of at most maxLen characters.
func text(value any, maxLen int) (string, bool) {
	s, ok := value.(string)
	// n bytes hold at most n characters: count them only past maxLen bytes.
	return s, ok && (len(s) <= maxLen || utf8.RuneCountInString(s) <= maxLen)
}

// nonEmptyText is value if it is a string of 1 to maxLen characters.
func nonEmptyText(value any, maxLen int) (string, bool) {
	s, ok := text(value, maxLen)
	return s, ok && s != ""
}

// integer is value if it is an integer literal from lo to hi.
func integer(value any, lo, hi int64) (int64, bool) {
	literal, ok := value.(json.Number)
	if !ok || strings.ContainsAny(string(literal), ".eE") {
		return 0, false
	}
	n, err := strconv.ParseInt(string(literal), 10, 64)
	return n, err == nil && n >= lo && n <= hi
}

// statusCode is value as a status code, nil for null (no answer came).
func statusCode(value any) (*int, bool) {
	if value == nil {
		return nil, true
	}
	n, ok := integer(value, minStatusCode, maxStatusCode)
	if !ok {
		return nil, false
	}
	code := int(n)
	return &code, true
}

// startTime is value as tether.Time reads it (RFC 3339).
func startTime(value any) (tether.Time, bool) {
	s, ok := value.(string)
	if !ok {
		return tether.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return tether.Time{}, false
	}
	return tether.NewTime(t), true
}
