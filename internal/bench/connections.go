package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"
)

// The latency goals of the connection endpoints with 100,000 connections
// stored (the issue that asked for this benchmark).
const (
	GoalGetConnection = 10 * time.Millisecond
	GoalFilteredPage  = 25 * time.Millisecond
)

// maxCursorPages bounds how deep the cursor endpoint pages into the filter.
const maxCursorPages = 40

// Installation is a seeded Tether that the connection benchmark loads.
type Installation struct {
	// BaseURL is where Tether answers, e.g. "http://127.0.0.1:8080".
	BaseURL string
	APIKey  string
	// IDs are the stored connection ids; requests for single connections
	// pick among them.
	IDs []string
	// Integration is what the filtered pages select, with status=unhealthy.
	Integration string
	// Seed makes the order of requested ids the same from run to run.
	Seed uint64
}

// ConnectionEndpoints are the endpoints the goals are about: one connection
// by id (a different one each request, in a random order), the first
// filtered page of 50, and pages further on through next_cursor (the
// cursors are collected here by paging through the filter once).
func ConnectionEndpoints(ctx context.Context, client *http.Client, in Installation) ([]Endpoint, error) {
	auth := http.Header{"Authorization": {"Bearer " + in.APIKey}}
	order := rand.New(rand.NewPCG(in.Seed, 1)).Perm(len(in.IDs))
	byID := Endpoint{
		Name:   "GET /v1/connections/{id}",
		URL:    func(i int) string { return in.BaseURL + "/v1/connections/" + in.IDs[order[i%len(order)]] },
		Header: auth,
		Goal:   GoalGetConnection,
	}
	filter := in.BaseURL + "/v1/connections?" + url.Values{"status": {"unhealthy"}, "integration_name": {in.Integration}}.Encode()
	firstPage := Endpoint{
		Name:   "GET /v1/connections?status=unhealthy&integration_name=" + in.Integration,
		URL:    func(int) string { return filter },
		Header: auth,
		Goal:   GoalFilteredPage,
	}
	cursors, err := collectCursors(ctx, client, filter, auth)
	if err != nil {
		return nil, err
	}
	if len(cursors) == 0 {
		return []Endpoint{byID, firstPage}, nil // the filter fits on one page
	}
	nextPages := Endpoint{
		Name:   fmt.Sprintf("GET /v1/connections?… following next_cursor (pages 2 to %d)", len(cursors)+1),
		URL:    func(i int) string { return filter + "&cursor=" + url.QueryEscape(cursors[i%len(cursors)]) },
		Header: auth,
		Goal:   GoalFilteredPage,
	}
	return []Endpoint{byID, firstPage, nextPages}, nil
}

// collectCursors pages through the filter and returns the next_cursor of
// each page, at most maxCursorPages of them.
func collectCursors(ctx context.Context, client *http.Client, filter string, auth http.Header) ([]string, error) {
	var cursors []string
	next := filter
	for len(cursors) < maxCursorPages {
		body, err := get(ctx, client, next, auth)
		if err != nil {
			return nil, err
		}
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("decode page of %s: %w", filter, err)
		}
		if page.NextCursor == nil {
			break
		}
		cursors = append(cursors, *page.NextCursor)
		next = filter + "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	return cursors, nil
}

// Suite returns the connection endpoints, each kind of answer preceded by
// its bare net/http baseline (see BareServer): the endpoints of one run, in
// the order the report lists them. Call stop when the run is over.
func Suite(ctx context.Context, client *http.Client, in Installation) (endpoints []Endpoint, stop func(), err error) {
	measured, err := ConnectionEndpoints(ctx, client, in)
	if err != nil {
		return nil, nil, err
	}
	bare := NewBareServer()
	for i, ep := range measured {
		if i < 2 { // one connection, and a page: the cursor pages are the same size
			baseline, err := bare.BaselineFor(ctx, client, ep)
			if err != nil {
				bare.Close()
				return nil, nil, err
			}
			endpoints = append(endpoints, baseline)
		}
		endpoints = append(endpoints, ep)
	}
	return endpoints, bare.Close, nil
}

// BareServer is the baseline: a bare net/http handler on a loopback
// listener of its own, answering static copies of Tether's answers (same
// size, same content type). What an endpoint takes beyond its baseline is
// Tether's own work; the baseline itself is the HTTP stack, the loopback and
// the load generator sharing the machine with the server.
type BareServer struct {
	mux    *http.ServeMux
	server *httptest.Server
	paths  int
}

// NewBareServer starts a BareServer; Close stops it.
func NewBareServer() *BareServer {
	mux := http.NewServeMux()
	return &BareServer{mux: mux, server: httptest.NewServer(mux)}
}

// Close stops the server.
func (b *BareServer) Close() { b.server.Close() }

// BaselineFor fetches ep's first answer and returns an endpoint that gets
// the same bytes from the bare handler, with the same request headers.
func (b *BareServer) BaselineFor(ctx context.Context, client *http.Client, ep Endpoint) (Endpoint, error) {
	body, err := get(ctx, client, ep.URL(0), ep.Header)
	if err != nil {
		return Endpoint{}, err
	}
	b.paths++
	path := fmt.Sprintf("/static/%d", b.paths)
	b.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	u := b.server.URL + path
	return Endpoint{
		Name:   fmt.Sprintf("bare net/http, static %s answer", byteSize(int64(len(body)))),
		URL:    func(int) string { return u },
		Header: ep.Header,
	}, nil
}

// get fetches one answer, which must be a 200.
func get(ctx context.Context, client *http.Client, u string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for name, values := range header {
		req.Header[name] = values
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", req.URL.Path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %.300s", req.URL.RequestURI(), res.StatusCode, body)
	}
	return body, nil
}
