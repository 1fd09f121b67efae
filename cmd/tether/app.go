package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/api"
	"github.com/tetherhq/tether/calllog"
	"github.com/tetherhq/tether/catalog"
	"github.com/tetherhq/tether/connections"
	"github.com/tetherhq/tether/health"
	"github.com/tetherhq/tether/monitor"
	"github.com/tetherhq/tether/outbound"
	"github.com/tetherhq/tether/postgres"
	"github.com/tetherhq/tether/probe"
	"github.com/tetherhq/tether/proxy"
	"github.com/tetherhq/tether/sqlite"
	"github.com/tetherhq/tether/vault"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// app is one wired Tether instance.
type app struct {
	cfg         *Config
	log         *slog.Logger
	store       tether.Store
	catalog     *catalog.Catalog
	vault       *vault.Vault
	client      *outbound.Client
	connections *connections.Service
	calls       *calllog.Batcher   // the call log's writer
	retention   *calllog.Retention // deletes calls past TETHER_CALL_LOG_RETENTION
	monitor     *monitor.Monitor   // the health engine and its confirmations
	proxy       *proxy.Forwarder
}

// openApp validates cfg, loads the catalog, opens (and migrates) the store and
// the vault, and wires the services.
func openApp(ctx context.Context, cfg *Config, log *slog.Logger) (*app, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cat, err := catalog.Load(cfg.ProvidersDir)
	if err != nil {
		return nil, fmt.Errorf("load provider definitions: %w", err)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	v, err := openVault(cfg, log)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	client := outbound.New(outbound.Config{AllowPrivateNetworks: cfg.AllowPrivateNetworks, UserAgent: "Tether/" + version})
	policy := health.Policy{SystemErrorAfter: cfg.SystemErrorAfter, SystemErrorSpan: time.Duration(cfg.SystemErrorSpan)}
	mon := monitor.New(store, cat, probe.New(store, cat, v, client, os.Getenv), monitor.Options{Policy: policy}, log)
	calls := calllog.New(store, mon.Apply, calllog.Options{Writers: cfg.CallLogWriters, Log: log})
	mon.Start(calls)
	return &app{
		cfg: cfg, log: log, store: store, catalog: cat, vault: v, client: client,
		connections: connections.New(store, cat, v, client, calls, log),
		calls:       calls,
		retention:   calllog.NewRetention(store, time.Duration(cfg.CallLogRetention), log),
		monitor:     mon,
		proxy:       proxy.New(store, cat, v, client, calls, log),
	}, nil
}

func openStore(ctx context.Context, cfg *Config) (tether.Store, error) {
	if cfg.databaseKind() == "postgres" {
		return postgres.Open(ctx, string(cfg.DatabaseURL))
	}
	return sqlite.Open(ctx, cfg.sqlitePath())
}

// openVault loads the master key: from the environment or its file, or, for
// SQLite only, generated into the data directory with a warning.
func openVault(cfg *Config, log *slog.Logger) (*vault.Vault, error) {
	var current []byte
	var err error
	switch {
	case cfg.MasterKey != "":
		current, err = vault.ParseMasterKey(string(cfg.MasterKey))
	case cfg.MasterKeyFile != "":
		current, _, err = vault.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	default:
		path := filepath.Join(cfg.DataDir, "master.key")
		var created bool
		current, created, err = vault.LoadOrCreateKeyFile(path)
		if err == nil {
			verb := "using the"
			if created {
				verb = "generated a"
			}
			log.Warn(verb+" development master key in the data directory; set TETHER_MASTER_KEY in production and keep it apart from the database",
				"path", path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	var previous [][]byte
	for _, s := range strings.Split(string(cfg.PreviousMasterKeys), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, err := vault.ParseMasterKey(s)
		if err != nil {
			return nil, fmt.Errorf("TETHER_PREVIOUS_MASTER_KEYS: %w", err)
		}
		previous = append(previous, k)
	}
	return vault.New(current, previous...)
}

// ensureAPIKey makes sure someone can call the API: the bootstrap key from
// the environment is accepted, or, on the first start of an empty database,
// one admin key is generated and printed once.
func (a *app) ensureAPIKey(ctx context.Context, print func(secret string)) error {
	if a.cfg.BootstrapAPIKey != "" {
		secret := string(a.cfg.BootstrapAPIKey)
		if _, err := a.store.APIKeyByHash(ctx, tether.HashAPIKey(secret)); err == nil {
			return nil
		} else if !tether.IsNotFound(err) {
			return fmt.Errorf("look up bootstrap api key: %w", err)
		}
		err := a.store.CreateAPIKey(ctx, tether.APIKeyFromSecret("bootstrap", secret))
		if err != nil && tether.ErrorCodeOf(err) != tether.ECONFLICT { // another instance saved it first
			return fmt.Errorf("save bootstrap api key: %w", err)
		}
		return nil
	}
	key, secret := tether.NewAPIKey("admin")
	created, err := a.store.CreateFirstAPIKey(ctx, key)
	if err != nil {
		return fmt.Errorf("create the first api key: %w", err)
	}
	if created {
		print(secret)
	}
	return nil
}

// handler is everything Tether serves over HTTP.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	api.Register(mux, api.Deps{
		Store: a.store, Catalog: a.catalog, Connections: a.connections, Log: a.log, Version: version,
		Proxy: a.proxy, Monitor: a.monitor,
	})
	mux.Handle("GET /metrics", a.metricsHandler())
	return mux
}

// serve serves HTTP on the configured address until ctx ends, then shuts
// down gracefully: stop accepting, let requests in flight finish.
func (a *app) serve(ctx context.Context, ready func(addr string)) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.retention.Start()
	defer a.retention.Stop() // after the HTTP shutdown below
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("serving", "addr", ln.Addr().String(), "public_url", a.cfg.PublicURL, "database", a.cfg.databaseKind())
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// close stops the confirmation checks, writes the calls still queued, then
// closes the database.
func (a *app) close() error {
	a.monitor.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(a.calls.Close(ctx), a.store.Close())
}
