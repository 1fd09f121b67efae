package outbound_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

const apiKey = "sk_live_abc123/+= secret"

func definition(baseURL string, auth tether.AuthSpec) *tether.ProviderDefinition {
	return &tether.ProviderDefinition{
		Name:    "acme_wms",
		BaseURL: baseURL,
		Auth:    auth,
		Verify:  tether.VerifySpec{Method: "GET", Path: "/me", AccountID: "account.id"},
	}
}

func headerAuth() tether.AuthSpec {
	return tether.AuthSpec{
		Type:   tether.AuthAPIKey,
		Fields: []tether.FieldSpec{{Name: "api_key", Secret: true}},
		Header: &tether.InjectSpec{Name: "X-Api-Key", Value: "Key {api_key}"},
	}
}

func queryAuth() tether.AuthSpec {
	return tether.AuthSpec{
		Type:   tether.AuthAPIKey,
		Fields: []tether.FieldSpec{{Name: "api_key", Secret: true}},
		Query:  &tether.InjectSpec{Name: "api_key", Value: "{api_key}"},
	}
}

func basicAuth() tether.AuthSpec {
	return tether.AuthSpec{
		Type:   tether.AuthBasic,
		Fields: []tether.FieldSpec{{Name: "username"}, {Name: "password", Secret: true}},
	}
}

func newClient() *outbound.Client {
	return outbound.New(outbound.Config{AllowPrivateNetworks: true})
}

func TestInjectAPIKeyHeader(t *testing.T) {
	def := definition("https://api.acme.example/v1", headerAuth())
	req, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"api_key": apiKey}, "", "/orders?limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Api-Key"); got != "Key "+apiKey {
		t.Fatalf("X-Api-Key = %q", got)
	}
	if req.Method != "GET" || req.URL.String() != "https://api.acme.example/v1/orders?limit=1" {
		t.Fatalf("request = %s %s", req.Method, req.URL)
	}
}

func TestInjectAPIKeyQuery(t *testing.T) {
	def := definition("https://api.acme.example/v1", queryAuth())
	// A caller's own api_key parameter is replaced, not doubled.
	req, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"api_key": apiKey}, "GET", "/orders?api_key=mine&limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	if got := q["api_key"]; len(got) != 1 || got[0] != apiKey {
		t.Fatalf("api_key = %q", got)
	}
	if q.Get("limit") != "1" || !strings.HasPrefix(req.URL.RawQuery, "limit=1&") {
		t.Fatalf("query = %q, want limit kept first", req.URL.RawQuery)
	}
}

func TestInjectBasic(t *testing.T) {
	def := definition("https://api.acme.example", basicAuth())
	req, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"username": "ann", "password": "pw:1"}, "GET", "/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, ok := req.BasicAuth()
	if !ok || user != "ann" || pass != "pw:1" {
		t.Fatalf("basic auth = %q %q %v", user, pass, ok)
	}

	_, err = newClient().NewRequest(context.Background(), def, tether.Credentials{"username": "ann"}, "GET", "/me", nil)
	wantFieldError(t, err, "password")
}

func TestInjectBasicWithoutPasswordField(t *testing.T) {
	def := definition("https://api.acme.example", tether.AuthSpec{
		Type: tether.AuthBasic, Fields: []tether.FieldSpec{{Name: "username", Secret: true}},
	})
	req, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"username": "sk_1"}, "GET", "/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Basic "+base64.StdEncoding.EncodeToString([]byte("sk_1:")) {
		t.Fatalf("Authorization = %q", got)
	}
}

func TestInjectBearerAndOAuth2(t *testing.T) {
	cases := []struct {
		auth  tether.AuthSpec
		creds tether.Credentials
		field string
	}{
		{tether.AuthSpec{Type: tether.AuthBearer}, tether.Credentials{"token": "tok_1"}, "token"},
		{tether.AuthSpec{Type: tether.AuthOAuth2}, tether.Credentials{"access_token": "tok_1", "refresh_token": "r"}, "access_token"},
	}
	for _, tc := range cases {
		def := definition("https://api.acme.example", tc.auth)
		req, err := newClient().NewRequest(context.Background(), def, tc.creds, "GET", "/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Get("Authorization"); got != "Bearer tok_1" {
			t.Fatalf("%s: Authorization = %q", tc.auth.Type, got)
		}
		_, err = newClient().NewRequest(context.Background(), def, tether.Credentials{}, "GET", "/me", nil)
		wantFieldError(t, err, tc.field)
	}
}

func TestInjectRejectsControlCharacters(t *testing.T) {
	def := definition("https://api.acme.example", headerAuth())
	_, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"api_key": "a\r\nX-Evil: 1"}, "GET", "/", nil)
	wantFieldError(t, err, "api_key")
	if strings.Contains(err.Error(), "Evil") {
		t.Fatalf("error %q quotes the value", err)
	}
}

func TestMissingFieldNamesIt(t *testing.T) {
	def := definition("https://{subdomain}.acme.example/api", headerAuth())
	_, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"subdomain": "shop"}, "GET", "/", nil)
	wantFieldError(t, err, "api_key")
	_, err = newClient().NewRequest(context.Background(), def, tether.Credentials{"api_key": apiKey}, "GET", "/", nil)
	wantFieldError(t, err, "subdomain")
}

func TestBaseURLOriginFromField(t *testing.T) {
	def := definition("{server}/api", headerAuth())
	creds := tether.Credentials{"api_key": apiKey}

	for server, want := range map[string]string{
		"https://erp.example.com":          "https://erp.example.com/api/me",
		"https://erp.example.com:8443/x/":  "https://erp.example.com:8443/x/api/me",
		"http://erp.example.com/instance1": "http://erp.example.com/instance1/api/me",
	} {
		creds["server"] = server
		req, err := newClient().NewRequest(context.Background(), def, creds, "GET", "/me", nil)
		if err != nil {
			t.Fatalf("%s: %v", server, err)
		}
		if req.URL.String() != want {
			t.Errorf("%s: URL = %s, want %s", server, req.URL, want)
		}
	}

	for _, bad := range []string{
		"erp.example.com", "ftp://erp.example.com", "https://user:pw@erp.example.com",
		"https://erp.example.com?x=1", "https://erp.example.com#frag", "/relative", "https://",
	} {
		creds["server"] = bad
		_, err := newClient().NewRequest(context.Background(), def, creds, "GET", "/me", nil)
		wantFieldError(t, err, "server")
	}
}

func TestBaseURLHostField(t *testing.T) {
	def := definition("https://{shop}.myshopify.example/admin", headerAuth())
	creds := tether.Credentials{"api_key": apiKey, "shop": "acme-store.eu"}
	req, err := newClient().NewRequest(context.Background(), def, creds, "GET", "/orders.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "https://acme-store.eu.myshopify.example/admin/orders.json" {
		t.Fatalf("URL = %s", req.URL)
	}

	for _, bad := range []string{
		"evil.example/", "evil.example#", "evil.example?", "user@evil", "evil.example:80",
		"a b", ".evil", "evil.", "a..b", "ünicode",
	} {
		creds["shop"] = bad
		_, err := newClient().NewRequest(context.Background(), def, creds, "GET", "/", nil)
		wantFieldError(t, err, "shop")
	}
	creds["shop"] = ""
	_, err = newClient().NewRequest(context.Background(), def, creds, "GET", "/", nil)
	wantFieldError(t, err, "shop")
}

func TestBaseURLPathFieldIsEscaped(t *testing.T) {
	def := definition("https://api.acme.example/tenants/{tenant}", headerAuth())
	creds := tether.Credentials{"api_key": apiKey, "tenant": "a/b?c#d"}
	req, err := newClient().NewRequest(context.Background(), def, creds, "GET", "/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.EscapedPath(); got != "/tenants/a%2Fb%3Fc%23d/orders" {
		t.Fatalf("path = %s", got)
	}
	if req.URL.Host != "api.acme.example" || req.URL.RawQuery != "" {
		t.Fatalf("URL = %s", req.URL)
	}

	creds["tenant"] = ".."
	_, err = newClient().NewRequest(context.Background(), def, creds, "GET", "/orders", nil)
	wantCode(t, err, tether.EINVALID)
}

func TestPathJoining(t *testing.T) {
	cases := []struct{ base, path, want string }{
		{"https://x.example/api", "/orders?limit=1", "https://x.example/api/orders?limit=1"},
		{"https://x.example/api/", "/orders", "https://x.example/api/orders"},
		{"https://x.example/api", "orders", "https://x.example/api/orders"},
		{"https://x.example", "/orders", "https://x.example/orders"},
		{"https://x.example/api", "", "https://x.example/api"},
		{"https://x.example/api?v=2", "/orders?limit=1", "https://x.example/api/orders?v=2&limit=1"},
		{"https://x.example/api", "/items/a%2Fb", "https://x.example/api/items/a%2Fb"},
		// A path cannot name another host.
		{"https://x.example/api", "//evil.example/x", "https://x.example/api/evil.example/x"},
		{"https://x.example/api", "/orders#frag", "https://x.example/api/orders"},
	}
	for _, tc := range cases {
		def := definition(tc.base, tether.AuthSpec{Type: tether.AuthBearer})
		req, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"token": "t"}, "GET", tc.path, nil)
		if err != nil {
			t.Fatalf("%s + %s: %v", tc.base, tc.path, err)
		}
		if req.URL.String() != tc.want {
			t.Errorf("%s + %s = %s, want %s", tc.base, tc.path, req.URL, tc.want)
		}
	}
}

func TestPathRejectsDotSegments(t *testing.T) {
	def := definition("https://x.example/api", tether.AuthSpec{Type: tether.AuthBearer})
	for _, p := range []string{"/../admin", "/a/./b", "/%2e%2e/admin", "/a/.."} {
		_, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"token": "t"}, "GET", p, nil)
		wantCode(t, err, tether.EINVALID)
	}
}

func TestBaseURLMustBeHTTP(t *testing.T) {
	for _, base := range []string{"ftp://x.example", "x.example/api", "https://user:pw@x.example"} {
		def := definition(base, tether.AuthSpec{Type: tether.AuthBearer})
		_, err := newClient().NewRequest(context.Background(), def, tether.Credentials{"token": "t"}, "GET", "/", nil)
		if err == nil {
			t.Errorf("%s: no error", base)
		}
	}
}

func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, tether.EINVALID)
	if !strings.Contains(err.Error(), `"`+field+`"`) {
		t.Fatalf("error %q does not name the field %q", err, field)
	}
	if strings.Contains(err.Error(), apiKey) {
		t.Fatalf("error %q leaks the api key", err)
	}
}

func wantCode(t *testing.T, err error, code tether.ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if got := tether.ErrorCodeOf(err); got != code {
		t.Fatalf("error %q has code %s, want %s", err, got, code)
	}
}

// BenchmarkNewRequest builds the proxy's request to a provider beside the
// least net/http itself does for the same request (the URL known, one header
// set), the baseline of what building it costs.
func BenchmarkNewRequest(b *testing.B) {
	def := definition("https://api.acme.example/v1", headerAuth())
	creds := tether.Credentials{"api_key": apiKey}
	ctx := context.Background()
	b.Run("net/http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.acme.example/v1/orders?limit=10", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("X-Api-Key", "Key "+apiKey)
		}
	})
	b.Run("tether", func(b *testing.B) {
		c := newClient()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.NewRequest(ctx, def, creds, http.MethodGet, "/orders?limit=10", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
