package outbound

import (
	"fmt"
	"net/http"
	"net/url"

	tether "github.com/tetherhq/tether"
)

// TokenURL fills the {field} placeholders of an oauth2 definition's
// token_url (e.g. a subdomain) under the same rules as the base URL.
func TokenURL(def *tether.ProviderDefinition, creds tether.Credentials) (*url.URL, error) {
	raw, err := expand(def.Auth.TokenURL, creds, baseURLRenderer(def.Auth.TokenURL))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil || !isHTTP(u) || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("provider %s: token_url does not make an absolute http(s) URL", def.Name)
	}
	return u, nil
}

// HTTPClient is the hardened client for Tether's own calls (SSRF guard,
// timeouts, no redirects), for libraries that take an *http.Client, such as
// golang.org/x/oauth2 for token refresh.
func (c *Client) HTTPClient() *http.Client { return c.bounded }
