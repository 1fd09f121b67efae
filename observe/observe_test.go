package observe

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

var def = &tether.ProviderDefinition{
	Name: "acme_wms", DisplayName: "Acme WMS", BaseURL: "{server}/api",
	Auth: tether.AuthSpec{Type: tether.AuthAPIKey,
		Fields: []tether.FieldSpec{{Name: "server"}, {Name: "api_key", Secret: true}},
		Header: &tether.InjectSpec{Name: "X-Api-Key", Value: "{api_key}"}},
	Verify:    tether.VerifySpec{Method: "GET", Path: "/me"},
	Resources: []tether.ResourceSpec{{Name: "orders", Paths: []string{"/orders", "/orders/*"}}},
	Rules:     []tether.RuleSpec{{Status: "200", BodyPath: "error", Equals: "invalid_auth", Signal: tether.SignalAuthFailure}},
}

const secret = "sk_test_very_secret_key"

var creds = tether.Credentials{"server": "http://wms.example", "api_key": secret}

func exchange(status int, body string) Exchange {
	u, _ := url.Parse("http://wms.example/api/orders/42?api_key=" + secret)
	return Exchange{
		Def: def, Creds: creds, ConnectionID: "conn_1", Source: tether.SourceProxy,
		Method: "get", Path: "/orders/42?expand=lines", URL: u,
		RequestHeader:  http.Header{"X-Api-Key": {secret}, "Accept": {"application/json"}},
		StatusCode:     status,
		ResponseHeader: http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"session=abc"}},
		Body:           []byte(body),
		StartedAt:      time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Duration: 42 * time.Millisecond,
	}
}

func TestSuccessfulCall(t *testing.T) {
	c := Call(exchange(200, `{"id": 42}`))
	if c.Signal != tether.SignalSuccess || c.Outcome != tether.OutcomeSuccess || *c.Resource != "orders" ||
		*c.StatusCode != 200 || c.Method != "GET" || c.DurationMS != 42 || *c.ConnectionID != "conn_1" {
		t.Errorf("call = %+v", c)
	}
	if c.ResponseBody != nil || c.Error != nil {
		t.Errorf("a success keeps no body or error: %+v", c)
	}
	if !tether.HasPrefix(c.ID, tether.PrefixCall) {
		t.Errorf("id %q", c.ID)
	}
}

func TestFailedCallKeepsTheReasonRedacted(t *testing.T) {
	c := Call(exchange(401, `{"message": "key `+secret+` was revoked"}`))
	if c.Signal != tether.SignalAuthFailure || c.Outcome != tether.OutcomeFailure {
		t.Fatalf("signal %s outcome %s", c.Signal, c.Outcome)
	}
	if c.Error == nil || !strings.Contains(*c.Error, "HTTP 401") || !strings.Contains(*c.Error, "revoked") {
		t.Errorf("error = %v", c.Error)
	}
	if c.ResponseBody == nil {
		t.Fatal("a failure keeps its body")
	}
	everything := strings.Join([]string{*c.Error, *c.ResponseBody, c.URL, c.Path, c.RequestHeaders["X-Api-Key"], c.ResponseHeaders["Set-Cookie"]}, " ")
	if strings.Contains(everything, secret) || strings.Contains(everything, "session=abc") {
		t.Errorf("a secret leaked into the call: %s", everything)
	}
}

func TestBodyIsCappedAt4KiB(t *testing.T) {
	c := Call(exchange(500, strings.Repeat("x", 10000)))
	if len(*c.ResponseBody) != tether.MaxLoggedBody {
		t.Errorf("body of %d bytes kept", len(*c.ResponseBody))
	}
}

func TestRuleAndNoAnswer(t *testing.T) {
	if c := Call(exchange(200, `{"ok": false, "error": "invalid_auth"}`)); c.Signal != tether.SignalAuthFailure {
		t.Errorf("rule-matched 200: %s", c.Signal)
	}
	x := exchange(0, "")
	x.Err = errors.New("dial tcp: connection refused")
	c := Call(x)
	if c.StatusCode != nil || c.Signal != tether.SignalTransient || *c.Error != "dial tcp: connection refused" {
		t.Errorf("no answer: %+v", c)
	}
	x = exchange(200, "")
	x.Path = "/unrelated"
	if c := Call(x); c.Resource != nil {
		t.Errorf("a path matching no resource got %v", *c.Resource)
	}
}

// BenchmarkCall is a successful proxied call classified and redacted, with
// its redactor made once, as the proxy keeps one per connection.
func BenchmarkCall(b *testing.B) {
	x := exchange(200, `{"id":42}`)
	x.Redactor = outbound.NewRedactor(def, creds)
	for b.Loop() {
		Call(x)
	}
}
