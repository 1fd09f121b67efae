package tether

import "context"

// Call sources: where an outcome came from.
const (
	SourceProxy    = "proxy"
	SourceReport   = "report"
	SourceProbe    = "probe"
	SourceSync     = "sync"
	SourceLinkTest = "link_test"
	SourceRefresh  = "refresh"
)

// Call outcomes: "success" exactly when the signal is.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// MaxLoggedBody bounds the response body kept for a failed call.
const MaxLoggedBody = 4 << 10

// Call is one provider call in the call log. Headers, URL and body are
// redacted before a Call is built: a Call never holds a secret.
type Call struct {
	ID              string  `json:"call_id"`
	ConnectionID    *string `json:"connection_id"` // nil for a credential test of a connection not yet saved
	IntegrationName string  `json:"integration_name"`
	Source          string  `json:"source"`
	Method          string  `json:"method"`
	Path            string  `json:"path"`
	// URL is the full redacted URL, when Tether made the call itself.
	URL             string            `json:"url,omitempty"`
	Resource        *string           `json:"resource"`
	StatusCode      *int              `json:"status_code"`
	DurationMS      int64             `json:"duration_ms"`
	Outcome         string            `json:"outcome"`
	Signal          string            `json:"signal"`
	Error           *string           `json:"error"`
	StartedAt       Time              `json:"started_at"`
	RequestHeaders  map[string]string `json:"request_headers"`
	ResponseHeaders map[string]string `json:"response_headers"`
	// ResponseBody is kept for failures only, at most MaxLoggedBody bytes.
	ResponseBody *string `json:"response_body"`

	// Verification marks the credential verification (verify request), whose
	// outcome confirms or clears an auth failure. Only the health engine
	// reads it, before the call is stored.
	Verification bool `json:"-"`
	// Retried marks an outcome superseded by a retry (a verification refused
	// before an OAuth2 token refresh): logged, but of no health effect.
	Retried bool `json:"-"`
}

// CallFilter selects call log entries; zero fields do not filter.
type CallFilter struct {
	ConnectionID string
	Resource     string
	Outcome      string
	Source       string
	StatusCode   int
	Since, Until *Time
	// Before is the last call id of the previous page: calls are listed
	// newest first.
	Before string
	Limit  int
}

// CallStore keeps the call log.
type CallStore interface {
	// RecordCalls saves calls and, in the same transaction, lets apply update
	// each connection they belong to (under the connection's lock, in id
	// order) and append the events it returns. apply receives one
	// connection's calls in the order given. Calls of a connection that does
	// not exist are dropped (it was deleted: its data must not come back);
	// calls without a connection are saved.
	RecordCalls(ctx context.Context, calls []*Call, apply func(c *Connection, calls []*Call) ([]Event, error)) error
	// Calls returns a page of calls, newest first, and whether more follow.
	Calls(ctx context.Context, f CallFilter) (list []*Call, more bool, err error)
	// PruneCalls deletes calls that started before cutoff, at most limit rows
	// per call where the database deletes rows (PostgreSQL drops whole daily
	// partitions), and reports how many it removed.
	PruneCalls(ctx context.Context, cutoff Time, limit int) (int64, error)
}
