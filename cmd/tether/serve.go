package main

import (
	"context"
	"fmt"
	"os"

	"github.com/tetherhq/tether/internal/heapfloor"
)

type serveCmd struct {
	Config `embed:""`
	// CPUProfile is for `tether bench proxy`, which runs serve as a process
	// of its own: the profile covers the serve process only, from start to
	// shutdown.
	CPUProfile string `hidden:"" help:"Write a CPU profile of the whole run to this file."`
}

func (s *serveCmd) Run(ctx context.Context) error {
	if s.Listen == "" {
		s.Listen = ":8080"
	}
	if s.CPUProfile != "" {
		stop, err := startCPUProfile(s.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	defer keepHeapFloor(&s.Config)()
	log := newLogger(&s.Config)
	a, err := openApp(ctx, &s.Config, log)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.ensureAPIKey(ctx, printFirstKey); err != nil {
		return err
	}
	return a.serve(ctx, nil)
}

// printFirstKey shows the generated admin key, the only time it is shown.
func printFirstKey(secret string) {
	fmt.Fprintf(os.Stdout, "\nFirst start: created an admin API key. It is shown only this once:\n\n    %s\n\n"+
		"Use it as: Authorization: Bearer <key>. Manage keys with `tether keys`.\n\n", secret)
}

type migrateCmd struct {
	Config `embed:""`
}

func (m *migrateCmd) Run(ctx context.Context) error {
	m.Listen = ":8080" // unused; lets validation derive a public URL
	if err := m.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &m.Config) // opening applies pending migrations
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		return err
	}
	fmt.Printf("%s schema is current\n", m.databaseKind())
	return nil
}

// keepHeapFloor lets the heap reach TETHER_GC_HEAP_FLOOR before the garbage
// collector runs (see internal/heapfloor), unless the operator tuned the
// collector with GOGC. It returns what undoes it.
func keepHeapFloor(cfg *Config) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	return heapfloor.Keep(uint64(cfg.GCHeapFloor))
}
