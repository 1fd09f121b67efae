// Package monitor keeps each connection's health true: it applies the health
// engine to every recorded call (inside the call log's transaction), and runs
// the checks the engine asks for to confirm a failure (re-verify the
// credentials, probe a resource), whose outcomes come back as calls.
package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/health"
	"github.com/tetherhq/tether/probe"
)

// Recorder queues calls for the call log (calllog.Batcher).
type Recorder interface {
	AddMany(ctx context.Context, calls []*tether.Call) error
}

// Options tune the monitor.
type Options struct {
	Policy health.Policy
	// Workers run confirmation checks in parallel (default 4).
	Workers int
	// QueueSize bounds pending checks (default 1,000); when full, a check is
	// dropped: the next failure asks again.
	QueueSize int
	// CheckTimeout bounds one check (default 30s).
	CheckTimeout time.Duration
}

// Monitor applies health and confirms failures.
type Monitor struct {
	store   tether.Store
	catalog tether.Catalog
	prober  *probe.Prober
	opts    Options
	log     *slog.Logger

	queue   chan health.Check
	mu      sync.Mutex
	pending map[health.Check]bool // queued or running: asked once at a time

	recorder     Recorder
	integrations integrations
	cancel       context.CancelFunc
	wg           sync.WaitGroup
}

// New returns a Monitor; Start runs its confirmation workers.
func New(store tether.Store, catalog tether.Catalog, prober *probe.Prober, opts Options, log *slog.Logger) *Monitor {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 30 * time.Second
	}
	if opts.Policy.SystemErrorAfter <= 0 {
		opts.Policy = health.DefaultPolicy
	}
	return &Monitor{
		store: store, catalog: catalog, prober: prober, opts: opts, log: log,
		queue: make(chan health.Check, opts.QueueSize), pending: map[health.Check]bool{},
	}
}

// Apply is the health engine as the call log applies it: it updates c from
// its calls and returns the events, and queues the confirmations the engine
// asked for (they run after the transaction, and merely re-check).
func (m *Monitor) Apply(c *tether.Connection, calls []*tether.Call) ([]tether.Event, error) {
	def, err := m.catalog.Provider(c.IntegrationName)
	if err != nil {
		return nil, nil //nolint:nilerr // the definition was removed: log the calls, judge nothing
	}
	r := health.ApplyCalls(def, c, calls, m.opts.Policy)
	if c.State == tether.StateActive {
		for _, check := range r.Checks {
			m.ask(check)
		}
	}
	return r.Events, nil
}

func (m *Monitor) ask(check health.Check) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending[check] {
		return
	}
	select {
	case m.queue <- check:
		m.pending[check] = true
	default:
		m.log.Warn("confirmation queue full: check dropped", "connection_id", check.ConnectionID, "resource", check.Resource)
	}
}

func (m *Monitor) done(check health.Check) {
	m.mu.Lock()
	delete(m.pending, check)
	m.mu.Unlock()
}

// Start runs the confirmation workers, which record their calls with rec.
func (m *Monitor) Start(rec Recorder) {
	ctx, cancel := context.WithCancel(context.Background())
	m.recorder, m.cancel = rec, cancel
	for range m.opts.Workers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case check := <-m.queue:
					m.confirm(ctx, check)
					m.done(check)
				}
			}
		}()
	}
}

// Stop stops the workers: checks in flight are cancelled, and nothing runs
// after Stop returns.
func (m *Monitor) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

// confirm runs one check and records its call, which the engine then applies
// as a confirmed outcome.
func (m *Monitor) confirm(ctx context.Context, check health.Check) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.CheckTimeout)
	defer cancel()
	c, err := m.store.Connection(ctx, check.ConnectionID)
	if err != nil || c.State != tether.StateActive {
		return // deleted, paused or disabled since it was asked
	}
	var calls []*tether.Call
	if check.Resource == "" {
		calls, err = m.prober.Verify(ctx, c)
	} else {
		var call *tether.Call
		call, err = m.prober.Probe(ctx, c, check.Resource)
		calls = []*tether.Call{call}
	}
	if err == nil {
		err = m.recorder.AddMany(ctx, calls)
	}
	if err != nil && ctx.Err() == nil {
		m.log.Warn("confirmation check failed", "connection_id", c.ID, "resource", check.Resource, "error", err)
	}
}

// CheckNow runs the verification and every resource probe of a connection
// and applies their outcomes before it returns.
func (m *Monitor) CheckNow(ctx context.Context, id string) error {
	c, err := m.store.Connection(ctx, id)
	if err != nil {
		return err
	}
	calls, err := m.prober.CheckAll(ctx, c)
	if err != nil {
		return fmt.Errorf("check %s: %w", id, err)
	}
	return m.store.RecordCalls(ctx, calls, m.Apply)
}

// Pending is the number of confirmation checks queued or running.
func (m *Monitor) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}
