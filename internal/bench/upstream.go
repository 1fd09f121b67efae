package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// UpstreamIntegration is the name of the provider definition that points at
// the Upstream (see WriteUpstreamProvider).
const UpstreamIntegration = "bench_upstream"

// upstreamKeyHeader is where the Upstream expects the connection's API key:
// the definition injects it there, so an answer of 200 proves that Tether
// injected the credentials.
const upstreamKeyHeader = "X-Api-Key"

// Upstream is the provider the proxy and reports benchmarks call: a tiny,
// fast net/http handler on a loopback listener of its own. GET /me answers
// the credential verification; every other path answers the same ~1 KB JSON
// page of orders. A request without an API key gets a 401, so a 200 through
// a proxy shows that the credentials were injected.
type Upstream struct {
	URL      string
	server   *httptest.Server
	body     []byte
	requests atomic.Int64
}

// NewUpstream starts an Upstream; Close stops it.
func NewUpstream() *Upstream {
	u := &Upstream{body: ordersPage()}
	u.server = httptest.NewServer(http.HandlerFunc(u.serve))
	u.URL = u.server.URL
	return u
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.requests.Add(1)
	if r.Header.Get(upstreamKeyHeader) == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_auth"}`)
		return
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/me" {
		_, _ = io.WriteString(w, `{"account":{"id":"acct_bench","name":"Bench upstream"}}`)
		return
	}
	_, _ = w.Write(u.body)
}

// Close stops the Upstream.
func (u *Upstream) Close() { u.server.Close() }

// Requests is how many requests the Upstream has answered.
func (u *Upstream) Requests() int64 { return u.requests.Load() }

// BodySize is the size of the orders page every non-/me request gets.
func (u *Upstream) BodySize() int { return len(u.body) }

// ordersPage is a JSON page of 4 orders, about 1 KB: a typical small list
// answer of a provider.
func ordersPage() []byte {
	type line struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	type order struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Customer  string `json:"customer"`
		Lines     []line `json:"lines"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}
	page := struct {
		Data []order `json:"data"`
		Meta struct {
			NextCursor string `json:"next_cursor"`
		} `json:"meta"`
	}{}
	for i := range 4 {
		page.Data = append(page.Data, order{
			ID: fmt.Sprintf("ord_%06d", 1000+i), Status: []string{"open", "picked", "shipped", "delivered"}[i],
			Customer:  fmt.Sprintf("Customer %d Ltd", i+1),
			Lines:     []line{{SKU: fmt.Sprintf("SKU-%04d", 10*i), Quantity: i + 1}, {SKU: fmt.Sprintf("SKU-%04d", 10*i+1), Quantity: 2}},
			CreatedAt: "2026-11-20T08:00:00Z", UpdatedAt: "2026-11-21T09:30:00Z",
		})
	}
	page.Meta.NextCursor = "eyJpZCI6Im9yZF8wMDEwMDMifQ"
	body, _ := json.Marshal(page)
	return body
}

// UpstreamProvider is the provider definition of the Upstream at baseURL:
// an API key in a header, a verification at /me and one resource, orders,
// with a probe. It has no rate limit: the proxy never waits for one anyway.
func UpstreamProvider(baseURL string) string {
	return `# Written by tether bench: the local upstream of the proxy and reports benchmarks.
name: ` + UpstreamIntegration + `
display_name: Bench upstream
category: wms
base_url: "` + baseURL + `"
auth:
  type: api_key
  fields:
    - {name: api_key, label: API key, secret: true}
  header: {name: ` + upstreamKeyHeader + `, value: "{api_key}"}
verify: {method: GET, path: /me, account_id: account.id}
resources:
  orders:
    paths: ["/orders", "/orders/*"]
    probe: {method: GET, path: "/orders?limit=1"}
`
}

// WriteUpstreamProvider writes UpstreamProvider(baseURL) into dir, which
// becomes the TETHER_PROVIDERS_DIR of the run.
func WriteUpstreamProvider(dir, baseURL string) error {
	if err := os.WriteFile(filepath.Join(dir, UpstreamIntegration+".yaml"), []byte(UpstreamProvider(baseURL)), 0o600); err != nil {
		return fmt.Errorf("write the upstream's provider definition: %w", err)
	}
	return nil
}

// NewReverseProxy is the proxy baseline: a bare httputil.ReverseProxy to
// target on a loopback listener of its own, with the same connection pool
// sizes as Tether's outbound client (the default transport keeps only 2 idle
// connections per host and would redial under load). Close the server when
// done.
func NewReverseProxy(target string) (*httptest.Server, error) {
	handler, err := NewReverseProxyHandler(target)
	if err != nil {
		return nil, err
	}
	return httptest.NewServer(handler), nil
}

// NewReverseProxyHandler is the handler of NewReverseProxy, for a server of
// the caller's (`tether bench reverse-proxy`).
func NewReverseProxyHandler(target string) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	return rp, nil
}

// CreateConnections creates n connections of integration through Tether's
// API (POST /v1/connections, which tests the credentials against the
// provider first), from concurrency clients, and returns their ids in order.
func CreateConnections(ctx context.Context, client *http.Client, baseURL, apiKey, integration string, n, concurrency int) ([]string, error) {
	ids := make([]string, n)
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range max(1, min(concurrency, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				id, err := createConnection(ctx, client, baseURL, apiKey, integration, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return ids, ctx.Err()
}

func createConnection(ctx context.Context, client *http.Client, baseURL, apiKey, integration string, i int) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"integration_name": integration,
		"customer_id":      fmt.Sprintf("bench-customer-%05d", i),
		"credentials":      map[string]string{"api_key": fmt.Sprintf("bench-key-%05d", i)},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/connections", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("create connection %d: %w", i, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("create connection %d: %w", i, err)
	}
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create connection %d: status %d: %.300s", i, res.StatusCode, answer)
	}
	var created struct {
		Data struct {
			ID string `json:"connection_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer, &created); err != nil || created.Data.ID == "" {
		return "", fmt.Errorf("create connection %d: no connection_id in %.300s", i, answer)
	}
	return created.Data.ID, nil
}
