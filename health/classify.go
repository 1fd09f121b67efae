// Package health is Tether's one classifier and health engine: pure functions
// over domain types, no I/O. Every outcome of a provider call (proxied,
// reported, probe, sync, credential test) is classified here, and nowhere else.
package health

import (
	"encoding/json"
	"strconv"

	tether "github.com/tetherhq/tether"
)

// Outcome is what came back from one provider call.
type Outcome struct {
	// StatusCode is 0 when no answer came (network error, timeout).
	StatusCode int
	// Body is the answer's body, as far as it was read; provider rules
	// inspect it.
	Body []byte
}

// Classify returns the signal of an outcome: the first provider rule that
// matches, otherwise the status-code table of API.md "Classification".
func Classify(def *tether.ProviderDefinition, o Outcome) string {
	body := lazyJSON{raw: o.Body}
	for _, r := range def.Rules {
		if ruleMatches(r, o.StatusCode, &body) {
			return r.Signal
		}
	}
	return classifyStatus(def, o.StatusCode)
}

func classifyStatus(def *tether.ProviderDefinition, code int) string {
	switch {
	case code == 0:
		return tether.SignalTransient
	case code >= 200 && code < 400:
		return tether.SignalSuccess
	case code == 401:
		return tether.SignalAuthFailure
	case code == 403:
		return tether.SignalPermissionFailure
	case code == 404 && def.Category == tether.CategoryEnrichment:
		return tether.SignalSuccess // "no match" is a normal answer of a lookup API
	case code == 429, code == 501:
		return tether.SignalSuccess // the connection works; the provider limits rate / lacks the feature
	case code >= 500:
		return tether.SignalTransient
	default:
		return tether.SignalRequestError
	}
}

func ruleMatches(r tether.RuleSpec, code int, body *lazyJSON) bool {
	if !StatusMatches(r.Status, code) {
		return false
	}
	if r.BodyPath == "" {
		return true
	}
	v, ok := tether.LookupPath(body.value(), r.BodyPath)
	if !ok {
		return false
	}
	if r.Equals == "" {
		return v != nil && v != false && v != ""
	}
	s, ok := tether.ScalarString(v)
	return ok && s == r.Equals
}

// StatusMatches matches a rule's status: a code ("200") or a class ("4xx").
// It formats nothing: the proxy asks it for every call.
func StatusMatches(pattern string, code int) bool {
	if code == 0 {
		return false
	}
	if len(pattern) == 3 && pattern[1:] == "xx" {
		return int(pattern[0])-'0' == code/100
	}
	n, err := strconv.Atoi(pattern)
	return err == nil && n == code
}

// lazyJSON decodes a body at most once, and only if a rule looks into it.
type lazyJSON struct {
	raw     []byte
	decoded bool
	v       any
}

func (l *lazyJSON) value() any {
	if !l.decoded {
		l.decoded = true
		_ = json.Unmarshal(l.raw, &l.v) // a body that is not JSON matches no body rule
	}
	return l.v
}

// IsSuccess reports whether a signal counts as a success (API.md: outcome is
// "success" exactly when the signal is).
func IsSuccess(signal string) bool { return signal == tether.SignalSuccess }
