package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault makes provider requests fail or slow down, to imitate rate limits,
// outages and slow providers. Faults apply before authentication, as a
// gateway in front of a real provider would.
type Fault struct {
	// PathPrefix selects the requests: those whose path starts with it.
	// It must start with /api; "" matches every /api path.
	PathPrefix string
	// Status is the status to answer with; 0 adds latency only and lets the
	// request continue normally.
	Status int
	// RetryAfter, when > 0, is sent as the Retry-After header (seconds).
	RetryAfter int
	// Latency is waited before answering, or until the request is cancelled.
	Latency time.Duration
	// Count is how many requests the fault applies to before it disappears;
	// 0 means until ClearFaults.
	Count int
	// Body replaces the default body {"error":"injected_fault","status":N}.
	// It is sent as application/json when it is valid JSON, as text
	// otherwise (an HTML error page from a gateway, say).
	Body string
}

func (f Fault) validate() error {
	switch {
	case f.PathPrefix != "" && !isProviderPath(f.PathPrefix):
		return errors.New("path_prefix must be empty or start with /api")
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return errors.New("status must be 0 (latency only) or from 200 to 599")
	case f.RetryAfter < 0:
		return errors.New("retry_after must not be negative")
	case f.Latency < 0:
		return errors.New("latency must not be negative")
	case f.Count < 0:
		return errors.New("count must not be negative")
	}
	return nil
}

// AddFault adds a fault after those already present and returns its id.
// When several faults match a request, the one added first applies (only
// it, and only its Count goes down). It panics on an invalid fault (a
// status outside 200-599, a negative number, a prefix outside /api), which
// is a bug in the caller.
func (s *Sandbox) AddFault(f Fault) string {
	if err := f.validate(); err != nil {
		panic("sandbox: AddFault: " + err.Error())
	}
	return s.faults.add(f)
}

// ClearFaults removes every fault.
func (s *Sandbox) ClearFaults() {
	s.faults.clear()
}

// injectFault applies the first fault that matches the request. It reports
// whether the request is finished: answered by the fault, or abandoned by
// the client during the latency.
func (s *Sandbox) injectFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.faults.claim(r.URL.Path)
	if !ok {
		return false
	}
	if !wait(r.Context(), f.Latency) {
		return true // nobody is listening any more
	}
	if f.Status == 0 {
		return false
	}
	writeFault(w, f)
	return true
}

// wait sleeps for d unless ctx ends first, and reports whether it slept.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Body == "" {
		writeJSON(w, f.Status, struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}{"injected_fault", f.Status})
		return
	}
	contentType := "text/plain; charset=utf-8"
	if json.Valid([]byte(f.Body)) {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body)) // the client may be gone; nothing to do about it
}

// faultList holds the active faults in the order they were added.
type faultList struct {
	mu     sync.Mutex
	lastID int
	active []*activeFault
}

type activeFault struct {
	Fault
	remaining int // requests left when Count > 0
}

func (l *faultList) add(f Fault) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastID++
	l.active = append(l.active, &activeFault{Fault: f, remaining: f.Count})
	return "flt_" + strconv.Itoa(l.lastID)
}

func (l *faultList) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active = nil
}

// claim finds the first fault matching path and uses up one of its
// requests. Claiming on arrival, not after the latency, means concurrent
// requests never take more than Count between them.
func (l *faultList) claim(path string) (Fault, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, f := range l.active {
		if !strings.HasPrefix(path, f.PathPrefix) {
			continue
		}
		if f.Count > 0 {
			f.remaining--
			if f.remaining == 0 {
				l.active = slices.Delete(l.active, i, i+1)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}
