// Package sandbox is a fake third-party provider: a small warehouse
// management (WMS) API with orders, inventory and returns, API keys with
// scopes, and fault injection.
//
// Tether's demo points a connection at it, end-to-end tests drive every
// health path through it (bad keys, missing scopes, rate limits, outages,
// slow answers, incremental syncs) and benchmarks use it as a provider that
// answers in microseconds. It therefore never touches the network or the
// clock on its own: each account's records are seeded deterministically from
// Options.Seed and the account id, state lives in the Sandbox value (many
// can run in one process), every method is safe for concurrent use, and the
// only waiting it ever does is injected latency, which ends early when the
// request is cancelled.
//
// A Sandbox is an http.Handler. Provider endpoints live under /api and are
// authenticated with the X-Api-Key header; test-control endpoints live under
// /_admin and need no authentication, mirroring the Go methods (CreateKey,
// RevokeKey, SetScopes, AddFault, ClearFaults, TouchRecords) for tools that
// drive the sandbox over HTTP. README.md in this folder lists the endpoints.
//
// Typical use in a test:
//
//	sb := sandbox.New(sandbox.Options{Seed: 1})
//	srv := httptest.NewServer(sb)
//	defer srv.Close()
//	key := sb.CreateKey("acct_demo", sandbox.ScopeOrders)
//	// ... point a connection at srv.URL+"/api" with key ...
package sandbox
