package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/sandbox"
)

// eventually polls cond until it holds or the deadline passes: background
// work (confirmations, the call-log batcher) settles without sleeps.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCalls waits until the call log lists n calls for query and returns
// them: a proxied call is logged just after its answer is streamed.
func (e *testEnv) waitCalls(query string, n int) []any {
	e.t.Helper()
	var calls []any
	eventually(e.t, fmt.Sprintf("%d calls for %s", n, query), func() bool {
		e.flushCalls()
		calls = e.do("GET", "/v1/calls?limit=500&"+query, nil).json(e.t)["data"].([]any)
		return len(calls) >= n
	})
	if len(calls) != n {
		e.t.Fatalf("%d calls for %s, want %d", len(calls), query, n)
	}
	return calls
}

func (e *testEnv) connection(id string) map[string]any {
	e.t.Helper()
	res := e.do("GET", "/v1/connections/"+id, nil)
	expectStatus(e.t, res, http.StatusOK)
	return res.data(e.t)
}

func (e *testEnv) proxy(method, connectionID, path string) response {
	e.t.Helper()
	return e.do(method, "/v1/proxy/"+connectionID+path, nil)
}

func errorTypes(c map[string]any) []string {
	var types []string
	for _, e := range c["errors"].([]any) {
		types = append(types, e.(map[string]any)["error_type"].(string))
	}
	return types
}

func (e *testEnv) statusIs(id string, status tether.HealthStatus, errs ...string) func() bool {
	return func() bool {
		c := e.connection(id)
		return c["status"] == string(status) && fmt.Sprint(errorTypes(c)) == fmt.Sprint(errs)
	}
}

func (e *testEnv) events(query string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, ev := range e.do("GET", "/v1/events?limit=500&"+query, nil).json(e.t)["data"].([]any) {
		out = append(out, ev.(map[string]any))
	}
	return out
}

func TestRevokedKeyOpensInvalidCredentials(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, key := e.createConnection("cust-1")
		e.sandbox.RevokeKey(key)
		res := e.proxy("GET", id, "/orders")
		expectStatus(t, res, http.StatusUnauthorized) // the provider's answer, streamed back
		if res.Header.Get("X-Tether-Call-Id") == "" {
			t.Error("no X-Tether-Call-Id on the answer")
		}
		eventually(t, "invalid_credentials", e.statusIs(id, tether.StatusUnhealthy, tether.ErrorInvalidCredentials))
		c := e.connection(id)
		errObj := c["errors"].([]any)[0].(map[string]any)
		if errObj["blocking"] != true || errObj["resource"] != nil || errObj["resolution"] != "reinstall" || errObj["http_status"] != float64(401) {
			t.Errorf("error = %v", errObj)
		}
		unhealthy := e.events("type=connection.unhealthy&connection_id=" + id)
		if len(unhealthy) != 1 || unhealthy[0]["data"].(map[string]any)["previous_status"] != "healthy" {
			t.Errorf("connection.unhealthy events = %v", unhealthy)
		}
		if created := e.events("type=connection-error.created&connection_id=" + id); len(created) != 1 {
			t.Errorf("connection-error.created events = %d", len(created))
		}
		// More failures count, without new events.
		e.proxy("GET", id, "/orders")
		eventually(t, "a second occurrence", func() bool {
			errs := e.connection(id)["errors"].([]any)
			return len(errs) == 1 && errs[0].(map[string]any)["occurrences"].(float64) >= 2
		})
		if created := e.events("type=connection-error.created&connection_id=" + id); len(created) != 1 {
			t.Errorf("a repeat emitted connection-error.created again: %d", len(created))
		}
		assertNoSecretInCalls(t, e, key)
	})
}

func TestMissingScopeOpensMissingPermissionAndCloses(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, key := e.createConnection("cust-1")
		e.sandbox.SetScopes(key, sandbox.ScopeOrders, sandbox.ScopeInventory)
		expectStatus(t, e.proxy("GET", id, "/returns"), http.StatusForbidden)
		eventually(t, "missing_permission", e.statusIs(id, tether.StatusUnhealthyNow, tether.ErrorMissingPermission))
		c := e.connection(id)
		errObj := c["errors"].([]any)[0].(map[string]any)
		if errObj["resource"] != "returns" || errObj["blocking"] != false || errObj["resolution"] != "grant_permission" {
			t.Errorf("error = %v", errObj)
		}
		for _, r := range c["resources"].([]any) {
			r := r.(map[string]any)
			if r["name"] == "returns" && r["access"] != "denied" {
				t.Errorf("returns access = %v", r["access"])
			}
		}
		// Other resources keep working.
		expectStatus(t, e.proxy("GET", id, "/orders"), http.StatusOK)
		e.sandbox.SetScopes(key, sandbox.ScopeOrders, sandbox.ScopeInventory, sandbox.ScopeReturns)
		expectStatus(t, e.proxy("GET", id, "/returns"), http.StatusOK)
		eventually(t, "the error to close", e.statusIs(id, tether.StatusHealthy))
		if deleted := e.events("type=connection-error.deleted&connection_id=" + id); len(deleted) != 1 {
			t.Errorf("connection-error.deleted events = %d, want 1", len(deleted))
		}
		if healthy := e.events("type=connection.healthy&connection_id=" + id); len(healthy) != 1 ||
			healthy[0]["data"].(map[string]any)["previous_status"] != "unhealthy_now" {
			t.Errorf("connection.healthy events = %v", healthy)
		}
	})
}

func TestBurstsOfRateLimitsAndOutagesLeaveStatusAlone(t *testing.T) {
	e := newTestEnv(t, "")
	id, _ := e.createConnection("cust-1")
	e.sandbox.AddFault(sandbox.Fault{PathPrefix: "/api/orders", Status: 429, RetryAfter: 1, Count: 5})
	e.sandbox.AddFault(sandbox.Fault{PathPrefix: "/api/inventory", Status: 503, Count: 5})
	for range 5 {
		expectStatus(t, e.proxy("GET", id, "/orders"), http.StatusTooManyRequests)
		expectStatus(t, e.proxy("GET", id, "/inventory"), http.StatusServiceUnavailable)
	}
	calls := e.waitCalls("connection_id="+id+"&source=proxy", 10)
	if c := e.connection(id); c["status"] != "healthy" || len(c["errors"].([]any)) != 0 {
		t.Errorf("after bursts: status %v errors %v", c["status"], c["errors"])
	}
	signals := map[string]int{}
	for _, c := range calls {
		signals[c.(map[string]any)["signal"].(string)]++
	}
	if signals["success"] != 5 || signals["transient"] != 5 {
		t.Errorf("signals %v: 429 is a success, 503 transient", signals)
	}
}

func TestRuleMatched200IsAnAuthFailure(t *testing.T) {
	e := newTestEnv(t, "")
	id, key := e.createConnection("cust-1")
	e.sandbox.RevokeKey(key)
	res := e.proxy("GET", id, "/ping")
	expectStatus(t, res, http.StatusOK)
	eventually(t, "invalid_credentials", e.statusIs(id, tether.StatusUnhealthy, tether.ErrorInvalidCredentials))
	calls := e.waitCalls("connection_id="+id+"&source=proxy", 1)
	if calls[0].(map[string]any)["signal"] != "auth_failure" || calls[0].(map[string]any)["outcome"] != "failure" {
		t.Errorf("proxied /ping call = %v", calls)
	}
}

func TestProxyForwardsFaithfully(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, key := e.createConnection("cust-1")
		res := e.proxy("GET", id, "/orders?limit=2")
		expectStatus(t, res, http.StatusOK)
		page := res.json(t)
		if len(page["data"].([]any)) != 2 {
			t.Errorf("the caller's query string was not kept: %d orders", len(page["data"].([]any)))
		}
		callID := res.Header.Get("X-Tether-Call-Id")
		call := e.waitCalls("connection_id="+id+"&source=proxy", 1)[0].(map[string]any)
		if call["call_id"] != callID || call["resource"] != "orders" || call["status_code"] != float64(200) ||
			call["method"] != "GET" || call["outcome"] != "success" || call["path"] != "/orders?limit=2" {
			t.Errorf("logged call = %v", call)
		}
		assertNoSecretInCalls(t, e, key)
		// Tether's API key never reaches the provider, nor does a forged credential header.
		req, _ := http.NewRequest("GET", e.url+"/v1/proxy/"+id+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+e.key)
		req.Header.Set("X-Api-Key", "forged")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a forged X-Api-Key overrode the connection's credentials: %d", resp.StatusCode)
		}
	})
}

func TestProxyRefusesPausedDisabledAndUnknown(t *testing.T) {
	e := newTestEnv(t, "")
	id, _ := e.createConnection("cust-1")
	expectStatus(t, e.proxy("GET", "conn_unknown", "/orders"), http.StatusNotFound)
	e.do("POST", "/v1/connections/"+id+"/pause", nil)
	before := e.sandbox.RequestCount()
	res := e.proxy("GET", id, "/orders")
	expectStatus(t, res, http.StatusLocked)
	if res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("423 content type %q", res.Header.Get("Content-Type"))
	}
	_, err := e.app.store.UpdateConnection(context.Background(), id, func(c *tether.Connection) ([]tether.Event, error) {
		c.State = tether.StateDisabled
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, e.proxy("GET", id, "/orders"), http.StatusFailedDependency)
	if e.sandbox.RequestCount() != before {
		t.Errorf("the provider was called for a paused or disabled connection")
	}
	expectStatus(t, e.doWithKey("", "GET", "/v1/proxy/"+id+"/orders", nil), http.StatusUnauthorized)
}

func TestProxyToAProviderThatIsDown(t *testing.T) {
	e := newTestEnv(t, "")
	id, _ := e.createConnection("cust-1")
	// Point the connection at a closed port by replacing its credentials.
	sealed, err := e.app.vault.Seal(id, tether.Credentials{"server": "http://127.0.0.1:1", "api_key": "k"})
	if err != nil {
		t.Fatal(err)
	}
	replaceCredentials(t, e, id, sealed)
	res := e.proxy("GET", id, "/orders")
	expectStatus(t, res, http.StatusBadGateway)
	if res.Header.Get("Content-Type") != "application/problem+json" || res.Header.Get("X-Tether-Call-Id") == "" {
		t.Errorf("502 headers %v", res.Header)
	}
	e.flushCalls()
	calls := e.do("GET", "/v1/calls?connection_id="+id+"&source=proxy", nil).json(t)["data"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["status_code"] != nil || calls[0].(map[string]any)["signal"] != "transient" {
		t.Errorf("logged call = %v", calls)
	}
}

func TestProxyStreamsLargeBodies(t *testing.T) {
	const size = 8 << 20
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer upstream-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body) // the upload, streamed
		chunk := []byte(strings.Repeat("x", 64<<10))
		for sent := int64(0); sent < n; sent += int64(len(chunk)) {
			_, _ = w.Write(chunk[:min(int64(len(chunk)), n-sent)])
		}
	}))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	def := "name: big_upstream\ndisplay_name: Big Upstream\nbase_url: \"{server}\"\nauth:\n  type: bearer\n  fields:\n" +
		"    - {name: server}\n    - {name: token, secret: true}\nverify: {path: /me}\nresources:\n  uploads:\n    paths: [\"/upload\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "big.yaml"), []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, "", func(c *Config) { c.ProvidersDir = dir })
	created := e.do("POST", "/v1/connections", map[string]any{"integration_name": "big_upstream", "customer_id": "c",
		"credentials": map[string]string{"server": upstream.URL, "token": "upstream-token"}})
	expectStatus(t, created, http.StatusCreated)
	id := created.data(t)["connection_id"].(string)

	req, err := http.NewRequest("POST", e.url+"/v1/proxy/"+id+"/upload", strings.NewReader(strings.Repeat("y", size)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || n != size {
		t.Fatalf("status %d, %d bytes; want 200 and %d", resp.StatusCode, n, size)
	}
}

func TestReportedCallsCountForHealth(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, key := e.createConnection("cust-1")
		now := time.Now().UTC().Format(time.RFC3339Nano)
		res := e.do("POST", "/v1/calls", map[string]any{"calls": []map[string]any{
			{"connection_id": id, "method": "GET", "path": "/orders", "status_code": 200, "duration_ms": 12, "started_at": now},
			{"connection_id": id, "method": "GET", "path": "/inventory", "status_code": 503, "duration_ms": 40, "started_at": now},
			{"connection_id": id, "method": "GET", "path": "/x?access_token=t0ken&page=2", "status_code": nil, "duration_ms": 40, "started_at": now, "error": "timeout"},
			{"connection_id": id, "method": "GET", "path": "/orders?api_key=k3y", "status_code": 200, "duration_ms": 5, "started_at": now},
		}})
		expectStatus(t, res, http.StatusAccepted)
		if res.data(t)["accepted"] != float64(4) {
			t.Errorf("accepted = %v", res.data(t)["accepted"])
		}
		paths := map[string]bool{}
		for _, c := range e.waitCalls("connection_id="+id+"&source=report", 4) {
			paths[c.(map[string]any)["path"].(string)] = true
		}
		// Every call of the batch is redacted (they share a redactor).
		for _, want := range []string{"/x?access_token=[REDACTED]&page=2", "/orders?api_key=[REDACTED]"} {
			if !paths[want] {
				t.Errorf("no reported call with path %s in %v", want, paths)
			}
		}
		// A reported 401 is confirmed by re-verifying, like a proxied one.
		e.sandbox.RevokeKey(key)
		expectStatus(t, e.do("POST", "/v1/calls", map[string]any{"calls": []map[string]any{
			{"connection_id": id, "method": "GET", "path": "/orders", "status_code": 401, "duration_ms": 3, "started_at": now},
		}}), http.StatusAccepted)
		eventually(t, "invalid_credentials", e.statusIs(id, tether.StatusUnhealthy, tether.ErrorInvalidCredentials))

		bad := e.do("POST", "/v1/calls", map[string]any{"calls": []map[string]any{
			{"connection_id": id, "method": "GET", "path": "/orders", "status_code": 200, "duration_ms": 1, "started_at": now},
			{"connection_id": "conn_nope", "method": "GET", "path": "/orders", "status_code": 200, "duration_ms": 1, "started_at": now},
		}})
		expectStatus(t, bad, http.StatusUnprocessableEntity)
		if !strings.Contains(string(bad.Body), "body.calls[1].connection_id") {
			t.Errorf("problem does not locate the bad call: %s", bad.Body)
		}
		tooMany := make([]map[string]any, 1001)
		for i := range tooMany {
			tooMany[i] = map[string]any{"connection_id": id, "method": "GET", "path": "/", "status_code": 200, "duration_ms": 1, "started_at": now}
		}
		expectStatus(t, e.do("POST", "/v1/calls", map[string]any{"calls": tooMany}), http.StatusUnprocessableEntity)
	})
}

func TestCheckRunsVerificationAndProbes(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, key := e.createConnection("cust-1", sandbox.ScopeOrders, sandbox.ScopeInventory)
		res := e.do("POST", "/v1/connections/"+id+"/check", nil)
		expectStatus(t, res, http.StatusOK)
		c := res.data(t)
		if c["status"] != "unhealthy_now" || fmt.Sprint(errorTypes(c)) != "[missing_permission]" {
			t.Errorf("after check: %v %v", c["status"], c["errors"])
		}
		access := map[string]string{}
		for _, r := range c["resources"].([]any) {
			access[r.(map[string]any)["name"].(string)] = r.(map[string]any)["access"].(string)
		}
		if access["orders"] != "granted" || access["inventory"] != "granted" || access["returns"] != "denied" {
			t.Errorf("access %v", access)
		}
		e.sandbox.RevokeKey(key)
		c = e.do("POST", "/v1/connections/"+id+"/check", nil).data(t)
		if c["status"] != "unhealthy" || !strings.Contains(fmt.Sprint(errorTypes(c)), "invalid_credentials") {
			t.Errorf("after revoking: %v %v", c["status"], errorTypes(c))
		}
		expectStatus(t, e.do("POST", "/v1/connections/conn_nope/check", nil), http.StatusNotFound)
	})
}

// Concurrent signals for one connection never lose an update.
func TestConcurrentSignalsLoseNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		id, key := e.createConnection("cust-1")
		e.sandbox.RevokeKey(key)
		expectStatus(t, e.do("POST", "/v1/connections/"+id+"/check", nil), http.StatusOK)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					call := &tether.Call{ID: tether.NewID(tether.PrefixCall), ConnectionID: &id, IntegrationName: "acme_wms",
						Source: tether.SourceReport, Method: "GET", Path: "/orders", Signal: tether.SignalAuthFailure,
						Outcome: tether.OutcomeFailure, StartedAt: tether.Now(), StatusCode: ptr(401)}
					if err := e.app.store.RecordCalls(context.Background(), []*tether.Call{call}, e.app.monitor.Apply); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		errs := e.connection(id)["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["occurrences"] != float64(1+workers*each) {
			t.Errorf("errors = %v, want one with %d occurrences", errs, 1+workers*each)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func assertNoSecretInCalls(t *testing.T, e *testEnv, secret string) {
	t.Helper()
	e.flushCalls()
	body := e.do("GET", "/v1/calls?limit=500", nil).Body
	if strings.Contains(string(body), secret) {
		t.Errorf("the call log contains a secret")
	}
}
