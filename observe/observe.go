// Package observe turns one exchange with a provider into a call log entry:
// classified by the one classifier (health.Classify), assigned to a resource
// by the definition's path patterns, and redacted, so that proxy, probes,
// syncs and credential tests all log the same way.
package observe

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/catalog"
	"github.com/tetherhq/tether/health"
	"github.com/tetherhq/tether/outbound"
)

// Exchange is one call to a provider as Tether saw it.
type Exchange struct {
	Def   *tether.ProviderDefinition
	Creds tether.Credentials // to redact; never logged
	// Redactor is NewRedactor(Def, Creds) made once for many calls (the
	// proxy keeps one per connection); nil: made for this call.
	Redactor *outbound.Redactor
	// CallID is the id the call is logged under, when it had to be known
	// before (the proxy puts it on the answer); "": a new one.
	CallID       string
	ConnectionID string // "" for a test of credentials not saved yet
	Source       string
	Verification bool // the definition's credential verification
	Method       string
	// Path is the provider path relative to base_url, with its query.
	Path           string
	URL            *url.URL // the URL as sent, when Tether sent it
	RequestHeader  http.Header
	StatusCode     int // 0 when no answer came
	ResponseHeader http.Header
	// Body is the start of the answer's body, for provider rules and the log.
	Body      []byte
	Err       error
	StartedAt time.Time
	Duration  time.Duration
}

// Call classifies and redacts an exchange into a call log entry.
func Call(x Exchange) *tether.Call {
	r := x.Redactor
	if r == nil {
		r = outbound.NewRedactor(x.Def, x.Creds)
	}
	signal := health.Classify(x.Def, health.Outcome{StatusCode: x.StatusCode, Body: x.Body})
	if x.CallID == "" {
		x.CallID = tether.NewID(tether.PrefixCall)
	}
	c := &tether.Call{
		ID:              x.CallID,
		IntegrationName: x.Def.Name,
		Source:          x.Source,
		Method:          strings.ToUpper(x.Method),
		Path:            redactPath(r, x.Path),
		DurationMS:      x.Duration.Milliseconds(),
		Signal:          signal,
		Outcome:         tether.OutcomeFailure,
		StartedAt:       tether.NewTime(x.StartedAt),
		RequestHeaders:  r.FlatHeaders(x.RequestHeader),
		ResponseHeaders: r.FlatHeaders(x.ResponseHeader),
		Verification:    x.Verification,
	}
	// The optional fields point at copies, not into x: a pointer into x
	// moved the whole exchange to the heap, for every call.
	if x.ConnectionID != "" {
		id := x.ConnectionID
		c.ConnectionID = &id
	}
	if x.URL != nil {
		c.URL = r.URL(x.URL)
	}
	if name := catalog.MatchResource(x.Def, x.Path); name != "" {
		c.Resource = &name
	}
	if x.StatusCode != 0 {
		code := x.StatusCode
		c.StatusCode = &code
	}
	if health.IsSuccess(signal) {
		c.Outcome = tether.OutcomeSuccess
		return c
	}
	if msg := failureMessage(r, x); msg != "" {
		c.Error = &msg
	}
	if len(x.Body) > 0 {
		body := r.Text(string(x.Body[:min(len(x.Body), tether.MaxLoggedBody)]))
		c.ResponseBody = &body
	}
	return c
}

// failureMessage says why a call failed: the transport error, or the
// provider's own words.
func failureMessage(r *outbound.Redactor, x Exchange) string {
	if x.Err != nil {
		return r.Text(x.Err.Error())
	}
	msg := fmt.Sprintf("HTTP %d", x.StatusCode)
	if reason := health.ProviderReason(x.Body); reason != "" {
		msg += ": " + r.Text(reason)
	}
	return msg
}

func redactPath(r *outbound.Redactor, path string) string {
	u, err := url.Parse(path)
	if err != nil {
		return r.Text(path)
	}
	return r.URL(u)
}

// Sent is the exchange of a request Tether sent itself (a verification, a
// probe, a sync page) to path.
func Sent(def *tether.ProviderDefinition, creds tether.Credentials, connectionID, source, path string, res *outbound.Result) Exchange {
	x := Exchange{
		Def: def, Creds: creds, ConnectionID: connectionID, Source: source,
		Method: res.Request.Method, Path: path, URL: res.Request.URL, RequestHeader: res.Request.Header,
		StatusCode: res.StatusCode, ResponseHeader: res.Header, Body: res.Body, Err: res.Err,
		StartedAt: res.StartedAt, Duration: res.Duration,
	}
	x.Verification = path == def.Verify.Path && res.Request.Method == def.Verify.Method
	return x
}
