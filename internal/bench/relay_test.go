package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestTCPRelayPassesRequestsThroughAndStops(t *testing.T) {
	up := NewUpstream()
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeTCPRelay(ctx, ln, up.URL) }()

	client := NewClient(2)
	for i := range 3 { // one keep-alive connection, several requests
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/orders?limit=10", nil)
		req.Header.Set(upstreamKeyHeader, "k")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(body) != up.BodySize() {
			t.Fatalf("request %d: %d with %d bytes, want 200 with the upstream's %d", i, res.StatusCode, len(body), up.BodySize())
		}
	}
	if up.Requests() != 3 {
		t.Errorf("the upstream answered %d requests, want 3", up.Requests())
	}

	// Stopping closes the relayed connections too, so the relay returns
	// although the client keeps its connection open.
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeTCPRelay: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeTCPRelay did not return after its context ended")
	}
}
