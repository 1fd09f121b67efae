package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tetherhq/tether/sandbox"
)

type sandboxCmd struct {
	Listen string `env:"TETHER_SANDBOX_LISTEN" default:"127.0.0.1:8090" help:"Address the sandbox provider serves on."`
	Seed   int64  `default:"1" help:"Seed of the generated records."`
}

func (s *sandboxCmd) Run(ctx context.Context) error {
	sb := sandbox.New(sandbox.Options{Seed: s.Seed})
	return runSandbox(ctx, sb, s.Listen, func(url string) {
		fmt.Printf("Sandbox provider (acme_wms) serving on %s\n", url)
		fmt.Printf("An API key with every scope: %s\n", sb.CreateKey("", sandbox.ScopeOrders, sandbox.ScopeInventory, sandbox.ScopeReturns))
		fmt.Printf("Admin API: POST %s/_admin/keys, /_admin/faults (see sandbox/README.md)\n", url)
	})
}

// runSandbox serves sb on listen until ctx ends.
func runSandbox(ctx context.Context, sb *sandbox.Sandbox, listen string, ready func(url string)) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready("http://" + ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
