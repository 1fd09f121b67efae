package sandbox

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Numbers of records seeded per account when Options leaves them at zero.
const (
	defaultOrders    = 120
	defaultInventory = 80
	defaultReturns   = 30
)

// Options configures a Sandbox. The zero value is ready to use.
type Options struct {
	// Orders, Inventory and Returns are the numbers of records seeded per
	// account. Zero means the defaults (120, 80, 30); a negative number
	// seeds none.
	Orders, Inventory, Returns int

	// Seed makes the data deterministic: the same Seed and account id always
	// give the same records, in every process.
	Seed int64
}

// withDefaults resolves the zero and negative counts described on Options.
func (o Options) withDefaults() Options {
	resolve := func(n, def int) int {
		switch {
		case n == 0:
			return def
		case n < 0:
			return 0
		}
		return n
	}
	o.Orders = resolve(o.Orders, defaultOrders)
	o.Inventory = resolve(o.Inventory, defaultInventory)
	o.Returns = resolve(o.Returns, defaultReturns)
	return o
}

// Sandbox is a fake WMS-like provider. It is an http.Handler, and all its
// methods are safe for concurrent use.
type Sandbox struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.RWMutex // guards keys and accounts (the maps, not the records)
	keys     map[string]*apiKey
	accounts map[string]*account

	faults   faultList
	requests atomic.Int64
}

// New returns a sandbox with no keys; CreateKey makes the first one.
func New(opts Options) *Sandbox {
	s := &Sandbox{
		opts:     opts.withDefaults(),
		keys:     make(map[string]*apiKey),
		accounts: make(map[string]*account),
	}
	s.mux = s.routes()
	return s
}

func (s *Sandbox) routes() *http.ServeMux {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /api/ping", s.ping)
	mux.HandleFunc("GET /api/me", s.withKey(s.me))
	mux.HandleFunc("GET /api/orders", s.withScope(ScopeOrders, s.listOrders))
	mux.HandleFunc("GET /api/orders/{id}", s.withScope(ScopeOrders, s.getOrder))
	mux.HandleFunc("GET /api/inventory", s.withScope(ScopeInventory, s.listInventory))
	mux.HandleFunc("GET /api/returns", s.withScope(ScopeReturns, s.listReturns))
	mux.HandleFunc("GET /api/returns/{id}", s.withScope(ScopeReturns, s.getReturn))

	mux.HandleFunc("POST /_admin/keys", s.adminCreateKey)
	mux.HandleFunc("DELETE /_admin/keys/{key}", s.adminRevokeKey)
	mux.HandleFunc("PUT /_admin/keys/{key}/scopes", s.adminSetScopes)
	mux.HandleFunc("POST /_admin/faults", s.adminAddFault)
	mux.HandleFunc("DELETE /_admin/faults", s.adminClearFaults)
	mux.HandleFunc("POST /_admin/touch", s.adminTouch)

	// Everything else, including a known path with the wrong method, is a
	// JSON 404 so that clients always get a body they can parse.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "No such endpoint: "+r.Method+" "+r.URL.Path+".")
	})
	return mux
}

// ServeHTTP counts and fault-injects provider requests, then routes them.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isProviderPath(r.URL.Path) {
		s.requests.Add(1)
		if s.injectFault(w, r) {
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// RequestCount returns how many provider requests (under /api, faulted or
// not, admin calls excluded) the sandbox has received, so that tests can
// assert that Tether did not call the provider.
func (s *Sandbox) RequestCount() int64 {
	return s.requests.Load()
}

// TouchRecords sets updated_at to now on the n least recently updated
// records of resource ("orders", "inventory" or "returns") in the account,
// so that the next incremental sync must fetch them. If the clock has not
// moved past the newest record, the touched records get a time just after
// it instead, so they always sort last. accountID "" means "acct_demo".
// It panics on an unknown resource, which is a bug in the caller.
func (s *Sandbox) TouchRecords(accountID, resource string, n int) {
	if err := s.account(accountID).touch(resource, n, time.Now()); err != nil {
		panic("sandbox: TouchRecords: " + err.Error())
	}
}

// isProviderPath reports whether path belongs to the provider API rather
// than to the admin API.
func isProviderPath(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/")
}

// account returns the account with that id, seeding it on first use.
func (s *Sandbox) account(id string) *account {
	id = accountOrDefault(id)

	s.mu.RLock()
	acct := s.accounts[id]
	s.mu.RUnlock()
	if acct != nil {
		return acct
	}

	// Seed outside the lock: a large account must not stall other requests.
	seeded := newAccount(id, s.opts)

	s.mu.Lock()
	defer s.mu.Unlock()
	if acct := s.accounts[id]; acct != nil {
		return acct // another goroutine seeded it first; keep one copy
	}
	s.accounts[id] = seeded
	return seeded
}
