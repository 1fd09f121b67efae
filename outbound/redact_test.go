package outbound_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

const (
	secretKey   = "sk_live_4f9c/2+x"
	secretToken = "at_9d8e7f"
)

func redactionFixture() (*tether.ProviderDefinition, tether.Credentials) {
	def := definition("https://{subdomain}.acme.example/api", tether.AuthSpec{
		Type: tether.AuthAPIKey,
		Fields: []tether.FieldSpec{
			{Name: "subdomain"},
			{Name: "client_code", Secret: true},
		},
		Header: &tether.InjectSpec{Name: "X-Acme-Credential", Value: "{client_code}"},
		Query:  &tether.InjectSpec{Name: "c", Value: "{client_code}"},
	})
	creds := tether.Credentials{
		"subdomain":     "shop",
		"client_code":   secretKey,
		"access_token":  secretToken,
		"refresh_token": "rt_1234567",
		"api_key":       "unmarked-but-named-key", // not marked secret: redacted by its name
	}
	return def, creds
}

func assertNoSecret(t *testing.T, what, s string, creds tether.Credentials) {
	t.Helper()
	for name, v := range creds {
		if name == "subdomain" {
			continue
		}
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if strings.Contains(s, form) {
				t.Errorf("%s leaks %s: %s", what, name, s)
			}
		}
	}
}

func TestRedactHeaders(t *testing.T) {
	def, creds := redactionFixture()
	h := http.Header{
		"Authorization":       {"Bearer " + secretToken},
		"Proxy-Authorization": {"Basic abc"},
		"Cookie":              {"session=abc"},
		"Set-Cookie":          {"a=1", "b=2"},
		"X-Acme-Credential":   {secretKey},
		"X-Auth-Token":        {"opaque"},
		"X-Api-Key":           {"opaque"},
		"X-Client-Secret":     {"opaque"},
		"X-Echo":              {"you sent " + secretKey + " and " + url.QueryEscape(secretKey)},
		"Content-Type":        {"application/json"},
	}
	got := outbound.RedactHeaders(h, def, creds)

	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Acme-Credential", "X-Auth-Token", "X-Api-Key", "X-Client-Secret"} {
		if v := got.Get(name); v != outbound.Redacted {
			t.Errorf("%s = %q, want redacted", name, v)
		}
	}
	if v := got.Values("Set-Cookie"); len(v) != 2 || v[0] != outbound.Redacted {
		t.Errorf("Set-Cookie = %q", v)
	}
	if got.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", got.Get("Content-Type"))
	}
	if got.Get("X-Echo") != "you sent [REDACTED] and [REDACTED]" {
		t.Errorf("X-Echo = %q", got.Get("X-Echo"))
	}
	if h.Get("Authorization") != "Bearer "+secretToken {
		t.Error("the original headers were changed")
	}
	for name, values := range got {
		assertNoSecret(t, name, strings.Join(values, " "), creds)
	}
}

func TestRedactURL(t *testing.T) {
	def, creds := redactionFixture()
	u, _ := url.Parse("https://user:pw@shop.acme.example/api/bot" + url.PathEscape(secretKey) +
		"/orders?limit=1&c=" + url.QueryEscape(secretKey) + "&access_token=x&other=" + url.QueryEscape(secretKey) + "&keyword=shoes")
	got := outbound.RedactURL(u, def, creds)

	want := "https://shop.acme.example/api/bot[REDACTED]/orders?limit=1&c=[REDACTED]&access_token=[REDACTED]&other=[REDACTED]&keyword=shoes"
	if got != want {
		t.Fatalf("RedactURL =\n %s\nwant\n %s", got, want)
	}
	assertNoSecret(t, "URL", got, creds)
	if strings.Contains(got, "pw") || u.User == nil {
		t.Fatal("userinfo kept, or the original URL changed")
	}
	if outbound.RedactURL(nil, def, creds) != "" {
		t.Fatal("nil URL")
	}
}

func TestRedactText(t *testing.T) {
	def, creds := redactionFixture()
	body := `{"error": "invalid key ` + secretKey + `", "token": "` + secretToken + `", "escaped": "` + strings.ReplaceAll(secretKey, "/", `\/`) +
		`", "json": "sk_live_4f9c/2+x", "refresh": "rt_1234567", "other": "unmarked-but-named-key"}`
	got := outbound.RedactText(body, creds, def)
	assertNoSecret(t, "text", got, creds)
	for _, want := range []string{`"error": "invalid key [REDACTED]"`, `"escaped": "[REDACTED]"`, `"other": "[REDACTED]"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("RedactText = %s, want it to contain %s", got, want)
		}
	}
}

func TestRedactTextBasicAuthToken(t *testing.T) {
	def := definition("https://x.example", basicAuth())
	creds := tether.Credentials{"username": "ann", "password": "pw-123456"}
	echoed := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw-123456"))
	if got := outbound.RedactText(echoed, creds, def); got != "Authorization: Basic [REDACTED]" {
		t.Fatalf("RedactText = %q", got)
	}
}

func TestRedactLongerSecretFirst(t *testing.T) {
	def := definition("https://x.example", tether.AuthSpec{Type: tether.AuthBearer, Fields: []tether.FieldSpec{{Name: "token", Secret: true}, {Name: "pin", Secret: true}}})
	creds := tether.Credentials{"token": "abcdef", "pin": "abc"}
	if got := outbound.RedactText("x abcdef y abc", creds, def); got != "x [REDACTED] y [REDACTED]" {
		t.Fatalf("RedactText = %q", got)
	}
}

func TestRedactWithoutSecrets(t *testing.T) {
	if got := outbound.RedactText("plain", nil, nil); got != "plain" {
		t.Fatalf("RedactText = %q", got)
	}
	h := outbound.RedactHeaders(http.Header{"Authorization": {"x"}, "Accept": {"*/*"}}, nil, nil)
	if h.Get("Authorization") != outbound.Redacted || h.Get("Accept") != "*/*" {
		t.Fatalf("RedactHeaders = %v", h)
	}
}
