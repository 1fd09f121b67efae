package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/bench"
	"github.com/tetherhq/tether/internal/sqlstore"
	"github.com/tetherhq/tether/vault"
)

// benchCmd groups the benchmarks whose figures docs/performance.md records.
type benchCmd struct {
	Connections benchConnectionsCmd `cmd:"" help:"Measure the connection endpoints over HTTP with many connections stored, beside a bare net/http baseline, and the memory of serve."`
	Proxy       benchProxyCmd       `cmd:"" help:"Measure the proxy (/v1/proxy/...) beside a bare httputil.ReverseProxy to the same local upstream: peak requests/s, then latency at half of the peak."`
	Reports     benchReportsCmd     `cmd:"" help:"Measure reported calls (POST /v1/calls) committed per second, beside the store's own insert rate, and the memory meanwhile."`
	// ReverseProxy is the baseline of bench proxy, run by it as a process of
	// its own, as Tether is.
	ReverseProxy benchReverseProxyCmd `cmd:"" hidden:"" help:"Serve a bare httputil.ReverseProxy to --upstream on a loopback port."`
	// TCPRelay is the floor of bench proxy, run by it as a process of its
	// own.
	TCPRelay benchTCPRelayCmd `cmd:"" name:"tcp-relay" hidden:"" help:"Relay the connections of a loopback port to --upstream, byte for byte."`
}

type benchReverseProxyCmd struct {
	Upstream string `required:"" help:"Base URL to forward to."`
}

// Run serves the reverse proxy until interrupted, logging its address as
// serve does (for waitServing).
func (b *benchReverseProxyCmd) Run(ctx context.Context) error {
	handler, err := bench.NewReverseProxyHandler(b.Upstream)
	if err != nil {
		return err
	}
	ln, err := listenLoopback(ctx)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type benchTCPRelayCmd struct {
	Upstream string `required:"" help:"Base URL to relay to."`
}

// Run relays until interrupted, logging its address as serve does.
func (b *benchTCPRelayCmd) Run(ctx context.Context) error {
	ln, err := listenLoopback(ctx)
	if err != nil {
		return err
	}
	return bench.ServeTCPRelay(ctx, ln, b.Upstream)
}

// listenLoopback listens on a free loopback port and logs its address as
// serve does, for waitServing.
func listenLoopback(ctx context.Context) (net.Listener, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	slog.New(slog.NewJSONHandler(os.Stderr, nil)).Info("serving", "addr", ln.Addr().String())
	return ln, nil
}

// benchConnectionsCmd seeds a throwaway database, serves it the way `tether
// serve` does and loads it over loopback HTTP; then runs the real `tether
// serve` on the same database to read its memory. It prints a Markdown
// report for docs/performance.md on stdout and its progress on stderr.
type benchConnectionsCmd struct {
	Store          string        `default:"sqlite" enum:"sqlite,postgres" help:"Database to measure: sqlite or postgres."`
	Connections    int           `default:"100000" help:"Connections to store."`
	Requests       int           `default:"5000" help:"Measured requests per endpoint."`
	Warmup         int           `default:"500" help:"Unmeasured requests per endpoint before measuring."`
	Concurrency    int           `default:"8" help:"Requests in flight at once (one keep-alive connection each)."`
	Rounds         int           `default:"5" help:"Turns the endpoints take, so that noise from other work hits them alike."`
	MaxDuration    time.Duration `default:"60s" help:"Upper bound of the measured time of each endpoint."`
	MemoryRequests int           `default:"3000" help:"Requests per endpoint sent to tether serve before its memory is read."`
	DatabaseURL    string        `env:"TETHER_TEST_POSTGRES_URL" help:"PostgreSQL server on which a throwaway database is created, then dropped (--store postgres)."`
	Seed           uint64        `default:"1" help:"Seed of the generated connections and of the order of requests."`
	CPUProfile     string        `help:"Write a CPU profile of the latency measurement (server and load generator together) to this file."`
}

// seeded is a benchmark database, filled.
type seeded struct {
	ids         []string
	apiKey      string
	integration string // the busiest integration, which the filtered pages select
	matches     int    // its unhealthy connections: what the filter selects
	took        time.Duration
	how         string
}

func (s *seeded) installation(baseURL string, seed uint64) bench.Installation {
	return bench.Installation{BaseURL: baseURL, APIKey: s.apiKey, IDs: s.ids, Integration: s.integration, Seed: seed}
}

// Run runs the benchmark and prints its report.
func (b *benchConnectionsCmd) Run(ctx context.Context) error {
	if b.Store == "postgres" && b.DatabaseURL == "" {
		return errors.New("--store postgres needs --database-url (or TETHER_TEST_POSTGRES_URL): a server on which to create the benchmark database")
	}
	if b.Connections < 1 || b.Requests < 1 || b.Concurrency < 1 {
		return errors.New("--connections, --requests and --concurrency must be at least 1")
	}
	var report bytes.Buffer
	if err := b.run(ctx, &report); err != nil {
		return err
	}
	// Printed once the database is gone, so that a closed stdout (| head)
	// cannot kill the run before it cleans up.
	_, err := os.Stdout.Write(report.Bytes())
	return err
}

// run measures and writes the report to w; the database lives only as
// long as run.
func (b *benchConnectionsCmd) run(ctx context.Context, w io.Writer) error {
	cfg, remove, err := b.createDatabase(ctx)
	if err != nil {
		return err
	}
	defer remove()
	s, err := b.seed(ctx, cfg)
	if err != nil {
		return err
	}
	results, cpu, err := b.measureLatency(ctx, cfg, s)
	if err != nil {
		return err
	}
	memory, err := b.measureServe(ctx, cfg, s)
	if err != nil {
		return err
	}
	b.report(w, s, results, cpu, memory)
	return nil
}

// createDatabase makes the run's throwaway database: a SQLite file in a
// temporary directory, or a fresh database on the PostgreSQL server. remove
// deletes it.
func (b *benchConnectionsCmd) createDatabase(ctx context.Context) (cfg *Config, remove func(), err error) {
	return createBenchDatabase(ctx, b.Store, b.DatabaseURL)
}

// createBenchDatabase makes a run's throwaway database of kind store
// ("sqlite" or "postgres", then on the server at serverURL) and the
// configuration of `tether serve` on it. remove deletes both.
func createBenchDatabase(ctx context.Context, store, serverURL string) (cfg *Config, remove func(), err error) {
	dir, err := os.MkdirTemp("", "tether-bench-")
	if err != nil {
		return nil, nil, err
	}
	cfg = benchConfig(dir)
	removeDir := func() { _ = os.RemoveAll(dir) }
	if store == "sqlite" {
		return cfg, removeDir, nil
	}
	databaseURL, drop, err := createPostgresDatabase(ctx, serverURL)
	if err != nil {
		removeDir()
		return nil, nil, err
	}
	cfg.DatabaseURL = Secret(databaseURL)
	return cfg, func() { drop(); removeDir() }, nil
}

// benchConfig is the configuration of `tether serve` with its defaults, on
// loopback, with a data directory of its own and a fresh master key.
func benchConfig(dir string) *Config {
	day := Duration(24 * time.Hour)
	_, apiKey := tether.NewAPIKey("bench")
	return &Config{
		Listen:           "127.0.0.1:0",
		DataDir:          dir,
		DatabaseURL:      Secret("sqlite://" + filepath.Join(dir, "tether.db")),
		MasterKey:        Secret(vault.GenerateMasterKey()),
		BootstrapAPIKey:  Secret(apiKey),
		CallLogRetention: 60 * day,
		ProbeInterval:    Duration(10 * time.Minute),
		SyncInterval:     Duration(time.Hour),
		SystemErrorAfter: 5,
		SystemErrorSpan:  Duration(10 * time.Minute),
		RefreshGrace:     3 * day,
		DisableAfter:     7 * day,
		LogLevel:         "warn",
		LogFormat:        "text",
	}
}

// createPostgresDatabase creates a database named tether_bench_<random> on
// the server at serverURL and returns its URL; drop drops it, even after
// ctx has ended (an interrupted run cleans up too).
func createPostgresDatabase(ctx context.Context, serverURL string) (databaseURL string, drop func(), err error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("--database-url: %w", err)
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "tether_bench_" + hex.EncodeToString(suffix[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create database %s on %s: %w", name, u.Redacted(), err)
	}
	drop = func() {
		defer admin.Close()
		dropCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dropCtx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// seed fills the database as an installation that has run for a while,
// refreshes the planner's statistics and saves the API key of the run.
func (b *benchConnectionsCmd) seed(ctx context.Context, cfg *Config) (*seeded, error) {
	a, err := openApp(ctx, cfg, benchLogger())
	if err != nil {
		return nil, err
	}
	defer a.close()
	if err := a.ensureAPIKey(ctx, nil); err != nil {
		return nil, err
	}
	db, ok := a.store.(*sqlstore.Store)
	if !ok {
		return nil, fmt.Errorf("bench: the %s store is not an sqlstore", cfg.databaseKind())
	}
	fleet := bench.NewFleet(b.Seed, a.catalog.Providers(), a.vault)
	start := time.Now()
	progress := func(done int) {
		fmt.Fprintf(os.Stderr, "seeded %d of %d connections in %s\n", done, b.Connections, time.Since(start).Round(time.Second))
	}
	s := &seeded{apiKey: string(cfg.BootstrapAPIKey), integration: fleet.Busiest()}
	// SQLite takes one transaction per connection through the store itself
	// quickly enough; PostgreSQL needs a network round trip and a commit per
	// statement, so it gets multi-row INSERTs of the same rows.
	if b.Store == "sqlite" {
		s.how = "through `Store.CreateConnection`, one transaction per connection,"
		s.ids, err = bench.SeedOneByOne(ctx, a.store, fleet, b.Connections, progress)
	} else {
		s.how = "with multi-row INSERTs of the rows `Store.CreateConnection` writes, 500 connections per transaction,"
		s.ids, err = bench.SeedBulk(ctx, db.DB(), fleet, b.Connections, progress)
	}
	if err != nil {
		return nil, err
	}
	if err := bench.Analyze(ctx, db.DB(), cfg.databaseKind()); err != nil {
		return nil, err
	}
	s.took = time.Since(start)
	s.matches = fleet.Count(bench.FilterKey{Integration: s.integration, Status: tether.StatusUnhealthy})
	return s, nil
}

// measureLatency serves the database as `tether serve` does, on a loopback
// listener, and loads it beside the bare baseline. It also says who used
// the CPU meanwhile, since other work on the machine slows a run down.
func (b *benchConnectionsCmd) measureLatency(ctx context.Context, cfg *Config, s *seeded) ([]bench.Result, bench.CPUUse, error) {
	var none bench.CPUUse
	// A fresh start, as after a restart: nothing is cached from seeding.
	a, err := openApp(ctx, cfg, benchLogger())
	if err != nil {
		return nil, none, err
	}
	defer a.close()
	addr, stop, err := serveInBackground(ctx, a)
	if err != nil {
		return nil, none, err
	}
	defer stop()
	client := bench.NewClient(b.Concurrency)
	endpoints, stopBaseline, err := bench.Suite(ctx, client, s.installation("http://"+addr, b.Seed))
	if err != nil {
		return nil, none, err
	}
	defer stopBaseline()
	if b.CPUProfile != "" {
		stopProfile, err := startCPUProfile(b.CPUProfile)
		if err != nil {
			return nil, none, err
		}
		defer stopProfile()
	}
	meter, err := bench.StartCPUMeter(b.databaseProcess())
	if err != nil {
		return nil, none, err
	}
	fmt.Fprintf(os.Stderr, "measuring %d endpoints, %d requests each\n", len(endpoints), b.Requests)
	results, err := bench.Run(ctx, client, endpoints, bench.Options{
		Requests: b.Requests, Warmup: b.Warmup, Concurrency: b.Concurrency, Rounds: b.Rounds, MaxDuration: b.MaxDuration,
	})
	if err != nil {
		return nil, none, err
	}
	use, err := meter.Stop()
	return results, use, err
}

// databaseProcess names the database server's processes, whose CPU the
// report shows apart; none for SQLite, which runs inside this process.
func (b *benchConnectionsCmd) databaseProcess() string {
	if b.Store == "postgres" {
		return "postgres"
	}
	return ""
}

// serveInBackground runs a.serve until stop is called and returns the
// address it listens on.
func serveInBackground(ctx context.Context, a *app) (addr string, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, func(addr string) { ready <- addr }) }()
	select {
	case addr = <-ready:
		return addr, func() {
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintf(os.Stderr, "bench: serve: %v\n", err)
			}
		}, nil
	case err := <-done:
		cancel()
		return "", nil, err
	}
}

func startCPUProfile(path string) (stop func(), err error) {
	return startRecording(path, "CPU profile", pprof.StartCPUProfile, pprof.StopCPUProfile)
}

func startExecutionTrace(path string) (stop func(), err error) {
	return startRecording(path, "execution trace", trace.Start, trace.Stop)
}

// startRecording creates path and starts writing what (a CPU profile, an
// execution trace) to it; stop ends the recording and closes the file.
func startRecording(path, what string, start func(io.Writer) error, end func()) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", what, err)
	}
	if err := start(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", what, err)
	}
	return func() { end(); _ = f.Close() }, nil
}

// measureServe runs this very binary as `tether serve` on the database,
// sends it requests of every measured kind and reads its memory.
func (b *benchConnectionsCmd) measureServe(ctx context.Context, cfg *Config, s *seeded) (bench.Memory, error) {
	p, err := startServe(ctx, cfg)
	if err != nil {
		return bench.Memory{}, err
	}
	defer p.stop()
	client := bench.NewClient(b.Concurrency)
	endpoints, err := bench.ConnectionEndpoints(ctx, client, s.installation("http://"+p.addr, b.Seed))
	if err != nil {
		return bench.Memory{}, err
	}
	fmt.Fprintf(os.Stderr, "sending %d requests per endpoint to tether serve (pid %d)\n", b.MemoryRequests, p.cmd.Process.Pid)
	results, err := bench.Run(ctx, client, endpoints, bench.Options{
		Requests: b.MemoryRequests, Concurrency: b.Concurrency, MaxDuration: b.MaxDuration,
	})
	if err != nil {
		return bench.Memory{}, err
	}
	for _, r := range results {
		if r.Failures > 0 {
			return bench.Memory{}, fmt.Errorf("tether serve: %d requests to %s failed; the first: %w", r.Failures, r.Endpoint.Name, r.FirstFailure)
		}
	}
	return bench.ProcessMemory(p.cmd.Process.Pid)
}

// serveProcess is `tether serve` running as a child process.
type serveProcess struct {
	cmd    *exec.Cmd
	addr   string
	exited chan error
}

// startServe starts this very binary as `tether serve` on the benchmark's
// database and waits until it listens.
func startServe(ctx context.Context, cfg *Config, args ...string) (*serveProcess, error) {
	return startProcess(ctx, serveEnv(cfg), append([]string{"serve"}, args...)...)
}

// startProcess starts this very binary with args and env and waits until it
// logs that it listens.
func startProcess(ctx context.Context, env []string, args ...string) (*serveProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the tether binary: %w", err)
	}
	log, logWriter := io.Pipe()
	p := &serveProcess{cmd: exec.CommandContext(ctx, exe, args...), exited: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stderr = logWriter
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start tether %s: %w", strings.Join(args, " "), err)
	}
	go func() {
		err := p.cmd.Wait()
		_ = logWriter.Close() // ends waitServing if serve exits early
		p.exited <- err
	}()
	if p.addr, err = waitServing(log); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// stop shuts serve down as an operator would (SIGTERM) and waits for it.
func (p *serveProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", strings.Join(p.cmd.Args, " "), err)
	}
}

// serveEnv is the environment of the serve subprocess: this one without
// its TETHER_* settings, plus the benchmark's, with JSON logs so that the
// address it listens on can be read.
func serveEnv(cfg *Config) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TETHER_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"TETHER_LISTEN=127.0.0.1:0",
		"TETHER_DATA_DIR="+cfg.DataDir,
		"TETHER_DATABASE_URL="+string(cfg.DatabaseURL),
		"TETHER_MASTER_KEY="+string(cfg.MasterKey),
		"TETHER_BOOTSTRAP_API_KEY="+string(cfg.BootstrapAPIKey),
		"TETHER_LOG_FORMAT=json",
		"TETHER_LOG_LEVEL=info",
	)
	if cfg.CallLogWriters > 0 { // otherwise serve's default for the store
		env = append(env, "TETHER_CALL_LOG_WRITERS="+strconv.Itoa(cfg.CallLogWriters))
	}
	if cfg.ProvidersDir != "" {
		env = append(env, "TETHER_PROVIDERS_DIR="+cfg.ProvidersDir)
	}
	if cfg.AllowPrivateNetworks {
		env = append(env, "TETHER_ALLOW_PRIVATE_NETWORKS=true")
	}
	return env
}

// waitServing reads serve's JSON log until it says where it listens, then
// passes the rest of the log on to stderr (which also keeps serve from
// blocking on a full pipe).
func waitServing(log io.Reader) (string, error) {
	lines := bufio.NewScanner(log)
	for lines.Scan() {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "serving" {
			go func() { _, _ = io.Copy(os.Stderr, log) }()
			return entry.Addr, nil
		}
		fmt.Fprintln(os.Stderr, lines.Text())
	}
	if err := lines.Err(); err != nil {
		return "", fmt.Errorf("read the log of tether serve: %w", err)
	}
	return "", errors.New("tether serve stopped before serving (its log is above)")
}

// report writes the run as a section of docs/performance.md.
func (b *benchConnectionsCmd) report(w io.Writer, s *seeded, results []bench.Result, cpu bench.CPUUse, memory bench.Memory) {
	title := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[b.Store]
	fmt.Fprintf(w, "### %s, %d connections\n\n", title, b.Connections)
	fmt.Fprintf(w, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "- Build: %s\n", buildVersion())
	fmt.Fprintf(w, "- Machine: %s\n", bench.Machine())
	fmt.Fprintf(w, "- Command: `%s`\n", commandLine())
	fmt.Fprintf(w, "- Seeding: %d connections %s in %s, then `%s`; the filter selects %d of them\n",
		len(s.ids), s.how, s.took.Round(time.Second), bench.AnalyzeStatement(b.Store), s.matches)
	fmt.Fprintf(w, "- Load: %d concurrent keep-alive clients; per endpoint %d warm-up requests, then %d measured in %d rounds taken in turn (at most %s)\n",
		b.Concurrency, b.Warmup, b.Requests, b.Rounds, b.MaxDuration)
	fmt.Fprintf(w, "- CPU while measuring, in cores on average: %s\n\n", cpu)
	bench.WriteTable(w, results)
	fmt.Fprintf(w, "\nMemory: `tether serve` run on this database, read from /proc/PID/status after %d requests to each Tether endpoint above.\n\n",
		b.MemoryRequests)
	bench.WriteVerdicts(w, results)
	bench.WriteMemoryVerdict(w, memory)
}

// buildVersion names the build measured: its version and, when Go stamped
// it, the commit it was built from.
func buildVersion() string {
	v := "tether " + version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		v += " (commit " + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			v += " with local changes"
		}
		v += ")"
	}
	return v
}

// commandLine is how this run was started, with passwords in URLs masked.
func commandLine() string {
	args := []string{"tether"}
	for _, arg := range os.Args[1:] {
		name, value, hasName := strings.Cut(arg, "=")
		if !hasName {
			name, value = "", arg
		}
		if u, err := url.Parse(value); err == nil && u.User != nil {
			value = u.Redacted()
		}
		if hasName {
			value = name + "=" + value
		}
		args = append(args, value)
	}
	return strings.Join(args, " ")
}

// benchLogger shows only warnings and errors: progress goes to stderr
// separately, and per-request logs would disturb the measurement.
func benchLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// benchUpstreamApp is what the proxy and reports benchmarks measure: a
// throwaway database, a local upstream provider whose definition sits in a
// providers directory of the run, and Tether wired and served exactly as
// `tether serve` does, on a loopback listener, allowed to call the upstream.
type benchUpstreamApp struct {
	app      *app
	upstream *bench.Upstream
	tether   bench.Tether
	close    func()
}

// startBenchUpstream makes the throwaway database and the local upstream,
// and the configuration of a Tether that has the upstream's definition and
// may call it. Call cleanup when done.
func startBenchUpstream(ctx context.Context, store, serverURL string, callLogWriters int) (cfg *Config, up *bench.Upstream, cleanup func(), err error) {
	if store == "postgres" && serverURL == "" {
		return nil, nil, nil, errors.New("--store postgres needs --database-url (or TETHER_TEST_POSTGRES_URL): a server on which to create the benchmark database")
	}
	cfg, removeDatabase, err := createBenchDatabase(ctx, store, serverURL)
	if err != nil {
		return nil, nil, nil, err
	}
	up = bench.NewUpstream()
	cleanup = func() { up.Close(); removeDatabase() }
	cfg.ProvidersDir = filepath.Join(cfg.DataDir, "providers")
	if err := os.Mkdir(cfg.ProvidersDir, 0o700); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if err := bench.WriteUpstreamProvider(cfg.ProvidersDir, up.URL); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	cfg.AllowPrivateNetworks = true
	cfg.CallLogWriters = callLogWriters // 0: the default for the store
	return cfg, up, cleanup, nil
}

func startBenchUpstreamApp(ctx context.Context, store, serverURL string, callLogWriters int) (_ *benchUpstreamApp, err error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	cfg, up, remove, err := startBenchUpstream(ctx, store, serverURL, callLogWriters)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, remove)
	a, err := openApp(ctx, cfg, benchLogger())
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() {
		if err := a.close(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: close: %v\n", err)
		}
	})
	if err := a.ensureAPIKey(ctx, nil); err != nil {
		return nil, err
	}
	db, ok := a.store.(*sqlstore.Store)
	if !ok {
		return nil, fmt.Errorf("bench: the %s store is not an sqlstore", cfg.databaseKind())
	}
	addr, stop, err := serveInBackground(ctx, a)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, stop)
	return &benchUpstreamApp{
		app: a, upstream: up, close: cleanup,
		tether: bench.Tether{
			URL: "http://" + addr, APIKey: string(cfg.BootstrapAPIKey),
			Flush: a.calls.Flush, CountCalls: bench.CallCounter(db.DB()),
		},
	}, nil
}

// writeBenchHeader writes the lines every benchmark section starts with.
func writeBenchHeader(w io.Writer, title string) {
	fmt.Fprintf(w, "### %s\n\n", title)
	fmt.Fprintf(w, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "- Build: %s\n", buildVersion())
	fmt.Fprintf(w, "- Machine: %s\n", bench.Machine())
	fmt.Fprintf(w, "- Command: `%s`\n", commandLine())
}

var storeTitles = map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}

// benchProxyCmd measures the proxy against a local upstream, beside a bare
// httputil.ReverseProxy to the same upstream and the upstream itself.
type benchProxyCmd struct {
	Store           string        `default:"sqlite" enum:"sqlite,postgres" help:"Database to measure: sqlite or postgres."`
	DatabaseURL     string        `env:"TETHER_TEST_POSTGRES_URL" help:"PostgreSQL server on which a throwaway database is created, then dropped (--store postgres)."`
	Connections     int           `default:"100" help:"Connections created through the API; the proxied requests take turns among them."`
	Path            string        `default:"/orders?limit=10" help:"What every request asks of the upstream."`
	Concurrency     int           `default:"16" help:"Clients of the closed loop that finds the peak (one keep-alive connection each)."`
	Requests        int           `default:"30000" help:"Measured requests per endpoint in the closed loop."`
	Warmup          int           `default:"2000" help:"Unmeasured requests per endpoint before the closed loop."`
	Rounds          int           `default:"5" help:"Turns the endpoints take, in the closed and in the open loop."`
	MaxDuration     time.Duration `default:"60s" help:"Upper bound of the closed loop's measured time per endpoint."`
	RateShare       float64       `default:"0.5" help:"Rate of the open loop, as a share of Tether's peak."`
	Rate            float64       `help:"Rate of the open loop in requests/s, instead of --rate-share of the peak (to compare builds at one rate)."`
	RateDuration    time.Duration `default:"20s" help:"Measured time of the open loop per endpoint."`
	RateWarmup      time.Duration `default:"2s" help:"Unmeasured time of the open loop per endpoint first."`
	ProfileRequests int           `default:"20000" help:"Requests through Tether's proxy alone while --cpu-profile records."`
	Seed            uint64        `default:"1" help:"Seed of the order of connections."`
	CPUProfile      string        `help:"Write a CPU profile of the serve process over the whole run (with --in-process: of a closed loop through Tether's proxy alone, server, upstream and load generator sharing the process) to this file."`
	InProcess       bool          `help:"Serve Tether, the bare reverse proxy and the TCP relay from the benchmark's own process instead of processes of their own."`
	CallLogWriters  int           `help:"TETHER_CALL_LOG_WRITERS of the tether serve measured (0: its default for the store)."`
}

// Run runs the benchmark and prints its report.
func (b *benchProxyCmd) Run(ctx context.Context) error {
	if b.Connections < 1 || b.Requests < 1 || b.Concurrency < 1 || b.RateShare <= 0 || b.RateDuration <= 0 {
		return errors.New("--connections, --requests, --concurrency, --rate-share and --rate-duration must be positive")
	}
	var report bytes.Buffer
	if err := b.run(ctx, &report); err != nil {
		return err
	}
	_, err := os.Stdout.Write(report.Bytes())
	return err
}

func (b *benchProxyCmd) run(ctx context.Context, w io.Writer) error {
	opts := bench.ProxyOptions{
		Connections: b.Connections, Path: b.Path,
		Concurrency: b.Concurrency, Requests: b.Requests, Warmup: b.Warmup, Rounds: b.Rounds, MaxDuration: b.MaxDuration,
		RateShare: b.RateShare, RateDuration: b.RateDuration, RateWarmup: b.RateWarmup, Rate: b.Rate,
		DatabaseProcess: databaseProcess(b.Store), Seed: b.Seed, Progress: os.Stderr,
	}
	var rep *bench.ProxyReport
	var err error
	if b.InProcess {
		rep, err = b.runInProcess(ctx, opts)
	} else {
		rep, err = b.runInProcesses(ctx, opts)
	}
	if err != nil {
		return err
	}
	writeBenchHeader(w, "Proxy, "+storeTitles[b.Store])
	rep.Write(w)
	return nil
}

// runInProcess serves Tether, the bare reverse proxy and the TCP relay from
// this process, beside the upstream and the load generator.
func (b *benchProxyCmd) runInProcess(ctx context.Context, opts bench.ProxyOptions) (*bench.ProxyReport, error) {
	env, err := startBenchUpstreamApp(ctx, b.Store, b.DatabaseURL, b.CallLogWriters)
	if err != nil {
		return nil, err
	}
	defer env.close()
	if b.CPUProfile != "" {
		opts.ProfileRequests = b.ProfileRequests
		opts.Profile = func() (func(), error) { return startCPUProfile(b.CPUProfile) }
	}
	return bench.RunProxy(ctx, env.tether, env.upstream, opts)
}

// runInProcesses runs Tether (`tether serve`), the bare reverse proxy and
// the TCP relay as processes of their own, as they run in production: the
// upstream and the load generator stay here, so their garbage collection and
// scheduling are no longer shared with the proxies measured.
func (b *benchProxyCmd) runInProcesses(ctx context.Context, opts bench.ProxyOptions) (*bench.ProxyReport, error) {
	cfg, up, cleanup, err := startBenchUpstream(ctx, b.Store, b.DatabaseURL, b.CallLogWriters)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var serveArgs []string
	if b.CPUProfile != "" {
		serveArgs = append(serveArgs, "--cpu-profile", b.CPUProfile)
	}
	server, err := startServe(ctx, cfg, serveArgs...)
	if err != nil {
		return nil, err
	}
	defer server.stop()
	bare, err := startProcess(ctx, os.Environ(), "bench", "reverse-proxy", "--upstream", up.URL)
	if err != nil {
		return nil, err
	}
	defer bare.stop()
	relay, err := startProcess(ctx, os.Environ(), "bench", "tcp-relay", "--upstream", up.URL)
	if err != nil {
		return nil, err
	}
	defer relay.stop()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	db, ok := store.(*sqlstore.Store)
	if !ok {
		return nil, fmt.Errorf("bench: the %s store is not an sqlstore", cfg.databaseKind())
	}
	t := bench.Tether{
		URL: "http://" + server.addr, APIKey: string(cfg.BootstrapAPIKey),
		Flush: bench.WaitForCallLog("http://" + server.addr), CountCalls: bench.CallCounter(db.DB()),
	}
	opts.BareURL, opts.RelayURL = "http://"+bare.addr, "http://"+relay.addr
	opts.ServerPIDs = []int{server.cmd.Process.Pid, bare.cmd.Process.Pid, relay.cmd.Process.Pid}
	opts.ProfiledElsewhere = b.CPUProfile != ""
	return bench.RunProxy(ctx, t, up, opts)
}

// benchReportsCmd measures reported calls end to end beside the store's
// own insert rate.
type benchReportsCmd struct {
	Store          string `default:"sqlite" enum:"sqlite,postgres" help:"Database to measure: sqlite or postgres."`
	DatabaseURL    string `env:"TETHER_TEST_POSTGRES_URL" help:"PostgreSQL server on which a throwaway database is created, then dropped (--store postgres)."`
	Connections    int    `default:"1000" help:"Connections created through the API; the reported calls are spread over them."`
	BatchSize      int    `default:"1000" help:"Calls per POST /v1/calls."`
	WriteBatch     int    `default:"10000" help:"Calls per Store.RecordCalls in the baseline (the call log's largest batch)."`
	Clients        int    `default:"4" help:"Clients posting batches at once."`
	Calls          int    `default:"300000" help:"Calls reported over HTTP per round."`
	BaselineCalls  int    `default:"100000" help:"Calls written straight to the store per round."`
	Rounds         int    `default:"3" help:"Rounds, each the baseline then the HTTP phase."`
	Seed           uint64 `default:"1" help:"Seed of the generated calls."`
	CPUProfile     string `help:"Write a CPU profile of the last round's HTTP phase (server and load generator share the process) to this file."`
	ExecutionTrace string `help:"Write a Go execution trace of the last round's HTTP phase to this file (go tool trace): where the call log's writer waits. Not with --cpu-profile."`
	HeapProfile    string `help:"Write a heap profile of the process after the last round (after a garbage collection) to this file."`
	CallLogWriters int    `help:"TETHER_CALL_LOG_WRITERS of the Tether measured (0: its default for the store)."`
}

// Run runs the benchmark and prints its report.
func (b *benchReportsCmd) Run(ctx context.Context) error {
	if b.Connections < 1 || b.BatchSize < 1 || b.WriteBatch < 1 || b.Clients < 1 || b.Calls < 1 || b.Rounds < 1 {
		return errors.New("--connections, --batch-size, --write-batch, --clients, --calls and --rounds must be at least 1")
	}
	if b.CPUProfile != "" && b.ExecutionTrace != "" {
		return errors.New("--cpu-profile and --execution-trace record the same phase: give one")
	}
	var report bytes.Buffer
	if err := b.run(ctx, &report); err != nil {
		return err
	}
	_, err := os.Stdout.Write(report.Bytes())
	return err
}

func (b *benchReportsCmd) run(ctx context.Context, w io.Writer) error {
	env, err := startBenchUpstreamApp(ctx, b.Store, b.DatabaseURL, b.CallLogWriters)
	if err != nil {
		return err
	}
	defer env.close()
	def, err := env.app.catalog.Provider(bench.UpstreamIntegration)
	if err != nil {
		return err
	}
	goal := map[string]float64{"sqlite": bench.GoalReportsSQLite, "postgres": bench.GoalReportsPostgres}[b.Store]
	opts := bench.ReportsOptions{
		Connections: b.Connections, BatchSize: b.BatchSize, WriteBatch: b.WriteBatch, Clients: b.Clients,
		Calls: b.Calls, BaselineCalls: b.BaselineCalls, Rounds: b.Rounds, Goal: goal,
		DatabaseProcess: databaseProcess(b.Store), Seed: b.Seed, Progress: os.Stderr,
	}
	if b.CPUProfile != "" {
		opts.Profile = func() (func(), error) { return startCPUProfile(b.CPUProfile) }
	}
	if b.ExecutionTrace != "" {
		opts.Profile = func() (func(), error) { return startExecutionTrace(b.ExecutionTrace) }
	}
	rep, err := bench.RunReports(ctx, env.tether, env.app.store, def, opts)
	if err != nil {
		return err
	}
	if b.HeapProfile != "" {
		if err := writeHeapProfile(b.HeapProfile); err != nil {
			return err
		}
	}
	writeBenchHeader(w, "Reported calls, "+storeTitles[b.Store])
	rep.Write(w)
	return nil
}

// databaseProcess names the database server's processes, whose CPU the
// reports show apart; none for SQLite, which runs inside this process.
func databaseProcess(store string) string {
	if store == "postgres" {
		return "postgres"
	}
	return ""
}

// writeHeapProfile writes the live heap, just collected, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write heap profile: %w", err)
	}
	return f.Close()
}
