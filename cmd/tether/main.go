// Command tether runs Tether: the service that keeps the third-party
// connections of a SaaS product healthy. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// cli is the command line. Every setting is also a TETHER_* variable.
type cli struct {
	Serve     serveCmd     `cmd:"" help:"Serve the API, the Link pages and the dashboard."`
	Demo      demoCmd      `cmd:"" help:"Serve with the sandbox provider, a printed API key and demo connections."`
	Migrate   migrateCmd   `cmd:"" help:"Apply database migrations and exit."`
	Keys      keysCmd      `cmd:"" help:"Manage API keys."`
	Providers providersCmd `cmd:"" help:"Work with provider definitions."`
	Sandbox   sandboxCmd   `cmd:"" help:"Run the sandbox provider alone."`
	Bench     benchCmd     `cmd:"" help:"Measure Tether (docs/performance.md)."`
	Version   versionCmd   `cmd:"" help:"Print the version."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("tether"),
		kong.Description("Tether keeps the third-party connections of a SaaS product healthy."),
		kong.UsageOnError(),
	)
	if err := run(kctx); err != nil {
		fmt.Fprintln(os.Stderr, "tether:", err)
		os.Exit(1)
	}
}

// run runs the chosen command with a context that ends on SIGINT or SIGTERM.
func run(kctx *kong.Context) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	return kctx.Run()
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("tether", version)
	return nil
}
