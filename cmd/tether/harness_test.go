package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/pgtest"
	"github.com/tetherhq/tether/sandbox"
	"github.com/tetherhq/tether/vault"
)

// testEnv is a fully wired Tether (the same wiring as `tether serve`) in
// front of a real database, with the sandbox provider beside it.
type testEnv struct {
	t       *testing.T
	app     *app
	url     string // Tether's base URL
	key     string // an API key
	sandbox *sandbox.Sandbox
	sbURL   string
	dataDir string
}

// forEachStore runs fn against SQLite, and against PostgreSQL when
// TETHER_TEST_POSTGRES_URL is set (required under CI=true).
func forEachStore(t *testing.T, fn func(t *testing.T, newEnv func(...func(*Config)) *testEnv)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(opts ...func(*Config)) *testEnv { return newTestEnv(t, "", opts...) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		fn(t, func(opts ...func(*Config)) *testEnv { return newTestEnv(t, url, opts...) })
	})
}

func newTestEnv(t *testing.T, postgresURL string, opts ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := &Config{
		Listen:               "127.0.0.1:0",
		DataDir:              dir,
		AllowPrivateNetworks: true,
		SystemErrorAfter:     5,
		ProbeInterval:        Duration(600e9), SyncInterval: Duration(3600e9),
		CallLogRetention: Duration(3600e9), DisableAfter: Duration(3600e9),
		LogLevel: "error",
	}
	if postgresURL != "" {
		cfg.DatabaseURL = Secret(postgresURL)
		cfg.MasterKey = Secret(vault.GenerateMasterKey())
	}
	for _, o := range opts {
		o(cfg)
	}
	logTo := io.Discard
	if os.Getenv("TETHER_TEST_LOG") != "" { // the app's log, to debug a failing test
		logTo = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	a, err := openApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("openApp: %v", err)
	}
	srv := httptest.NewServer(a.handler())
	sb := sandbox.New(sandbox.Options{Seed: 1})
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		sbSrv.Close()
		_ = a.close()
	})
	key, secret := tether.NewAPIKey("test")
	if err := a.store.CreateAPIKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, app: a, url: srv.URL, key: secret, sandbox: sb, sbURL: sbSrv.URL, dataDir: filepath.Clean(dir)}
}

// response is an answer, decoded.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r.Body)
	}
	return v
}

// data returns the "data" member of a single-object answer.
func (r response) data(t *testing.T) map[string]any {
	t.Helper()
	d, ok := r.json(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.Body)
	}
	return d
}

// do sends a request with the env's API key; body is JSON-encoded unless it
// is already []byte.
func (e *testEnv) do(method, path string, body any) response {
	e.t.Helper()
	return e.doWithKey(e.key, method, path, body)
}

func (e *testEnv) doWithKey(key, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// createConnection creates an acme_wms connection with a fresh sandbox key
// of the given scopes (all when none) and returns its id and the key.
func (e *testEnv) createConnection(customer string, scopes ...string) (string, string) {
	e.t.Helper()
	apiKey := e.sandbox.CreateKey("", scopes...)
	res := e.do("POST", "/v1/connections", map[string]any{
		"integration_name": "acme_wms", "customer_id": customer,
		"credentials": map[string]string{"server": e.sbURL, "api_key": apiKey},
	})
	if res.Status != http.StatusCreated {
		e.t.Fatalf("create connection: %d %s", res.Status, res.Body)
	}
	return res.data(e.t)["connection_id"].(string), apiKey
}

func expectStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("status %d, want %d: %s", res.Status, want, res.Body)
	}
}

func replaceCredentials(t *testing.T, e *testEnv, id string, sealed tether.SealedCredentials) {
	t.Helper()
	_, err := e.app.store.ReplaceCredentials(context.Background(), id, sealed, func(*tether.Connection) ([]tether.Event, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
}
