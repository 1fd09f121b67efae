package outbound

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tetherhq/tether"
)

// NewRequest builds a call to the provider of def: the definition's base_url
// with its {field} placeholders filled from creds, then path (which may carry
// a query string) appended, then the credentials injected as the definition's
// auth type says. An empty method means GET.
//
// Errors about the credentials (a missing field, a value that cannot go where
// the definition puts it) are tether.Error values with code EINVALID that name
// the field, never its value.
func (c *Client) NewRequest(ctx context.Context, def *tether.ProviderDefinition, creds tether.Credentials, method, path string, body io.Reader) (*http.Request, error) {
	base, err := BaseURL(def, creds)
	if err != nil {
		return nil, err
	}
	u, err := joinPath(base, path)
	if err != nil {
		return nil, err
	}
	if method == "" {
		method = http.MethodGet
	}
	// The request is made for no URL and given u: made for u.String(), it
	// would parse the URL joinPath has just parsed once more.
	req, err := http.NewRequestWithContext(ctx, method, "", body)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", def.Name, err)
	}
	req.URL, req.Host = u, u.Host
	req.Header.Set("Accept", "application/json") // Do sets the User-Agent
	if err := Authorize(req, def, creds); err != nil {
		return nil, err
	}
	return req, nil
}

// Authorize injects creds into req as def.Auth says: api_key into the named
// header and/or query parameter, basic as HTTP Basic from username/password,
// bearer as "Authorization: Bearer {token}", oauth2 as "Authorization: Bearer
// {access_token}". It replaces whatever req carried there, so a proxy can copy
// the caller's headers first and authorize last.
func Authorize(req *http.Request, def *tether.ProviderDefinition, creds tether.Credentials) error {
	switch def.Auth.Type {
	case tether.AuthAPIKey:
		return injectAPIKey(req, def, creds)
	case tether.AuthBasic:
		return injectBasic(req, def, creds)
	case tether.AuthBearer:
		return injectBearer(req, creds, "token")
	case tether.AuthOAuth2:
		return injectBearer(req, creds, "access_token")
	}
	return fmt.Errorf("provider %s: unknown auth type %q", def.Name, def.Auth.Type)
}

func injectAPIKey(req *http.Request, def *tether.ProviderDefinition, creds tether.Credentials) error {
	h, q := def.Auth.Header, def.Auth.Query
	if h == nil && q == nil {
		return fmt.Errorf("provider %s: api_key auth needs a header or a query parameter", def.Name)
	}
	if h != nil {
		value, err := expand(h.Value, creds, headerValue)
		if err != nil {
			return err
		}
		req.Header.Set(h.Name, value)
	}
	if q != nil {
		value, err := expand(q.Value, creds, rawValue)
		if err != nil {
			return err
		}
		req.URL.RawQuery = setQueryParam(req.URL.RawQuery, q.Name, value)
	}
	return nil
}

// injectBasic sends username and password. The password may be absent when
// the definition asks for none (some APIs take the key as the username).
func injectBasic(req *http.Request, def *tether.ProviderDefinition, creds tether.Credentials) error {
	username, err := requiredField(creds, "username")
	if err != nil {
		return err
	}
	password := creds["password"]
	if password == "" && definesField(def, "password") {
		return missingField("password")
	}
	req.SetBasicAuth(username, password)
	return nil
}

func injectBearer(req *http.Request, creds tether.Credentials, field string) error {
	token, err := requiredField(creds, field)
	if err != nil {
		return err
	}
	if err := checkHeaderValue(field, token); err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return nil
}

func definesField(def *tether.ProviderDefinition, name string) bool {
	for _, f := range def.Auth.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

func requiredField(creds tether.Credentials, name string) (string, error) {
	v := creds[name]
	if v == "" {
		return "", missingField(name)
	}
	return v, nil
}

func missingField(name string) error {
	return tether.Errorf(tether.EINVALID, "credential field %q is missing", name)
}

func invalidField(name, why string) error {
	return tether.Errorf(tether.EINVALID, "credential field %q %s", name, why)
}

// headerValue renders a credential into a header value template.
func headerValue(p placeholder, value string) (string, error) {
	return value, checkHeaderValue(p.field, value)
}

// rawValue renders a credential into a query value template; the whole value
// is escaped once filled.
func rawValue(_ placeholder, value string) (string, error) { return value, nil }

// checkHeaderValue refuses control characters, which would split or corrupt
// the header (the transport would refuse too, but less clearly).
func checkHeaderValue(field, value string) error {
	if strings.ContainsFunc(value, isControl) {
		return invalidField(field, "must not contain line breaks or control characters")
	}
	return nil
}

func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// setQueryParam sets name=value in a raw query, dropping any value the query
// already had for name (two values would let a caller's win at some
// providers) and keeping every other parameter exactly as written.
func setQueryParam(rawQuery, name, value string) string {
	var kept []string
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" || queryKey(pair) == name {
			continue
		}
		kept = append(kept, pair)
	}
	kept = append(kept, url.QueryEscape(name)+"="+url.QueryEscape(value))
	return strings.Join(kept, "&")
}

// queryKey returns the unescaped name of one "name=value" query pair.
func queryKey(pair string) string {
	key, _, _ := strings.Cut(pair, "=")
	if unescaped, err := url.QueryUnescape(key); err == nil {
		return unescaped
	}
	return key
}
