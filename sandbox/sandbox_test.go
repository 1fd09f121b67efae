package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// env is a sandbox behind a real HTTP server.
type env struct {
	t   *testing.T
	sb  *Sandbox
	url string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	sb := New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{t: t, sb: sb, url: srv.URL}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, into any) {
	t.Helper()
	if err := json.Unmarshal(r.body, into); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(method, path, key, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (e *env) get(key, path string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, key, "")
}

// getOK fetches path, expects 200 and decodes the body.
func (e *env) getOK(key, path string, into any) {
	e.t.Helper()
	res := e.get(key, path)
	if res.status != http.StatusOK {
		e.t.Fatalf("GET %s: status %d, body %s", path, res.status, res.body)
	}
	res.decode(e.t, into)
}

// Wire shapes as a client sees them.
type (
	orderRec struct {
		ID        int     `json:"id"`
		Number    string  `json:"number"`
		Status    string  `json:"status"`
		Total     float64 `json:"total"`
		Currency  string  `json:"currency"`
		CreatedAt string  `json:"created_at"`
		UpdatedAt string  `json:"updated_at"`
	}
	orderPage struct {
		Data []orderRec `json:"data"`
		Meta struct {
			NextCursor *string `json:"next_cursor"`
		} `json:"meta"`
	}
	inventoryRec struct {
		SKU       string `json:"sku"`
		Quantity  int    `json:"quantity"`
		Warehouse string `json:"warehouse"`
		UpdatedAt string `json:"updated_at"`
	}
	inventoryPage struct {
		Items []inventoryRec `json:"items"`
	}
	returnRec struct {
		ID        string `json:"id"`
		OrderID   int    `json:"order_id"`
		Reason    string `json:"reason"`
		UpdatedAt string `json:"updated_at"`
	}
	returnPage struct {
		Data  []returnRec `json:"data"`
		Total int         `json:"total"`
	}
)

// stamped is a record's id and updated_at, enough to check walks.
type stamped struct {
	id        string
	updatedAt string
}

// walkOrders follows cursors from the first page to the last.
func (e *env) walkOrders(key, params string) []stamped {
	e.t.Helper()
	var all []stamped
	cursor := ""
	for range 10_000 {
		var page orderPage
		e.getOK(key, "/api/orders?"+params+"&cursor="+url.QueryEscape(cursor), &page)
		for _, o := range page.Data {
			all = append(all, stamped{fmt.Sprint(o.ID), o.UpdatedAt})
		}
		if page.Meta.NextCursor == nil {
			return all
		}
		cursor = *page.Meta.NextCursor
	}
	e.t.Fatal("cursor walk does not end")
	return nil
}

// walkInventory asks for pages 1, 2, ... until one is empty.
func (e *env) walkInventory(key, params string) []stamped {
	e.t.Helper()
	var all []stamped
	for page := 1; page < 10_000; page++ {
		var p inventoryPage
		e.getOK(key, fmt.Sprintf("/api/inventory?%s&page=%d", params, page), &p)
		if len(p.Items) == 0 {
			return all
		}
		for _, item := range p.Items {
			all = append(all, stamped{item.SKU, item.UpdatedAt})
		}
	}
	e.t.Fatal("page walk does not end")
	return nil
}

// walkReturns asks for offsets 0, n, 2n, ... until a page is short, and
// checks that total is consistent.
func (e *env) walkReturns(key, params string, limit int) []stamped {
	e.t.Helper()
	var all []stamped
	for offset := 0; offset < 1_000_000; offset += limit {
		var p returnPage
		e.getOK(key, fmt.Sprintf("/api/returns?%s&offset=%d&limit=%d", params, offset, limit), &p)
		for _, ret := range p.Data {
			all = append(all, stamped{ret.ID, ret.UpdatedAt})
		}
		if len(p.Data) < limit {
			if p.Total != len(all) {
				e.t.Errorf("total = %d, walked %d", p.Total, len(all))
			}
			return all
		}
	}
	e.t.Fatal("offset walk does not end")
	return nil
}

func (e *env) walk(resource, key, params string) []stamped {
	e.t.Helper()
	switch resource {
	case "orders":
		return e.walkOrders(key, params+"&limit=200")
	case "inventory":
		return e.walkInventory(key, params+"&per_page=200")
	case "returns":
		return e.walkReturns(key, params, 200)
	}
	e.t.Fatalf("unknown resource %q", resource)
	return nil
}

var resources = []string{"orders", "inventory", "returns"}

var timeFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// checkWalk verifies that a walk saw want distinct records, each once, in
// (updated_at, id) order with well-formed times.
func checkWalk(t *testing.T, got []stamped, want int) {
	t.Helper()
	if len(got) != want {
		t.Errorf("walked %d records, want %d", len(got), want)
	}
	seen := make(map[string]bool)
	for i, r := range got {
		if seen[r.id] {
			t.Errorf("record %s seen twice", r.id)
		}
		seen[r.id] = true
		if !timeFormat.MatchString(r.updatedAt) {
			t.Errorf("record %s: updated_at %q is not RFC 3339 UTC with milliseconds", r.id, r.updatedAt)
		}
		if i > 0 && r.updatedAt < got[i-1].updatedAt {
			t.Errorf("record %s (%s) comes after %s (%s)", r.id, r.updatedAt, got[i-1].id, got[i-1].updatedAt)
		}
	}
}

func wantInvalidKey(t *testing.T, res response) {
	t.Helper()
	const body = `{"error":"invalid_api_key","message":"The API key is invalid or has been revoked."}`
	if res.status != http.StatusUnauthorized || string(res.body) != body {
		t.Errorf("got %d %s, want 401 %s", res.status, res.body, body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestInvalidKeysGet401(t *testing.T) {
	e := newEnv(t, Options{})
	revoked := e.sb.CreateKey("")
	e.sb.RevokeKey(revoked)

	for _, tc := range []struct{ name, key string }{
		{"missing", ""},
		{"unknown", "sk_test_nope"},
		{"revoked", revoked},
	} {
		for _, path := range []string{"/api/me", "/api/orders", "/api/orders/1", "/api/inventory", "/api/returns", "/api/returns/ret_0001"} {
			t.Run(tc.name+path, func(t *testing.T) {
				wantInvalidKey(t, e.get(tc.key, path))
			})
		}
	}
}

func TestPingAlwaysAnswers200(t *testing.T) {
	e := newEnv(t, Options{})
	valid := e.sb.CreateKey("", ScopeReturns) // ping needs no scope
	revoked := e.sb.CreateKey("")
	e.sb.RevokeKey(revoked)

	for _, tc := range []struct{ name, key, body string }{
		{"valid", valid, `{"ok":true}`},
		{"missing", "", `{"ok":false,"error":"invalid_auth"}`},
		{"unknown", "sk_test_nope", `{"ok":false,"error":"invalid_auth"}`},
		{"revoked", revoked, `{"ok":false,"error":"invalid_auth"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.get(tc.key, "/api/ping")
			if res.status != http.StatusOK || string(res.body) != tc.body {
				t.Errorf("got %d %s, want 200 %s", res.status, res.body, tc.body)
			}
		})
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		account, wantID, wantName string
		scopes, wantScopes        []string
	}{
		{"", "acct_demo", "Demo Warehouse (acct_demo)", nil, allScopes()},
		{"acct_7", "acct_7", "(acct_7)", []string{ScopeReturns, ScopeOrders, ScopeReturns}, []string{ScopeOrders, ScopeReturns}},
	} {
		t.Run(tc.wantID, func(t *testing.T) {
			var me struct {
				Account struct{ ID, Name string }
				Scopes  []string
			}
			e.getOK(e.sb.CreateKey(tc.account, tc.scopes...), "/api/me", &me)
			if me.Account.ID != tc.wantID || !strings.HasSuffix(me.Account.Name, tc.wantName) {
				t.Errorf("account = %+v, want id %s and a name ending %q", me.Account, tc.wantID, tc.wantName)
			}
			if !slices.Equal(me.Scopes, tc.wantScopes) {
				t.Errorf("scopes = %v, want %v", me.Scopes, tc.wantScopes)
			}
		})
	}
}

func TestMissingScopeGets403(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("", ScopeOrders)

	for _, tc := range []struct {
		path   string
		status int
		scope  string
	}{
		{"/api/orders", 200, ""},
		{"/api/orders/1", 200, ""},
		{"/api/inventory", 403, ScopeInventory},
		{"/api/returns", 403, ScopeReturns},
		{"/api/returns/ret_0001", 403, ScopeReturns},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res := e.get(key, tc.path)
			if res.status != tc.status {
				t.Fatalf("status = %d, want %d (%s)", res.status, tc.status, res.body)
			}
			if tc.status == 403 {
				want := `{"error":"insufficient_scope","message":"The API key lacks the ` + tc.scope + ` scope."}`
				if string(res.body) != want {
					t.Errorf("body = %s, want %s", res.body, want)
				}
			}
		})
	}
}

func TestWalksSeeEveryRecordOnce(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	for _, limit := range []int{1, 7, 50, 119, 120, 200} {
		t.Run(fmt.Sprintf("orders by cursor, limit %d", limit), func(t *testing.T) {
			checkWalk(t, e.walkOrders(key, fmt.Sprintf("limit=%d", limit)), defaultOrders)
		})
	}
	for _, perPage := range []int{1, 7, 80, 200} {
		t.Run(fmt.Sprintf("inventory by page, per_page %d", perPage), func(t *testing.T) {
			checkWalk(t, e.walkInventory(key, fmt.Sprintf("per_page=%d", perPage)), defaultInventory)
		})
	}
	for _, limit := range []int{1, 7, 30, 200} {
		t.Run(fmt.Sprintf("returns by offset, limit %d", limit), func(t *testing.T) {
			checkWalk(t, e.walkReturns(key, "", limit), defaultReturns)
		})
	}
}

func TestDefaultPageSizes(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	var orders orderPage
	e.getOK(key, "/api/orders", &orders)
	var inventory inventoryPage
	e.getOK(key, "/api/inventory", &inventory)
	var returns returnPage
	e.getOK(key, "/api/returns", &returns)

	if len(orders.Data) != 50 || orders.Meta.NextCursor == nil || len(inventory.Items) != 50 || len(returns.Data) != 30 || returns.Total != 30 {
		t.Errorf("got %d orders (next %v), %d items, %d of %d returns; want 50 (more), 50, 30 of 30",
			len(orders.Data), orders.Meta.NextCursor, len(inventory.Items), len(returns.Data), returns.Total)
	}
}

func TestRecordCounts(t *testing.T) {
	for _, tc := range []struct {
		opts                       Options
		orders, inventory, returns int
	}{
		{Options{}, 120, 80, 30},
		{Options{Orders: 3, Inventory: 450, Returns: 1}, 3, 450, 1},
		{Options{Orders: -1, Inventory: -1, Returns: -1}, 0, 0, 0},
	} {
		t.Run(fmt.Sprintf("%+v", tc.opts), func(t *testing.T) {
			e := newEnv(t, tc.opts)
			key := e.sb.CreateKey("")
			checkWalk(t, e.walk("orders", key, ""), tc.orders)
			checkWalk(t, e.walk("inventory", key, ""), tc.inventory)
			checkWalk(t, e.walk("returns", key, ""), tc.returns)
		})
	}
}

func TestGetOne(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	var order single[orderRec]
	e.getOK(key, "/api/orders/5", &order)
	if order.Data.ID != 5 || order.Data.Number != "SO-0005" || order.Data.Total <= 0 || order.Data.CreatedAt > order.Data.UpdatedAt {
		t.Errorf("order 5 = %+v", order.Data)
	}
	var ret single[returnRec]
	e.getOK(key, "/api/returns/ret_0030", &ret)
	if ret.Data.ID != "ret_0030" || ret.Data.OrderID < 1 || ret.Data.OrderID > defaultOrders {
		t.Errorf("return 30 = %+v", ret.Data)
	}

	for _, path := range []string{
		"/api/orders/0", "/api/orders/121", "/api/orders/007", "/api/orders/abc",
		"/api/returns/ret_0000", "/api/returns/ret_0031", "/api/returns/ret_1", "/api/returns/0001",
		"/api/nope", "/api", "/elsewhere",
	} {
		t.Run(path, func(t *testing.T) {
			res := e.get(key, path)
			var body struct{ Error string }
			res.decode(t, &body)
			if res.status != http.StatusNotFound || body.Error != "not_found" {
				t.Errorf("got %d %s, want 404 not_found", res.status, res.body)
			}
		})
	}
}

func TestInvalidParametersGet400(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")
	for _, path := range []string{
		"/api/orders?limit=0", "/api/orders?limit=201", "/api/orders?limit=ten",
		"/api/orders?cursor=bogus", "/api/orders?cursor=" + brokenCursor(),
		"/api/orders?updated_since=yesterday", "/api/orders?updated_since=2026-01-01",
		"/api/inventory?page=0", "/api/inventory?per_page=500", "/api/inventory?page=-3",
		"/api/returns?offset=-1", "/api/returns?limit=1000", "/api/returns?updated_since=1700000000",
	} {
		t.Run(path, func(t *testing.T) {
			res := e.get(key, path)
			var body struct{ Error, Message string }
			res.decode(t, &body)
			if res.status != http.StatusBadRequest || body.Error != "invalid_request" || body.Message == "" {
				t.Errorf("got %d %s, want 400 invalid_request", res.status, res.body)
			}
		})
	}
}

// brokenCursor looks like a cursor (base64url) but does not hold a position.
func brokenCursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte("12:x"))
}

func TestUpdatedSinceReturnsRecordsAtOrAfter(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	for _, resource := range resources {
		t.Run(resource, func(t *testing.T) {
			all := e.walk(resource, key, "")
			// Cut at a record's own time: >= must include it.
			since := all[len(all)/3].updatedAt
			var want []stamped
			for _, r := range all {
				if r.updatedAt >= since {
					want = append(want, r)
				}
			}
			got := e.walk(resource, key, "updated_since="+url.QueryEscape(since))
			if !slices.Equal(got, want) {
				t.Errorf("updated_since=%s gave %d records, want %d", since, len(got), len(want))
			}
			if len(want) == len(all) || len(want) == 0 {
				t.Errorf("cut at %s kept %d of %d records; pick a better cut", since, len(want), len(all))
			}

			// Other offsets mean the same instant.
			instant, _ := time.Parse(time.RFC3339, since)
			shifted := instant.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
			if got := e.walk(resource, key, "updated_since="+url.QueryEscape(shifted)); !slices.Equal(got, want) {
				t.Errorf("updated_since=%s gave %d records, want %d", shifted, len(got), len(want))
			}
		})
	}
}

func TestTouchedRecordsShowUpInTheNextIncrementalSync(t *testing.T) {
	for _, resource := range resources {
		t.Run(resource, func(t *testing.T) {
			e := newEnv(t, Options{})
			key := e.sb.CreateKey("acct_touch")

			before := e.walk(resource, key, "")
			checkpoint := before[len(before)-1].updatedAt
			touchStart := time.Now().UTC().Truncate(time.Millisecond)

			e.sb.TouchRecords("acct_touch", resource, 5)

			got := e.walk(resource, key, "updated_since="+url.QueryEscape(checkpoint))
			// The record at the checkpoint (>=), then the five oldest, now
			// the newest. Their order among themselves (same updated_at)
			// is by id, which checkWalk does not see; compare them as a set.
			ids := func(records []stamped) []string {
				var out []string
				for _, r := range records {
					out = append(out, r.id)
				}
				slices.Sort(out[min(1, len(out)):])
				return out
			}
			wantIDs := ids(append([]stamped{before[len(before)-1]}, before[:5]...))
			gotIDs := ids(got)
			if !slices.Equal(gotIDs, wantIDs) {
				t.Fatalf("incremental walk gave %v, want %v", gotIDs, wantIDs)
			}
			for _, r := range got[1:] {
				touched, _ := time.Parse(time.RFC3339, r.updatedAt)
				if touched.Before(touchStart) {
					t.Errorf("touched record %s has updated_at %s, before the touch at %s", r.id, r.updatedAt, touchStart)
				}
			}

			// A full walk still sees every record once, now in the new order.
			after := e.walk(resource, key, "")
			checkWalk(t, after, len(before))

			// Other accounts are untouched.
			other := e.sb.CreateKey("acct_other")
			if walked := e.walk(resource, other, "updated_since="+url.QueryEscape(checkpoint)); len(walked) > 1 {
				t.Errorf("acct_other has %d records after acct_touch's checkpoint", len(walked))
			}
		})
	}
}

func TestTouchRecordsCountsBeyondTheTableTouchAll(t *testing.T) {
	e := newEnv(t, Options{Returns: 4})
	key := e.sb.CreateKey("")
	e.sb.TouchRecords("", "returns", 100)
	e.sb.TouchRecords("", "returns", 0)
	e.sb.TouchRecords("", "returns", -2)
	checkWalk(t, e.walk("returns", key, ""), 4)
}

func TestRevokeKey(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")
	other := e.sb.CreateKey("")
	e.getOK(key, "/api/orders", &orderPage{})

	e.sb.RevokeKey(key)
	e.sb.RevokeKey("sk_test_never_existed")

	wantInvalidKey(t, e.get(key, "/api/orders"))
	e.getOK(other, "/api/orders", &orderPage{})
}

func TestSetScopes(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	e.sb.SetScopes(key, ScopeInventory)
	if got := e.get(key, "/api/orders").status; got != http.StatusForbidden {
		t.Errorf("orders after losing the scope: %d, want 403", got)
	}
	e.getOK(key, "/api/inventory", &inventoryPage{})

	e.sb.SetScopes(key)
	var me struct{ Scopes []string }
	e.getOK(key, "/api/me", &me)
	if me.Scopes == nil || len(me.Scopes) != 0 {
		t.Errorf("scopes = %#v, want []", me.Scopes)
	}
	if got := e.get(key, "/api/inventory").status; got != http.StatusForbidden {
		t.Errorf("inventory without scopes: %d, want 403", got)
	}
}

func TestGoAPIPanicsOnProgrammerErrors(t *testing.T) {
	sb := New(Options{})
	for name, call := range map[string]func(){
		"CreateKey unknown scope":   func() { sb.CreateKey("", "orders:write") },
		"SetScopes unknown scope":   func() { sb.SetScopes("k", "admin") },
		"TouchRecords unknown":      func() { sb.TouchRecords("", "customers", 1) },
		"AddFault bad status":       func() { sb.AddFault(Fault{Status: 42}) },
		"AddFault prefix outside":   func() { sb.AddFault(Fault{PathPrefix: "/orders"}) },
		"AddFault negative latency": func() { sb.AddFault(Fault{Latency: -time.Second}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			call()
		})
	}
}

func TestFaultWithCountAndRetryAfter(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")
	id := e.sb.AddFault(Fault{PathPrefix: "/api/orders", Status: 429, RetryAfter: 2, Count: 3})
	if id == "" {
		t.Error("AddFault returned no id")
	}

	// Faults come before auth, as from a gateway: even a bad key sees them.
	for i, k := range []string{key, "", key} {
		res := e.get(k, "/api/orders/1")
		if res.status != 429 || res.header.Get("Retry-After") != "2" || string(res.body) != `{"error":"injected_fault","status":429}` {
			t.Errorf("request %d: got %d, Retry-After %q, %s", i+1, res.status, res.header.Get("Retry-After"), res.body)
		}
	}
	if res := e.get(key, "/api/orders"); res.status != 200 {
		t.Errorf("4th request: got %d %s, want 200: the fault was for 3", res.status, res.body)
	}
}

func TestFaultMatching(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	e.sb.AddFault(Fault{PathPrefix: "/api/returns", Status: 503, Body: "<h1>maintenance</h1>"})
	e.sb.AddFault(Fault{Status: 500, Body: `{"oops":true}`, Count: 1})
	e.sb.AddFault(Fault{PathPrefix: "/api/returns", Status: 502}) // shadowed by the first

	for i, tc := range []struct {
		path        string
		status      int
		body        string
		contentType string
	}{
		{"/api/returns", 503, "<h1>maintenance</h1>", "text/plain; charset=utf-8"},
		{"/api/inventory", 500, `{"oops":true}`, "application/json"},
		{"/api/inventory", 200, "", "application/json"}, // the catch-all was used up
		{"/api/returns/ret_0001", 503, "<h1>maintenance</h1>", "text/plain; charset=utf-8"},
		{"/api/ping", 200, `{"ok":true}`, "application/json"},
	} {
		res := e.get(key, tc.path)
		if res.status != tc.status || (tc.body != "" && string(res.body) != tc.body) || res.header.Get("Content-Type") != tc.contentType {
			t.Errorf("request %d, %s: got %d %q %s, want %d %q %s", i+1, tc.path,
				res.status, res.header.Get("Content-Type"), res.body, tc.status, tc.contentType, tc.body)
		}
		if res.header.Get("Retry-After") != "" {
			t.Errorf("%s: Retry-After set without retry_after", tc.path)
		}
	}

	e.sb.ClearFaults()
	if got := e.get(key, "/api/returns").status; got != 200 {
		t.Errorf("after ClearFaults: %d, want 200", got)
	}
}

func TestLatencyFaultDelaysThenContinues(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")
	const latency = 30 * time.Millisecond
	e.sb.AddFault(Fault{PathPrefix: "/api/orders", Latency: latency, Count: 1})

	start := time.Now()
	res := e.get(key, "/api/orders")
	if elapsed := time.Since(start); elapsed < latency {
		t.Errorf("answered after %v, before the injected %v", elapsed, latency)
	}
	if res.status != 200 {
		t.Errorf("status = %d, want 200: a latency-only fault lets the request through", res.status)
	}
}

func TestLatencyEndsWhenTheRequestIsCancelled(t *testing.T) {
	sb := New(Options{})
	sb.AddFault(Fault{Status: 504, Latency: time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/orders", nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		sb.ServeHTTP(rec, req)
		close(done)
	}()
	cancel()

	select {
	case <-done:
	case <-time.After(10 * time.Second): // a deadline for a hung test, not a speed check
		t.Fatal("ServeHTTP still waiting after the request was cancelled")
	}
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Errorf("wrote %v %q to a client that went away", rec.Header(), rec.Body)
	}
}

func TestRequestCountCountsProviderRequestsOnly(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")
	e.do(http.MethodPost, "/_admin/keys", "", "")
	e.do(http.MethodDelete, "/_admin/faults", "", "")
	if got := e.sb.RequestCount(); got != 0 {
		t.Fatalf("RequestCount = %d after admin calls only, want 0", got)
	}

	e.sb.AddFault(Fault{PathPrefix: "/api/returns", Status: 500, Count: 1})
	e.get(key, "/api/orders")
	e.get("", "/api/orders")   // 401s count: the provider was called
	e.get(key, "/api/returns") // faulted requests count too
	e.get(key, "/api/nowhere")
	e.get(key, "/elsewhere")
	if got := e.sb.RequestCount(); got != 4 {
		t.Errorf("RequestCount = %d, want 4", got)
	}
}

func TestAdminKeys(t *testing.T) {
	e := newEnv(t, Options{})

	type keyObj struct {
		Key       string   `json:"key"`
		AccountID string   `json:"account_id"`
		Scopes    []string `json:"scopes"`
	}
	create := func(body string) keyObj {
		t.Helper()
		res := e.do(http.MethodPost, "/_admin/keys", "", body)
		if res.status != http.StatusCreated {
			t.Fatalf("POST /_admin/keys %s: %d %s", body, res.status, res.body)
		}
		var k keyObj
		res.decode(t, &k)
		if !strings.HasPrefix(k.Key, "sk_test_") {
			t.Errorf("key %q lacks the sk_test_ prefix", k.Key)
		}
		return k
	}

	if k := create(""); k.AccountID != "acct_demo" || !slices.Equal(k.Scopes, allScopes()) {
		t.Errorf("default key = %+v", k)
	}
	if k := create(`{}`); k.AccountID != "acct_demo" || !slices.Equal(k.Scopes, allScopes()) {
		t.Errorf("key from {} = %+v", k)
	}
	k := create(`{"account_id":"acct_9","scopes":["returns:read"]}`)
	if k.AccountID != "acct_9" || !slices.Equal(k.Scopes, []string{ScopeReturns}) {
		t.Errorf("key = %+v", k)
	}
	e.getOK(k.Key, "/api/returns", &returnPage{})

	res := e.do(http.MethodPut, "/_admin/keys/"+k.Key+"/scopes", "", `{"scopes":["orders:read","inventory:read"]}`)
	var updated keyObj
	res.decode(t, &updated)
	if res.status != 200 || updated.Key != k.Key || updated.AccountID != "acct_9" || !slices.Equal(updated.Scopes, []string{ScopeOrders, ScopeInventory}) {
		t.Errorf("PUT scopes: %d %s", res.status, res.body)
	}
	if got := e.get(k.Key, "/api/returns").status; got != 403 {
		t.Errorf("returns after PUT scopes: %d, want 403", got)
	}

	if res := e.do(http.MethodDelete, "/_admin/keys/"+k.Key, "", ""); res.status != 204 {
		t.Errorf("DELETE key: %d %s", res.status, res.body)
	}
	wantInvalidKey(t, e.get(k.Key, "/api/me"))
	if res := e.do(http.MethodDelete, "/_admin/keys/"+k.Key, "", ""); res.status != 404 {
		t.Errorf("DELETE revoked key: %d, want 404", res.status)
	}
	if res := e.do(http.MethodPut, "/_admin/keys/sk_test_nope/scopes", "", `{"scopes":[]}`); res.status != 404 {
		t.Errorf("PUT scopes of unknown key: %d, want 404", res.status)
	}
}

func TestAdminFaultsAndTouch(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")

	res := e.do(http.MethodPost, "/_admin/faults", "", `{"path_prefix":"/api/orders","status":429,"retry_after":2,"latency_ms":1,"count":2,"body":""}`)
	var created struct {
		FaultID string `json:"fault_id"`
	}
	res.decode(t, &created)
	if res.status != 201 || created.FaultID == "" {
		t.Fatalf("POST fault: %d %s", res.status, res.body)
	}
	if res := e.get(key, "/api/orders"); res.status != 429 || res.header.Get("Retry-After") != "2" {
		t.Errorf("faulted request: %d, Retry-After %q", res.status, res.header.Get("Retry-After"))
	}
	if res := e.do(http.MethodDelete, "/_admin/faults", "", ""); res.status != 204 {
		t.Errorf("DELETE faults: %d", res.status)
	}
	if got := e.get(key, "/api/orders").status; got != 200 {
		t.Errorf("after DELETE faults: %d, want 200", got)
	}

	before := e.walk("inventory", key, "")
	if res := e.do(http.MethodPost, "/_admin/touch", "", `{"account_id":"acct_demo","resource":"inventory","count":2}`); res.status != 204 {
		t.Fatalf("POST touch: %d %s", res.status, res.body)
	}
	after := e.walk("inventory", key, "")
	if tail := after[len(after)-2:]; tail[0].id != before[0].id || tail[1].id != before[1].id {
		t.Errorf("after touching 2, the walk ends with %v, want %v", tail, before[:2])
	}
}

func TestAdminRejectsBadRequests(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.sb.CreateKey("")
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/_admin/keys", `{"account_id":`},
		{"POST", "/_admin/keys", `[]`},
		{"POST", "/_admin/keys", `{"scopes":["orders:write"]}`},
		{"POST", "/_admin/keys", `{"acount_id":"typo"}`},
		{"POST", "/_admin/keys", `{} {}`},
		{"PUT", "/_admin/keys/" + key + "/scopes", `{"scopes":["everything"]}`},
		{"PUT", "/_admin/keys/" + key + "/scopes", `nope`},
		{"POST", "/_admin/faults", `{"status":"429"}`},
		{"POST", "/_admin/faults", `{"status":99}`},
		{"POST", "/_admin/faults", `{"status":600}`},
		{"POST", "/_admin/faults", `{"path_prefix":"/orders"}`},
		{"POST", "/_admin/faults", `{"count":-1}`},
		{"POST", "/_admin/faults", `{"latency_ms":-5}`},
		{"POST", "/_admin/touch", `{"resource":"customers","count":1}`},
		{"POST", "/_admin/touch", `{"resource":"orders","count":-1}`},
		{"POST", "/_admin/touch", ``},
	} {
		t.Run(tc.method+" "+tc.body, func(t *testing.T) {
			res := e.do(tc.method, tc.path, "", tc.body)
			var body struct{ Error, Message string }
			res.decode(t, &body)
			if res.status != 400 || body.Error != "invalid_request" || body.Message == "" {
				t.Errorf("got %d %s, want 400 invalid_request", res.status, res.body)
			}
		})
	}
	// The key is unchanged by the rejected PUTs.
	e.getOK(key, "/api/returns", &returnPage{})
}

func TestSameSeedSameData(t *testing.T) {
	fetchAll := func(opts Options, account string) string {
		t.Helper()
		e := newEnv(t, opts)
		key := e.sb.CreateKey(account)
		var b strings.Builder
		for _, path := range []string{"/api/orders?limit=200", "/api/inventory?per_page=200", "/api/returns?limit=200", "/api/me"} {
			b.Write(e.get(key, path).body)
		}
		return b.String()
	}

	base := fetchAll(Options{Seed: 42}, "acct_a")
	if again := fetchAll(Options{Seed: 42}, "acct_a"); again != base {
		t.Error("two sandboxes with the same seed gave different data")
	}
	if other := fetchAll(Options{Seed: 43}, "acct_a"); other == base {
		t.Error("a different seed gave the same data")
	}
	if other := fetchAll(Options{Seed: 42}, "acct_b"); other == base {
		t.Error("a different account gave the same data")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Options{Orders: 300})
	keys := []string{e.sb.CreateKey(""), e.sb.CreateKey("acct_2")}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := keys[i%len(keys)]
			for range 10 {
				for _, path := range []string{"/api/orders?limit=37", "/api/orders/3", "/api/inventory?page=2", "/api/returns?offset=5", "/api/me", "/api/ping"} {
					res := e.get(key, path)
					if res.status != 200 && res.status != 403 && res.status != 503 {
						t.Errorf("GET %s: %d %s", path, res.status, res.body)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			e.sb.TouchRecords("", resources[i%3], 7)
			e.sb.SetScopes(keys[1], allScopes()[:i%4]...)
			e.sb.AddFault(Fault{Status: 503, Count: 1})
			if i%10 == 0 {
				e.sb.ClearFaults()
			}
			e.sb.CreateKey(fmt.Sprintf("acct_new_%d", i%5))
		}
	})
	wg.Wait()

	// Whatever happened, a full walk still sees every order exactly once.
	e.sb.ClearFaults()
	checkWalk(t, e.walk("orders", keys[0], ""), 300)
}

func BenchmarkListOrders(b *testing.B) {
	sb := New(Options{Seed: 1})
	key := sb.CreateKey("")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/api/orders?limit=50", nil)
		req.Header.Set("X-Api-Key", key)
		for pb.Next() {
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

func BenchmarkPing(b *testing.B) {
	sb := New(Options{Seed: 1})
	key := sb.CreateKey("")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/api/ping", nil)
		req.Header.Set("X-Api-Key", key)
		for pb.Next() {
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, req)
		}
	})
}
