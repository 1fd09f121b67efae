package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/sandbox"
)

func TestAPIKeysAreRequired(t *testing.T) {
	e := newTestEnv(t, "")
	expectStatus(t, e.doWithKey("", "GET", "/v1/connections", nil), http.StatusUnauthorized)
	wrong := e.doWithKey("tether_wrong", "GET", "/v1/connections", nil)
	expectStatus(t, wrong, http.StatusUnauthorized)
	if ct := wrong.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("401 content type %q, want application/problem+json", ct)
	}
	key, secret := tether.NewAPIKey("short-lived")
	if err := e.app.store.CreateAPIKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, e.doWithKey(secret, "GET", "/v1/connections", nil), http.StatusOK)
	if err := e.app.store.RevokeAPIKey(context.Background(), key.ID); err != nil {
		t.Fatal(err)
	}
	// Valid keys are taken on trust for a second (api/auth.go): the revoked
	// key is refused once that has passed.
	eventually(t, "the revoked key to be refused", func() bool {
		return e.doWithKey(secret, "GET", "/v1/connections", nil).Status == http.StatusUnauthorized
	})
	// Public endpoints need no key.
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics"} {
		expectStatus(t, e.doWithKey("", "GET", path, nil), http.StatusOK)
	}
}

func TestIntegrationsCatalog(t *testing.T) {
	e := newTestEnv(t, "")
	res := e.do("GET", "/v1/integrations", nil)
	expectStatus(t, res, http.StatusOK)
	list := res.json(t)["data"].([]any)
	names := map[string]bool{}
	for _, item := range list {
		names[item.(map[string]any)["name"].(string)] = true
	}
	for _, want := range []string{"acme_wms", "github", "slack", "hubspot", "shopify", "stripe", "zendesk"} {
		if !names[want] {
			t.Errorf("catalog lacks %s", want)
		}
	}
	acme := e.do("GET", "/v1/integrations/acme_wms", nil).data(t)
	auth := acme["auth"].(map[string]any)
	if auth["type"] != "api_key" || len(auth["fields"].([]any)) != 2 {
		t.Errorf("acme_wms auth = %v", auth)
	}
	if len(acme["resources"].([]any)) != 3 {
		t.Errorf("acme_wms resources = %v", acme["resources"])
	}
	expectStatus(t, e.do("GET", "/v1/integrations/nope", nil), http.StatusNotFound)
}

func TestCreateConnection(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		apiKey := e.sandbox.CreateKey("acct_42")
		res := e.do("POST", "/v1/connections", map[string]any{
			"integration_name": "acme_wms", "customer_id": "cust-42",
			"credentials": map[string]string{"server": e.sbURL, "api_key": apiKey},
			"metadata":    map[string]any{"plan": "pro"},
		})
		expectStatus(t, res, http.StatusCreated)
		if bytes.Contains(res.Body, []byte(apiKey)) {
			t.Fatal("the answer contains the API key")
		}
		c := res.data(t)
		if !tether.HasPrefix(c["connection_id"].(string), tether.PrefixConnection) || c["status"] != "healthy" ||
			c["state"] != "active" || c["display_name"] != "Acme WMS (cust-42)" || c["last_healthy_at"] == nil {
			t.Errorf("connection = %v", c)
		}
		if len(c["errors"].([]any)) != 0 || len(c["resources"].([]any)) != 3 {
			t.Errorf("errors/resources = %v / %v", c["errors"], c["resources"])
		}
		orders := c["resources"].([]any)[0].(map[string]any)
		if orders["name"] != "orders" || orders["access"] != "unknown" || orders["sync"].(map[string]any)["status"] != "idle" {
			t.Errorf("orders resource = %v", orders)
		}
		id := c["connection_id"].(string)
		got := e.do("GET", "/v1/connections/"+id, nil).data(t)
		if got["customer_id"] != "cust-42" || got["metadata"].(map[string]any)["plan"] != "pro" {
			t.Errorf("GET connection = %v", got)
		}
		events := e.do("GET", "/v1/events?type=connection.created", nil).json(t)["data"].([]any)
		if len(events) != 1 || events[0].(map[string]any)["data"].(map[string]any)["connection_id"] != id {
			t.Errorf("connection.created events = %v", events)
		}
		if bytes.Contains(e.do("GET", "/v1/events", nil).Body, []byte(apiKey)) {
			t.Error("an event contains the API key")
		}
	})
}

func TestFailedCredentialTestSavesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		cases := []struct {
			name, errorType string
			prepare         func() string // returns the api key to use
		}{
			{"unknown key", "invalid_credentials", func() string { return "sk_test_not_a_key" }},
			{"revoked key", "invalid_credentials", func() string {
				k := e.sandbox.CreateKey("")
				e.sandbox.RevokeKey(k)
				return k
			}},
			{"provider down", "provider_unavailable", func() string {
				e.sandbox.AddFault(sandbox.Fault{PathPrefix: "/api/me", Status: 503, Count: 1})
				return e.sandbox.CreateKey("")
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				key := tc.prepare()
				res := e.do("POST", "/v1/connections", map[string]any{
					"integration_name": "acme_wms", "customer_id": "cust-1",
					"credentials": map[string]string{"server": e.sbURL, "api_key": key},
				})
				expectStatus(t, res, http.StatusUnprocessableEntity)
				p := res.json(t)
				if p["error_type"] != tc.errorType || p["detail"] == "" {
					t.Errorf("problem = %v, want error_type %s with a detail", p, tc.errorType)
				}
				if strings.Contains(string(res.Body), key) {
					t.Error("the problem contains the API key")
				}
			})
		}
		t.Run("unreachable", func(t *testing.T) {
			res := e.do("POST", "/v1/connections", map[string]any{
				"integration_name": "acme_wms", "customer_id": "cust-1",
				"credentials": map[string]string{"server": "http://127.0.0.1:1", "api_key": "k"},
			})
			expectStatus(t, res, http.StatusUnprocessableEntity)
			if res.json(t)["error_type"] != "provider_unavailable" {
				t.Errorf("problem = %s", res.Body)
			}
		})
		list := e.do("GET", "/v1/connections", nil).json(t)["data"].([]any)
		events := e.do("GET", "/v1/events", nil).json(t)["data"].([]any)
		if len(list) != 0 || len(events) != 0 {
			t.Errorf("failed tests saved %d connections and %d events", len(list), len(events))
		}
	})
}

func TestPrivateNetworksAreRefusedUnlessAllowed(t *testing.T) {
	e := newTestEnv(t, "", func(c *Config) { c.AllowPrivateNetworks = false })
	res := e.do("POST", "/v1/connections", map[string]any{
		"integration_name": "acme_wms", "customer_id": "cust-1",
		"credentials": map[string]string{"server": e.sbURL, "api_key": e.sandbox.CreateKey("")},
	})
	expectStatus(t, res, http.StatusUnprocessableEntity)
	if p := res.json(t); p["error_type"] != "provider_unavailable" || !strings.Contains(p["detail"].(string), "TETHER_ALLOW_PRIVATE_NETWORKS") {
		t.Errorf("problem = %v", p)
	}
	if e.sandbox.RequestCount() != 0 {
		t.Errorf("the sandbox on loopback was called %d times", e.sandbox.RequestCount())
	}
}

func TestBadInput(t *testing.T) {
	e := newTestEnv(t, "")
	valid := func() map[string]any {
		return map[string]any{
			"integration_name": "acme_wms", "customer_id": "cust-1",
			"credentials": map[string]string{"server": e.sbURL, "api_key": e.sandbox.CreateKey("")},
		}
	}
	t.Run("malformed JSON", func(t *testing.T) {
		res := e.do("POST", "/v1/connections", []byte(`{"integration_name": "acme_wms",`))
		expectStatus(t, res, http.StatusBadRequest)
		if res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("content type %q", res.Header.Get("Content-Type"))
		}
	})
	t.Run("unknown integration", func(t *testing.T) {
		body := valid()
		body["integration_name"] = "nope"
		res := e.do("POST", "/v1/connections", body)
		expectStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(string(res.Body), "body.integration_name") {
			t.Errorf("problem does not locate the field: %s", res.Body)
		}
	})
	t.Run("missing and extra credential fields", func(t *testing.T) {
		body := valid()
		body["credentials"] = map[string]string{"server": e.sbURL, "token": "x", "region": "eu"}
		res := e.do("POST", "/v1/connections", body)
		expectStatus(t, res, http.StatusUnprocessableEntity)
		for _, want := range []string{"body.credentials.api_key", "body.credentials.token", "body.credentials.region"} {
			if !strings.Contains(string(res.Body), want) {
				t.Errorf("problem lacks %s: %s", want, res.Body)
			}
		}
	})
	t.Run("missing customer", func(t *testing.T) {
		body := valid()
		delete(body, "customer_id")
		expectStatus(t, e.do("POST", "/v1/connections", body), http.StatusUnprocessableEntity)
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		body := valid()
		body["metadata"] = map[string]any{"blob": strings.Repeat("x", 1<<20)}
		expectStatus(t, e.do("POST", "/v1/connections", body), http.StatusRequestEntityTooLarge)
	})
	t.Run("bad cursor", func(t *testing.T) {
		expectStatus(t, e.do("GET", "/v1/connections?cursor=not-a-cursor", nil), http.StatusUnprocessableEntity)
	})
	t.Run("bad filter", func(t *testing.T) {
		expectStatus(t, e.do("GET", "/v1/connections?status=broken", nil), http.StatusUnprocessableEntity)
	})
	t.Run("unknown connection", func(t *testing.T) {
		expectStatus(t, e.do("GET", "/v1/connections/conn_nope", nil), http.StatusNotFound)
		expectStatus(t, e.do("DELETE", "/v1/connections/conn_nope", nil), http.StatusNotFound)
	})
	list := e.do("GET", "/v1/connections", nil).json(t)["data"].([]any)
	if len(list) != 0 {
		t.Errorf("bad input saved %d connections", len(list))
	}
}

func TestListConnections(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		var ids []string
		for i := range 5 {
			id, _ := e.createConnection(fmt.Sprintf("cust-%d", i%2))
			ids = append(ids, id)
		}
		var seen []string
		path := "/v1/connections?limit=2"
		for range 10 {
			page := e.do("GET", path, nil).json(t)
			for _, c := range page["data"].([]any) {
				seen = append(seen, c.(map[string]any)["connection_id"].(string))
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			path = "/v1/connections?limit=2&cursor=" + next
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids) {
			t.Errorf("paged ids %v, want %v", seen, ids)
		}
		byCustomer := e.do("GET", "/v1/connections?customer_id=cust-1&status=healthy&integration_name=acme_wms", nil).json(t)["data"].([]any)
		if len(byCustomer) != 2 {
			t.Errorf("customer filter: %d connections, want 2", len(byCustomer))
		}
		for _, q := range []string{"status=unhealthy", "has_errors=true", "error_type=invalid_credentials", "state=paused"} {
			if got := e.do("GET", "/v1/connections?"+q, nil).json(t)["data"].([]any); len(got) != 0 {
				t.Errorf("%s: %d connections, want 0", q, len(got))
			}
		}
		if got := e.do("GET", "/v1/connections?has_errors=false", nil).json(t)["data"].([]any); len(got) != 5 {
			t.Errorf("has_errors=false: %d connections, want 5", len(got))
		}
	})
}

func TestUpdatePauseResumeDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, _ := e.createConnection("cust-1")
		res := e.do("PATCH", "/v1/connections/"+id, map[string]any{"display_name": "Main WMS", "metadata": map[string]any{"a": 1}})
		expectStatus(t, res, http.StatusOK)
		if c := res.data(t); c["display_name"] != "Main WMS" || fmt.Sprint(c["metadata"]) != "map[a:1]" {
			t.Errorf("patched = %v", c)
		}
		res = e.do("PATCH", "/v1/connections/"+id, map[string]any{"metadata": map[string]any{"b": 2}})
		if c := res.data(t); c["display_name"] != "Main WMS" || fmt.Sprint(c["metadata"]) != "map[b:2]" {
			t.Errorf("metadata not replaced whole: %v", c)
		}
		if c := e.do("POST", "/v1/connections/"+id+"/pause", nil).data(t); c["state"] != "paused" {
			t.Errorf("paused state = %v", c["state"])
		}
		if got := e.do("GET", "/v1/connections?state=paused", nil).json(t)["data"].([]any); len(got) != 1 {
			t.Errorf("state filter: %d", len(got))
		}
		if c := e.do("POST", "/v1/connections/"+id+"/resume", nil).data(t); c["state"] != "active" {
			t.Errorf("resumed state = %v", c["state"])
		}
		updates := e.do("GET", "/v1/events?type=connection.updated&connection_id="+id, nil).json(t)["data"].([]any)
		if len(updates) != 4 {
			t.Errorf("%d connection.updated events, want 4", len(updates))
		}

		expectStatus(t, e.do("DELETE", "/v1/connections/"+id, nil), http.StatusNoContent)
		expectStatus(t, e.do("GET", "/v1/connections/"+id, nil), http.StatusNotFound)
		if _, err := e.app.store.Credentials(context.Background(), id); !tether.IsNotFound(err) {
			t.Errorf("credentials survive the delete: %v", err)
		}
		deleted := e.do("GET", "/v1/events?type=connection.deleted", nil).json(t)["data"].([]any)
		if len(deleted) != 1 || deleted[0].(map[string]any)["data"].(map[string]any)["customer_id"] != "cust-1" {
			t.Errorf("connection.deleted events = %v", deleted)
		}
	})
}

func TestEventFeedPages(t *testing.T) {
	e := newTestEnv(t, "")
	for i := range 3 {
		e.createConnection(fmt.Sprintf("cust-%d", i))
	}
	first := e.do("GET", "/v1/events?limit=2", nil).json(t)
	if len(first["data"].([]any)) != 2 || first["next_cursor"] == nil {
		t.Fatalf("first page = %v", first)
	}
	lastID := first["data"].([]any)[1].(map[string]any)["event_id"].(string)
	rest := e.do("GET", "/v1/events?after="+lastID, nil).json(t)["data"].([]any)
	if len(rest) != 1 {
		t.Errorf("after %s: %d events, want 1", lastID, len(rest))
	}
	next := e.do("GET", "/v1/events?limit=2&cursor="+first["next_cursor"].(string), nil).json(t)["data"].([]any)
	if len(next) != 1 {
		t.Errorf("cursor page: %d events, want 1", len(next))
	}
	expectStatus(t, e.do("GET", "/v1/events?after=evt_unknown", nil), http.StatusUnprocessableEntity)
}

// No credential secret may be readable in the database files.
func TestNoPlaintextSecretInTheDatabase(t *testing.T) {
	e := newTestEnv(t, "")
	_, apiKey := e.createConnection("cust-1")
	files, _ := filepath.Glob(filepath.Join(e.dataDir, "tether.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(apiKey)) {
			t.Errorf("%s contains the API key in plain text", filepath.Base(f))
		}
	}
}

func TestUnknownMembersAreRejected(t *testing.T) {
	e := newTestEnv(t, "")
	res := e.do("POST", "/v1/connections", map[string]any{
		"integration_name": "acme_wms", "customer_id": "cust-1", "colour": "blue",
		"credentials": map[string]string{"server": e.sbURL, "api_key": e.sandbox.CreateKey("")},
	})
	expectStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(string(res.Body), "colour") {
		t.Errorf("problem does not name the unknown member: %s", res.Body)
	}
}
