package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/observe"
	"github.com/tetherhq/tether/outbound"
)

// refreshSkew refreshes a little before the access token expires, so a call
// never starts with a token about to lapse.
const refreshSkew = time.Minute

// needsRefresh reports whether creds hold an access token past (or near) its
// expiry that a refresh token can renew.
func needsRefresh(creds tether.Credentials, now time.Time) bool {
	expires, err := time.Parse(time.RFC3339, creds[tether.FieldExpiresAt])
	return err == nil && creds[tether.FieldRefreshToken] != "" && now.Add(refreshSkew).After(expires)
}

// refresh exchanges the connection's refresh token for new tokens (one at a
// time per connection: providers that rotate refresh tokens would reject the
// second of two concurrent refreshes), seals and saves them, and returns them
// with the logged refresh call. On failure the credentials are nil and the
// call says why: refused (invalid_grant...) is a confirmed auth failure;
// no answer or a 5xx is transient.
func (p *Prober) refresh(ctx context.Context, c *tether.Connection, def *tether.ProviderDefinition, creds tether.Credentials) (tether.Credentials, *tether.Call, error) {
	type result struct {
		creds tether.Credentials
		call  *tether.Call
	}
	v, err, _ := p.refreshes.Do(c.ID, func() (any, error) {
		fresh, call, err := p.exchangeRefreshToken(ctx, c.ID, def, creds)
		if err != nil || fresh == nil {
			return result{call: call}, err
		}
		sealed, err := p.vault.Seal(c.ID, fresh)
		if err != nil {
			return nil, fmt.Errorf("seal refreshed tokens: %w", err)
		}
		_, err = p.store.ReplaceCredentials(ctx, c.ID, sealed, func(*tether.Connection) ([]tether.Event, error) { return nil, nil })
		if err != nil {
			return nil, fmt.Errorf("save refreshed tokens: %w", err)
		}
		return result{creds: fresh, call: call}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	r := v.(result)
	return r.creds, r.call, nil
}

func (p *Prober) exchangeRefreshToken(ctx context.Context, connectionID string, def *tether.ProviderDefinition, creds tether.Credentials) (tether.Credentials, *tether.Call, error) {
	tokenURL, err := outbound.TokenURL(def, creds)
	if err != nil {
		return nil, nil, err
	}
	cfg := oauth2.Config{
		ClientID:     p.env(def.Auth.ClientIDEnv),
		ClientSecret: p.env(def.Auth.ClientSecretEnv),
		Endpoint:     oauth2.Endpoint{TokenURL: tokenURL.String()},
	}
	expired := &oauth2.Token{RefreshToken: creds[tether.FieldRefreshToken], Expiry: time.Unix(1, 0)}
	started := time.Now()
	token, err := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, p.client.HTTPClient()), expired).Token()
	x := observe.Exchange{
		Def: def, Creds: creds, ConnectionID: connectionID, Source: tether.SourceRefresh,
		Method: http.MethodPost, Path: tokenURL.Path, URL: tokenURL,
		StartedAt: started, Duration: time.Since(started), StatusCode: http.StatusOK,
	}
	var refused *oauth2.RetrieveError
	switch {
	case errors.As(err, &refused) && refused.Response != nil:
		x.StatusCode, x.ResponseHeader, x.Body = refused.Response.StatusCode, refused.Response.Header, refused.Body
	case err != nil:
		x.StatusCode, x.Err = 0, err
	}
	call := observe.Call(x)
	if err != nil {
		classifyRefusal(call, refused)
		return nil, call, nil //nolint:nilerr // a refused or failed refresh is an outcome, logged in call
	}
	fresh := tether.Credentials{}
	for k, v := range creds {
		fresh[k] = v
	}
	fresh[tether.FieldAccessToken] = token.AccessToken
	if token.RefreshToken != "" {
		fresh[tether.FieldRefreshToken] = token.RefreshToken
	}
	if !token.Expiry.IsZero() {
		fresh[tether.FieldExpiresAt] = token.Expiry.UTC().Format(time.RFC3339)
	}
	return fresh, call, nil
}

// classifyRefusal sets the signal of a failed refresh: the authorization
// server refusing the grant (any 4xx: invalid_grant, invalid_client...)
// confirms the credentials are no good; anything else is transient.
func classifyRefusal(call *tether.Call, refused *oauth2.RetrieveError) {
	call.Outcome = tether.OutcomeFailure
	if refused != nil && refused.Response != nil && refused.Response.StatusCode >= 400 && refused.Response.StatusCode < 500 {
		call.Signal = tether.SignalAuthFailure
		call.Verification = true
		if refused.ErrorCode != "" {
			msg := "token refresh refused: " + refused.ErrorCode
			call.Error = &msg
		}
		return
	}
	call.Signal = tether.SignalTransient
}
