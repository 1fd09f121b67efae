package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/pgtest"
	"github.com/tetherhq/tether/vault"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func baseConfig(t *testing.T) *Config {
	return &Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), SystemErrorAfter: 5,
		ProbeInterval: Duration(1e9), SyncInterval: Duration(1e9), CallLogRetention: Duration(1e9), DisableAfter: Duration(1e9)}
}

func TestPostgresRequiresAMasterKey(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DatabaseURL = "postgres://postgres@127.0.0.1:5432/test"
	_, err := openApp(context.Background(), cfg, quietLog())
	if err == nil || !strings.Contains(err.Error(), "TETHER_MASTER_KEY") {
		t.Fatalf("openApp without a master key on PostgreSQL: %v", err)
	}
}

func TestCallLogWritersDependOnTheDatabase(t *testing.T) {
	for _, tc := range []struct {
		url     Secret
		set     int
		want    int
		wantErr bool
	}{
		{url: "", want: 1},
		{url: "postgres://postgres@127.0.0.1:5432/test", want: 2},
		{url: "postgres://postgres@127.0.0.1:5432/test", set: 4, want: 4},
		{url: "", set: -1, wantErr: true},
	} {
		cfg := baseConfig(t)
		cfg.DatabaseURL, cfg.MasterKey, cfg.CallLogWriters = tc.url, "k", tc.set
		err := cfg.validate()
		switch {
		case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "TETHER_CALL_LOG_WRITERS")):
			t.Errorf("%q with %d writers: %v, want an error about TETHER_CALL_LOG_WRITERS", tc.url, tc.set, err)
		case !tc.wantErr && err != nil:
			t.Errorf("%q with %d writers: %v", tc.url, tc.set, err)
		case !tc.wantErr && cfg.CallLogWriters != tc.want:
			t.Errorf("%q with %d writers: %d, want %d", tc.url, tc.set, cfg.CallLogWriters, tc.want)
		}
	}
}

func TestSQLiteGeneratesAMasterKeyOnce(t *testing.T) {
	cfg := baseConfig(t)
	a, err := openApp(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	path := filepath.Join(cfg.DataDir, "master.key")
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no generated key: %v", err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	a, err = openApp(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	second, _ := os.ReadFile(path)
	if string(first) != string(second) {
		t.Error("the generated key changed between starts")
	}
}

// Credentials sealed under one master key do not open under another, and the
// error says so clearly.
func TestWrongMasterKeyIsAClearError(t *testing.T) {
	e := newTestEnv(t, "", func(c *Config) { c.MasterKey = Secret(vault.GenerateMasterKey()) })
	id, _ := e.createConnection("cust-1")
	sealed, err := e.app.store.Credentials(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	other, err := vault.ParseMasterKey(vault.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := vault.New(other)
	_, err = wrong.Open(id, sealed)
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("opening with a wrong key: %v", err)
	}
	if _, err := e.app.vault.Open(id, sealed); err != nil {
		t.Fatalf("opening with the right key: %v", err)
	}
	if _, err := e.app.vault.Open("conn_other", sealed); err == nil {
		t.Fatal("credentials moved to another connection opened")
	}
}

func TestInvalidProviderDefinitionStopsStartup(t *testing.T) {
	cfg := baseConfig(t)
	cfg.ProvidersDir = t.TempDir()
	bad := "name: broken\ndisplay_name: Broken\nbase_url: https://x.example\nauth:\n  type: apikey\n"
	if err := os.WriteFile(filepath.Join(cfg.ProvidersDir, "broken.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openApp(context.Background(), cfg, quietLog())
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:5") {
		t.Fatalf("openApp with an invalid definition: %v (want broken.yaml:5 ...)", err)
	}
}

func TestFirstStartPrintsOneKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		var printed []string
		for range 2 {
			if err := e.app.ensureAPIKey(context.Background(), func(s string) { printed = append(printed, s) }); err != nil {
				t.Fatal(err)
			}
		}
		if len(printed) != 1 {
			t.Fatalf("printed %d keys over two starts, want 1", len(printed))
		}
		expectStatus(t, e.doWithKey(printed[0], "GET", "/v1/connections", nil), 200)
	})
}

func TestBootstrapKeyIsAcceptedAndNothingPrinted(t *testing.T) {
	secret := "tether_bootstrap_for_automation_0123456789"
	e := newTestEnv(t, "", func(c *Config) { c.BootstrapAPIKey = Secret(secret) })
	for range 2 { // a restart must not fail on the existing key
		if err := e.app.ensureAPIKey(context.Background(), func(string) { t.Error("printed a key despite the bootstrap key") }); err != nil {
			t.Fatal(err)
		}
	}
	expectStatus(t, e.doWithKey(secret, "GET", "/v1/connections", nil), 200)
	keys, _ := e.app.store.APIKeys(context.Background())
	n := 0
	for _, k := range keys {
		if string(k.Hash) == string(tether.HashAPIKey(secret)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("bootstrap key stored %d times", n)
	}
}

func TestSecretsPrintMasked(t *testing.T) {
	if s := Secret("postgres://u:pw@h/db").String(); strings.Contains(s, "pw") {
		t.Errorf("Secret prints %q", s)
	}
}

// serve stops accepting and returns when its context ends (SIGTERM/SIGINT in
// main), and the queued calls are written on close.
func TestServeShutsDownGracefully(t *testing.T) {
	cfg := baseConfig(t)
	a, err := openApp(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, func(a string) { addr <- a }) }()
	url := "http://" + <-addr
	res, err := http.Get(url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after its context ended")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
	if err := a.close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// No credential secret is readable anywhere in the PostgreSQL database.
func TestNoPlaintextSecretInPostgres(t *testing.T) {
	url := pgtest.URL(t)
	e := newTestEnv(t, url)
	_, apiKey := e.createConnection("cust-1")
	e.flushCalls()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	for _, table := range tables {
		var found bool
		q := fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %q t WHERE row_to_json(t)::text LIKE '%%' || $1 || '%%')`, table)
		if err := db.QueryRow(q, apiKey).Scan(&found); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		if found {
			t.Errorf("table %s holds the API key in plain text", table)
		}
	}
}

// Every command must be runnable by kong (a Run with the wrong signature
// fails only when the command is used).
func TestCommandsParse(t *testing.T) {
	for _, args := range [][]string{{"keys", "master"}, {"version"}, {"providers", "validate"}} {
		var c cli
		parser, err := kong.New(&c, kong.Name("tether"))
		if err != nil {
			t.Fatal(err)
		}
		kctx, err := parser.Parse(args)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if err := kctx.Run(); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestGCHeapFloorTakesASizeWithAUnit(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    ByteSize
		wantErr bool
	}{
		{value: "", want: 48 << 20}, // the default
		{value: "64MiB", want: 64 << 20},
		{value: "100MB", want: 100_000_000},
		{value: "0", want: 0},
		{value: "lots", wantErr: true},
	} {
		t.Setenv("TETHER_GC_HEAP_FLOOR", tc.value)
		if tc.value == "" {
			os.Unsetenv("TETHER_GC_HEAP_FLOOR")
		}
		var c cli
		parser, err := kong.New(&c, kong.Name("tether"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = parser.Parse([]string{"serve"})
		switch {
		case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "TETHER_GC_HEAP_FLOOR") || !strings.Contains(err.Error(), "64MiB")):
			t.Errorf("%q: %v, want an error naming the variable and an example", tc.value, err)
		case !tc.wantErr && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case !tc.wantErr && c.Serve.GCHeapFloor != tc.want:
			t.Errorf("%q: %d bytes, want %d", tc.value, c.Serve.GCHeapFloor, tc.want)
		}
	}
}

func TestGOGCTurnsTheHeapFloorOff(t *testing.T) {
	gogc := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	cfg := baseConfig(t)
	cfg.GCHeapFloor = 1 << 30

	t.Setenv("GOGC", "100")
	stop := keepHeapFloor(cfg)
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gogc(); p != 100 {
		t.Errorf("GOGC %d with GOGC=100 set, want the floor off", p)
	}
	stop()

	os.Unsetenv("GOGC")
	stop = keepHeapFloor(cfg)
	defer stop()
	if p := gogc(); p <= 100 {
		t.Errorf("GOGC %d under a floor of 1 GiB without GOGC, want more than 100", p)
	}
}
