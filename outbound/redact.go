package outbound

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/tetherhq/tether"
)

// Redacted replaces every secret in redacted output.
const Redacted = "[REDACTED]"

// RedactHeaders returns a copy of h fit for logs: see Redactor.Headers.
func RedactHeaders(h http.Header, def *tether.ProviderDefinition, creds tether.Credentials) http.Header {
	return NewRedactor(def, creds).Headers(h)
}

// RedactURL returns u as a string fit for logs: see Redactor.URL.
func RedactURL(u *url.URL, def *tether.ProviderDefinition, creds tether.Credentials) string {
	return NewRedactor(def, creds).URL(u)
}

// RedactText returns s with every secret credential value replaced: see
// Redactor.Text.
func RedactText(s string, creds tether.Credentials, def *tether.ProviderDefinition) string {
	return NewRedactor(def, creds).Text(s)
}

// Redactor removes one connection's secrets from what is logged. Build one per
// call and use it for its headers, URL and body, rather than the package
// functions that each build their own. def and creds may be nil.
type Redactor struct {
	authHeader string // canonical name of the definition's auth header
	authQuery  string // name of the definition's auth query parameter
	// forms are the secret values and their escaped forms, longest first.
	forms []string
	// replacer replaces forms; built on the first text that holds one, as
	// most texts hold none and building it costs more than looking.
	replacer func() *strings.Replacer
}

// NewRedactor returns a Redactor for the secrets of creds: the fields def marks
// secret, access_token and refresh_token, and any field whose name says it is
// a secret (a token, key, secret or password), in case a definition forgot to
// mark one.
func NewRedactor(def *tether.ProviderDefinition, creds tether.Credentials) *Redactor {
	forms := secretForms(secretValues(def, creds))
	r := &Redactor{forms: forms, replacer: sync.OnceValue(func() *strings.Replacer { return formReplacer(forms) })}
	if def != nil && def.Auth.Header != nil {
		r.authHeader = http.CanonicalHeaderKey(def.Auth.Header.Name)
	}
	if def != nil && def.Auth.Query != nil {
		r.authQuery = def.Auth.Query.Name
	}
	return r
}

// Headers returns a copy of h in which credential-bearing headers
// (Authorization, Proxy-Authorization, Cookie, Set-Cookie, the definition's
// auth header, any header whose name contains token, key, secret, auth,
// password, session, cookie or signature) read Redacted, and secret values
// are removed from all the others.
func (r *Redactor) Headers(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for name, values := range h {
		redacted := make([]string, len(values))
		for i, v := range values {
			redacted[i] = r.headerValue(name, v)
		}
		out[name] = redacted
	}
	return out
}

// FlatHeaders is Headers in the call log's form, {"Name": "v1, v2"}.
func (r *Redactor) FlatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		if len(values) == 1 {
			out[name] = r.headerValue(name, values[0])
			continue
		}
		redacted := make([]string, len(values))
		for i, v := range values {
			redacted[i] = r.headerValue(name, v)
		}
		out[name] = strings.Join(redacted, ", ")
	}
	return out
}

// headerValue is the redacted value of one header.
func (r *Redactor) headerValue(name, value string) string {
	if r.isSecretHeader(name) {
		return Redacted
	}
	return r.Text(value)
}

// URL returns u without userinfo, with the auth query parameter and any
// secret-looking one (…token…, …secret…, …password…, …signature…, …key) set
// to Redacted, and with secret values removed wherever else they appear.
func (r *Redactor) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = r.query(u.RawQuery)
	return r.Text(c.String())
}

// Text returns s with every secret value replaced by Redacted, including
// their URL-escaped and JSON-escaped forms and the HTTP Basic token.
func (r *Redactor) Text(s string) string {
	if !containsAny(s, r.forms...) {
		return s
	}
	return r.replacer().Replace(s)
}

func (r *Redactor) isSecretHeader(name string) bool {
	return http.CanonicalHeaderKey(name) == r.authHeader || sensitiveHeaderName(name)
}

// query redacts a raw query pair by pair, keeping everything else exactly as
// written (url.Values.Encode would reorder and re-escape it).
func (r *Redactor) query(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	pairs := strings.Split(rawQuery, "&")
	for i, pair := range pairs {
		name := queryKey(pair)
		if name != "" && (name == r.authQuery || sensitiveQueryName(name)) {
			key, _, _ := strings.Cut(pair, "=")
			pairs[i] = key + "=" + Redacted
		}
	}
	return strings.Join(pairs, "&")
}

// sensitiveHeaderName covers Authorization, Proxy-Authorization, Cookie,
// Set-Cookie and custom credential headers (X-Api-Key, X-Auth-Token, ...).
func sensitiveHeaderName(name string) bool {
	var buf [128]byte // a lower-case copy on the stack: this runs for every header of every logged call
	if len(name) > len(buf) {
		return containsAny(strings.ToLower(name), sensitiveHeaderParts...)
	}
	lower := buf[:copy(buf[:], name)]
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	for _, part := range sensitiveHeaderParts {
		if bytes.Contains(lower, []byte(part)) {
			return true
		}
	}
	return false
}

var sensitiveHeaderParts = []string{"token", "key", "secret", "auth", "password", "session", "cookie", "signature"}

// sensitiveQueryName is narrower than for headers: query parameters like
// "keyword" or "author" are common and worth keeping readable.
func sensitiveQueryName(name string) bool {
	lower := strings.ToLower(name)
	return containsAny(lower, "token", "secret", "password", "signature") ||
		strings.HasSuffix(lower, "key") || lower == "auth" || lower == "sig"
}

// sensitiveFieldName says a credential field holds a secret whatever the
// definition says.
func sensitiveFieldName(name string) bool {
	return containsAny(strings.ToLower(name), "token", "secret", "password", "key")
}

func containsAny(s string, parts ...string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// secretValues lists the secret credential values.
func secretValues(def *tether.ProviderDefinition, creds tether.Credentials) []string {
	secret := map[string]bool{"access_token": true, "refresh_token": true}
	if def != nil {
		for _, name := range def.SecretFields() {
			secret[name] = true
		}
	}
	var values []string
	for name, v := range creds {
		if v != "" && (secret[name] || sensitiveFieldName(name)) {
			values = append(values, v)
		}
	}
	if def != nil && def.Auth.Type == tether.AuthBasic && creds["password"] != "" {
		// What an echoed Authorization header would show.
		values = append(values, base64.StdEncoding.EncodeToString([]byte(creds["username"]+":"+creds["password"])))
	}
	return values
}

// secretForms returns each value and its escaped forms, longer strings
// first, so that a secret that contains another is replaced whole.
func secretForms(values []string) []string {
	var forms []string
	for _, v := range values {
		forms = append(forms, v, url.QueryEscape(v), url.PathEscape(v), jsonEscape(v),
			strings.ReplaceAll(jsonEscape(v), "/", `\/`)) // as PHP's json_encode writes it
	}
	slices.SortFunc(forms, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	return slices.Compact(forms)
}

// formReplacer replaces each of forms, in their order, with Redacted.
func formReplacer(forms []string) *strings.Replacer {
	oldnew := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		oldnew = append(oldnew, f, Redacted)
	}
	return strings.NewReplacer(oldnew...)
}

// jsonEscape returns v as it appears inside a JSON string.
func jsonEscape(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1])
}
