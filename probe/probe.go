// Package probe runs the checks Tether makes by itself on a saved
// connection: the credential verification and each resource's probe. It
// reports calls; the health engine decides what they mean.
package probe

import (
	"context"
	"fmt"

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
}

// New returns a Prober.
func New(store tether.ConnectionStore, catalog tether.Catalog, vault tether.Vault, client *outbound.Client) *Prober {
	return &Prober{store: store, catalog: catalog, vault: vault, client: client}
}

// Verify runs the credential verification of c.
func (p *Prober) Verify(ctx context.Context, c *tether.Connection) (*tether.Call, error) {
	def, creds, err := p.prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	return p.call(ctx, c.ID, def, creds, def.Verify.Method, def.Verify.Path)
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
	verification, err := p.call(ctx, c.ID, def, creds, def.Verify.Method, def.Verify.Path)
	if err != nil {
		return nil, err
	}
	calls := []*tether.Call{verification}
	if verification.Signal == tether.SignalAuthFailure || verification.Signal == tether.SignalPermissionFailure {
		return calls, nil // every probe would fail the same way
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
