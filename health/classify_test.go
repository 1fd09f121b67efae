package health

import (
	"testing"

	tether "github.com/tetherhq/tether"
)

func TestClassifyStatusTable(t *testing.T) {
	plain := &tether.ProviderDefinition{Name: "wms", Category: "wms"}
	enrichment := &tether.ProviderDefinition{Name: "lookup", Category: tether.CategoryEnrichment}
	cases := []struct {
		def  *tether.ProviderDefinition
		code int
		want string
	}{
		{plain, 200, tether.SignalSuccess},
		{plain, 204, tether.SignalSuccess},
		{plain, 302, tether.SignalSuccess},
		{plain, 401, tether.SignalAuthFailure},
		{plain, 403, tether.SignalPermissionFailure},
		{plain, 404, tether.SignalRequestError},
		{enrichment, 404, tether.SignalSuccess},
		{plain, 429, tether.SignalSuccess},
		{plain, 501, tether.SignalSuccess},
		{plain, 500, tether.SignalTransient},
		{plain, 502, tether.SignalTransient},
		{plain, 503, tether.SignalTransient},
		{plain, 0, tether.SignalTransient},
		{plain, 400, tether.SignalRequestError},
		{plain, 409, tether.SignalRequestError},
		{plain, 422, tether.SignalRequestError},
	}
	for _, tc := range cases {
		if got := Classify(tc.def, Outcome{StatusCode: tc.code}); got != tc.want {
			t.Errorf("%s %d: %s, want %s", tc.def.Category, tc.code, got, tc.want)
		}
	}
}

func TestClassifyRules(t *testing.T) {
	def := &tether.ProviderDefinition{Name: "chat", Rules: []tether.RuleSpec{
		{Status: "200", BodyPath: "error", Equals: "invalid_auth", Signal: tether.SignalAuthFailure},
		{Status: "200", BodyPath: "error", Equals: "missing_scope", Signal: tether.SignalPermissionFailure},
		{Status: "4xx", BodyPath: "code", Equals: "42", Signal: tether.SignalTransient},
		{Status: "418", Signal: tether.SignalSuccess},
		{Status: "200", BodyPath: "meta.warning", Signal: tether.SignalRequestError},
	}}
	cases := []struct {
		name string
		code int
		body string
		want string
	}{
		{"body equals", 200, `{"ok":false,"error":"invalid_auth"}`, tether.SignalAuthFailure},
		{"second rule", 200, `{"ok":false,"error":"missing_scope"}`, tether.SignalPermissionFailure},
		{"no rule matches", 200, `{"ok":true}`, tether.SignalSuccess},
		{"class and number", 409, `{"code":42}`, tether.SignalTransient},
		{"class, other value", 409, `{"code":43}`, tether.SignalRequestError},
		{"status only", 418, ``, tether.SignalSuccess},
		{"body path present", 200, `{"meta":{"warning":"deprecated"}}`, tether.SignalRequestError},
		{"body path empty", 200, `{"meta":{"warning":""}}`, tether.SignalSuccess},
		{"not json", 200, `<html>`, tether.SignalSuccess},
		{"no answer", 0, ``, tether.SignalTransient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(def, Outcome{StatusCode: tc.code, Body: []byte(tc.body)}); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestStatusMatches(t *testing.T) {
	cases := []struct {
		pattern string
		code    int
		want    bool
	}{
		{"200", 200, true}, {"200", 201, false}, {"2xx", 204, true}, {"2xx", 301, false},
		{"4xx", 499, true}, {"5xx", 500, true}, {"5xx", 0, false}, {"200", 0, false},
		{"axx", 200, false}, {"abc", 200, false}, {"", 200, false},
	}
	for _, tc := range cases {
		if got := StatusMatches(tc.pattern, tc.code); got != tc.want {
			t.Errorf("StatusMatches(%q, %d) = %v, want %v", tc.pattern, tc.code, got, tc.want)
		}
	}
}
