package main

import (
	"context"
	"fmt"
	"os"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/connections"
	"github.com/tetherhq/tether/sandbox"
)

type demoCmd struct {
	Config        `embed:""`
	SandboxListen string `env:"TETHER_SANDBOX_LISTEN" default:"127.0.0.1:8090" help:"Address the demo's sandbox provider serves on."`
}

// demoCustomers are the demo connections, one per state the demo shows.
var demoCustomers = []struct {
	customer, name string
	scopes         []string
	revoke         bool
}{
	{"demo-healthy", "Demo: healthy", []string{sandbox.ScopeOrders, sandbox.ScopeInventory, sandbox.ScopeReturns}, false},
	{"demo-missing-permission", "Demo: returns not granted", []string{sandbox.ScopeOrders, sandbox.ScopeInventory}, false},
	{"demo-revoked", "Demo: key revoked", []string{sandbox.ScopeOrders, sandbox.ScopeInventory, sandbox.ScopeReturns}, true},
}

func (d *demoCmd) Run(ctx context.Context) error {
	if d.Listen == "" {
		d.Listen = "127.0.0.1:8080"
	}
	d.AllowPrivateNetworks = true // the sandbox runs on loopback
	defer keepHeapFloor(&d.Config)()
	log := newLogger(&d.Config)
	a, err := openApp(ctx, &d.Config, log)
	if err != nil {
		return err
	}
	defer a.close()

	sb := sandbox.New(sandbox.Options{Seed: 1})
	sandboxURL := make(chan string, 1)
	sandboxErr := make(chan error, 1)
	go func() { sandboxErr <- runSandbox(ctx, sb, d.SandboxListen, func(url string) { sandboxURL <- url }) }()
	var url string
	select {
	case url = <-sandboxURL:
	case err := <-sandboxErr:
		return err
	}
	if err := a.seedDemo(ctx, sb, url); err != nil {
		return fmt.Errorf("create demo connections: %w", err)
	}
	key, secret := tether.NewAPIKey("demo")
	if err := a.store.CreateAPIKey(ctx, key); err != nil {
		return err
	}
	return a.serve(ctx, func(addr string) {
		fmt.Fprintf(os.Stdout, "\nTether demo is running.\n\n"+
			"  API:       %[1]s/v1  (OpenAPI: %[1]s/openapi.json, docs: %[1]s/docs)\n"+
			"  API key:   %[2]s\n"+
			"  Sandbox:   %[3]s (the acme_wms provider)\n\n"+
			"Try:\n  curl -H 'Authorization: Bearer %[2]s' %[1]s/v1/connections\n\n",
			d.PublicURL, secret, url)
	})
}

// seedDemo replaces the demo connections with fresh ones against this run's
// sandbox (whose keys live in memory), one for each state the demo shows.
func (a *app) seedDemo(ctx context.Context, sb *sandbox.Sandbox, sandboxURL string) error {
	for _, demo := range demoCustomers {
		old, _, err := a.connections.Connections(ctx, tether.ConnectionFilter{CustomerID: demo.customer, Limit: 100})
		if err != nil {
			return err
		}
		for _, c := range old {
			if err := a.connections.Delete(ctx, c.ID); err != nil {
				return err
			}
		}
		apiKey := sb.CreateKey("acct_"+demo.customer, demo.scopes...)
		c, err := a.connections.Create(ctx, connections.CreateInput{
			IntegrationName: "acme_wms",
			CustomerID:      demo.customer,
			DisplayName:     demo.name,
			Credentials:     tether.Credentials{"server": sandboxURL, "api_key": apiKey},
			Metadata:        map[string]any{"demo": true},
		})
		if err != nil {
			return err
		}
		if demo.revoke {
			sb.RevokeKey(apiKey)
		}
		// Check now, so the demo shows each state from the start.
		if err := a.monitor.CheckNow(ctx, c.ID); err != nil {
			return err
		}
		a.log.Info("demo connection", "connection_id", c.ID, "customer_id", demo.customer)
	}
	return nil
}
