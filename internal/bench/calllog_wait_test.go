package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// WaitForCallLog waits until Tether's /metrics show an empty call-log queue.
func TestWaitForCallLogWaitsForAnEmptyQueue(t *testing.T) {
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queued := max(0, 3-scrapes.Add(1)) // 2, 1, then 0 calls queued
		fmt.Fprintf(w, "# TYPE tether_call_log_queued_calls gauge\ntether_call_log_queued_calls %d\n", queued)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := WaitForCallLog(srv.URL)(ctx); err != nil {
		t.Fatalf("WaitForCallLog: %v", err)
	}
	if n := scrapes.Load(); n != 3 {
		t.Errorf("returned after %d scrapes, want 3 (when the queue was empty)", n)
	}
}

func TestWaitForCallLogNeedsTheMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "go_goroutines 12")
	}))
	defer srv.Close()
	err := WaitForCallLog(srv.URL)(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tether_call_log_queued_calls") {
		t.Fatalf("WaitForCallLog without the metric: %v", err)
	}
}
