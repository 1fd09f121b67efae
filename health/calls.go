package health

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	tether "github.com/tetherhq/tether"
)

// SignalOf is the signal a logged call gives the engine.
func SignalOf(c *tether.Call) Signal {
	s := Signal{
		Kind:         c.Signal,
		At:           c.StartedAt,
		Verification: c.Verification,
		Probe:        c.Source == tether.SourceProbe && !c.Verification,
	}
	if c.Resource != nil {
		s.Resource = *c.Resource
	}
	if c.StatusCode != nil {
		s.HTTPStatus = *c.StatusCode
	}
	if c.Error != nil {
		s.Reason = *c.Error
	}
	if c.Retried {
		s.Kind = tether.SignalRequestError // its retry's outcome is the one that counts
	}
	return s
}

// ApplyCalls applies the signals of calls, in order, to c.
func ApplyCalls(def *tether.ProviderDefinition, c *tether.Connection, calls []*tether.Call, p Policy) Result {
	signals := make([]Signal, len(calls))
	for i, call := range calls {
		signals[i] = SignalOf(call)
	}
	return Apply(def, c, signals, p)
}

// maxReason bounds the provider's words quoted back to people.
const maxReason = 300

// ProviderReason finds a human explanation in a provider's error body: the
// members providers commonly use in JSON, otherwise short plain text. It
// returns "" when there is none (e.g. an HTML error page). Callers redact it.
func ProviderReason(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		text := strings.TrimSpace(string(body))
		if text == "" || strings.HasPrefix(text, "<") || !utf8.ValidString(text) {
			return ""
		}
		return truncate(text)
	}
	for _, path := range []string{"message", "error_description", "error.message", "detail", "errors.0.message", "errors.0.detail", "error", "title"} {
		if found, ok := tether.LookupPath(v, path); ok {
			if s, ok := found.(string); ok && s != "" {
				return truncate(s)
			}
		}
	}
	return ""
}

func truncate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
