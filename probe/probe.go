// Package probe runs the checks Tether makes by itself on a saved
// connection: the credential verification and each resource's probe. It
// reports calls; the health engine decides what they mean.
package probe

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/observe"
	"github.com/tetherhq/tether/outbound"
)

// Prober runs verifications and probes with a connection's stored
// credentials, within the provider's rate limit.
type Prober struct {
	store   tether.ConnectionStore
	catalog tether.Catalog
	vault   tether.Vault
	client  *outbound.Client
	// env reads the OAuth2 client id and secret variables a definition names.
	env       func(string) string
	refreshes singleflight.Group
}

// New returns a Prober; env looks up environment variables (os.Getenv).
func New(store tether.ConnectionStore, catalog tether.Catalog, vault tether.Vault, client *outbound.Client, env func(string) string) *Prober {
	return &Prober{store: store, catalog: catalog, vault: vault, client: client, env: env}
}

// Verify runs the credential verification of c and returns its calls. An
// OAuth2 connection's expired access token is refreshed first; and when the
// verification is refused, the token is refreshed and the verification
// retried once, as API.md asks before invalid_credentials opens.
func (p *Prober) Verify(ctx context.Context, c *tether.Connection) ([]*tether.Call, error) {
	def, creds, err := p.prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	return p.verify(ctx, c, def, creds)
}

func (p *Prober) verify(ctx context.Context, c *tether.Connection, def *tether.ProviderDefinition, creds tether.Credentials) ([]*tether.Call, error) {
	var calls []*tether.Call
	refreshed := false
	if def.Auth.Type == tether.AuthOAuth2 && needsRefresh(creds, time.Now()) {
		fresh, call, err := p.refresh(ctx, c, def, creds)
		if err != nil {
			return nil, err
		}
		if fresh == nil {
			return []*tether.Call{call}, nil // the refresh's failure is the verdict
		}
		calls, creds, refreshed = append(calls, call), fresh, true
	}
	call, err := p.call(ctx, c.ID, def, creds, def.Verify.Method, def.Verify.Path)
	if err != nil {
		return nil, err
	}
	calls = append(calls, call)
	if refreshed || def.Auth.Type != tether.AuthOAuth2 || creds[tether.FieldRefreshToken] == "" || !refusesCredentials(call) {
		return calls, nil
	}
	fresh, refresh, err := p.refresh(ctx, c, def, creds)
	if err != nil {
		return nil, err
	}
	call.Retried = true
	calls = append(calls, refresh)
	if fresh == nil {
		return calls, nil
	}
	retry, err := p.call(ctx, c.ID, def, fresh, def.Verify.Method, def.Verify.Path)
	if err != nil {
		return nil, err
	}
	return append(calls, retry), nil
}

func refusesCredentials(call *tether.Call) bool {
	return call.Signal == tether.SignalAuthFailure || call.Signal == tether.SignalPermissionFailure
}

// Probe runs the probe of one resource of c.
func (p *Prober) Probe(ctx context.Context, c *tether.Connection, resource string) (*tether.Call, error) {
	def, creds, err := p.prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	spec := def.Resource(resource)
	if spec == nil || spec.Probe == nil {
		return nil, tether.Errorf(tether.EINVALID, "%s has no probe for resource %q", def.Name, resource)
	}
	return p.call(ctx, c.ID, def, creds, spec.Probe.Method, spec.Probe.Path)
}

// CheckAll runs the verification and, unless the credentials failed it,
// every resource probe.
func (p *Prober) CheckAll(ctx context.Context, c *tether.Connection) ([]*tether.Call, error) {
	def, creds, err := p.prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	calls, err := p.verify(ctx, c, def, creds)
	if err != nil {
		return nil, err
	}
	if last := calls[len(calls)-1]; last.Signal != tether.SignalSuccess {
		return calls, nil // the probes would fail the same way, or not say more
	}
	if def.Auth.Type == tether.AuthOAuth2 {
		// A refresh may have renewed the tokens: probe with what is stored now.
		if _, creds, err = p.prepare(ctx, c); err != nil {
			return nil, err
		}
	}
	for _, r := range def.Resources {
		if r.Probe == nil {
			continue
		}
		call, err := p.call(ctx, c.ID, def, creds, r.Probe.Method, r.Probe.Path)
		if err != nil {
			return nil, err
		}
		calls = append(calls, call)
	}
	return calls, nil
}

func (p *Prober) prepare(ctx context.Context, c *tether.Connection) (*tether.ProviderDefinition, tether.Credentials, error) {
	def, err := p.catalog.Provider(c.IntegrationName)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := p.store.Credentials(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	creds, err := p.vault.Open(c.ID, sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("open credentials: %w", err)
	}
	return def, creds, nil
}

// call sends one request within the rate limit and logs it as a probe. A
// request that cannot even be built (a credential field went missing) is
// logged as a failed call too, so the reason shows up.
func (p *Prober) call(ctx context.Context, connectionID string, def *tether.ProviderDefinition, creds tether.Credentials, method, path string) (*tether.Call, error) {
	if err := p.client.Wait(ctx, connectionID, def); err != nil {
		return nil, err
	}
	res, err := p.client.Call(ctx, def, creds, method, path)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	return observe.Call(observe.Sent(def, creds, connectionID, tether.SourceProbe, path, res)), nil
}
