package tether

import (
	"context"
	"encoding/json"
)

// ConnectionState is set by people, the API, or the disable policy.
type ConnectionState string

const (
	StateActive   ConnectionState = "active"
	StatePaused   ConnectionState = "paused"
	StateDisabled ConnectionState = "disabled"
)

// Valid reports whether s is a known state.
func (s ConnectionState) Valid() bool {
	return s == StateActive || s == StatePaused || s == StateDisabled
}

// HealthStatus is computed from health signals, never set directly.
type HealthStatus string

const (
	StatusNew          HealthStatus = "new"
	StatusHealthy      HealthStatus = "healthy"
	StatusUnhealthyNow HealthStatus = "unhealthy_now"
	StatusUnhealthy    HealthStatus = "unhealthy"
)

// Valid reports whether s is a known status.
func (s HealthStatus) Valid() bool {
	switch s {
	case StatusNew, StatusHealthy, StatusUnhealthyNow, StatusUnhealthy:
		return true
	}
	return false
}

// Connection is one customer's account at one provider.
type Connection struct {
	ID              string          `json:"connection_id"`
	IntegrationName string          `json:"integration_name"`
	CustomerID      string          `json:"customer_id"`
	DisplayName     string          `json:"display_name"`
	State           ConnectionState `json:"state"`
	Status          HealthStatus    `json:"status"`
	LastHealthyAt   *Time           `json:"last_healthy_at"`
	LastUnhealthyAt *Time           `json:"last_unhealthy_at"`
	CreatedAt       Time            `json:"created_at"`
	UpdatedAt       Time            `json:"updated_at"`
	InstalledAt     Time            `json:"installed_at"`
	// Metadata is any JSON object the app attached; never nil once loaded.
	Metadata  map[string]any    `json:"metadata"`
	Errors    []ConnectionError `json:"errors"`
	Resources []ResourceState   `json:"resources"`

	// AccountID is the provider account the credentials belong to (from the
	// definition's verify.account_id); a reinstall must present the same one.
	AccountID string `json:"-"`
	// Transient is the current run of transient failures, which opens a
	// system_error once it is long enough.
	Transient TransientRun `json:"-"`
}

// TransientRun counts transient failures in a row; a success resets it.
type TransientRun struct {
	Count int
	Since *Time
	// Resource is the resource every failure of the run was on, or "".
	Resource string
}

// Error types of a connection error (API.md "Connection").
const (
	ErrorInvalidCredentials = "invalid_credentials"
	ErrorMissingPermission  = "missing_permission"
	ErrorSyncError          = "sync_error"
	ErrorSystemError        = "system_error"
)

// Resolutions: what fixes an error.
const (
	ResolutionReinstall       = "reinstall"
	ResolutionGrantPermission = "grant_permission"
	ResolutionResync          = "resync"
	ResolutionRetryLater      = "retry_later"
)

// ConnectionError is one open problem of a connection, with its fix.
type ConnectionError struct {
	ID          string  `json:"error_id"`
	Type        string  `json:"error_type"`
	Resource    *string `json:"resource"`
	Message     string  `json:"message"`
	Blocking    bool    `json:"blocking"`
	Resolution  string  `json:"resolution"`
	HTTPStatus  *int    `json:"http_status"`
	FirstSeenAt Time    `json:"first_seen_at"`
	LastSeenAt  Time    `json:"last_seen_at"`
	Occurrences int     `json:"occurrences"`
}

// Resource access values.
const (
	AccessUnknown = "unknown"
	AccessGranted = "granted"
	AccessDenied  = "denied"
)

// Sync status values.
const (
	SyncIdle    = "idle"
	SyncRunning = "running"
	SyncSynced  = "synced"
	SyncError   = "error"
	SyncPaused  = "paused"
)

// ResourceState is what Tether knows about one resource of a connection.
type ResourceState struct {
	Name   string     `json:"name"`
	Access string     `json:"access"`
	Sync   *SyncState `json:"sync,omitempty"`
}

// SyncState is the sync progress of one resource.
type SyncState struct {
	Status       string  `json:"status"`
	LastSyncedAt *Time   `json:"last_synced_at"`
	Records      int64   `json:"records"`
	LastError    *string `json:"last_error"`
}

// WithDefinedResources returns the resource states for every resource of def,
// in the definition's order: the stored state where there is one, otherwise
// "unknown" access and, for resources with a sync block, an idle sync. A
// resource added to a definition later thus shows up on old connections too.
func WithDefinedResources(stored []ResourceState, def *ProviderDefinition) []ResourceState {
	byName := make(map[string]ResourceState, len(stored))
	for _, r := range stored {
		byName[r.Name] = r
	}
	out := make([]ResourceState, 0, len(def.Resources))
	for _, spec := range def.Resources {
		r, ok := byName[spec.Name]
		if !ok {
			r = ResourceState{Name: spec.Name, Access: AccessUnknown}
		}
		if spec.Sync == nil {
			r.Sync = nil
		} else if r.Sync == nil {
			r.Sync = &SyncState{Status: SyncIdle}
		}
		out = append(out, r)
	}
	return out
}

// Credentials are a connection's credential fields, in the clear. They live in
// memory only; the store keeps them sealed.
type Credentials map[string]string

// SealedCredentials is the stored, encrypted form of Credentials.
type SealedCredentials struct {
	// KeyID names the master key that sealed them, so keys can rotate.
	KeyID      string
	Ciphertext []byte
}

// Vault seals and opens credentials. The connection id is bound to the
// ciphertext, so sealed credentials moved to another connection do not open.
type Vault interface {
	Seal(connectionID string, c Credentials) (SealedCredentials, error)
	Open(connectionID string, s SealedCredentials) (Credentials, error)
}

// ConnectionFilter selects connections; zero fields do not filter.
type ConnectionFilter struct {
	IntegrationName string
	CustomerID      string
	Status          HealthStatus
	State           ConnectionState
	HasErrors       *bool
	ErrorType       string
	// After is the last connection id of the previous page.
	After string
	Limit int
}

// ConnectionStore keeps connections, their sealed credentials, errors and
// resource states.
type ConnectionStore interface {
	// CreateConnection saves c with its sealed credentials and appends events,
	// all in one transaction.
	CreateConnection(ctx context.Context, c *Connection, creds SealedCredentials, events ...Event) error
	// Connection returns one connection with its errors and stored resource
	// states, or ENOTFOUND.
	Connection(ctx context.Context, id string) (*Connection, error)
	// Connections returns a page of connections ordered by id, and whether
	// more follow.
	Connections(ctx context.Context, f ConnectionFilter) (list []*Connection, more bool, err error)
	// UpdateConnection loads the connection, lets change modify it and say
	// which events to append, then saves both in one transaction; concurrent
	// updates of one connection are serialized. It returns the saved connection.
	UpdateConnection(ctx context.Context, id string, change func(*Connection) ([]Event, error)) (*Connection, error)
	// ReplaceCredentials is UpdateConnection that also replaces the sealed
	// credentials, in the same transaction (a reinstall).
	ReplaceCredentials(ctx context.Context, id string, creds SealedCredentials, change func(*Connection) ([]Event, error)) (*Connection, error)
	// DeleteConnection deletes the connection and everything that belongs to it
	// (credentials, errors, resource states, records, checkpoints, call logs),
	// appending the events that change returns, in one transaction.
	DeleteConnection(ctx context.Context, id string, change func(*Connection) ([]Event, error)) error
	// Credentials returns the sealed credentials of a connection.
	Credentials(ctx context.Context, connectionID string) (SealedCredentials, error)
	// CallTarget returns what a proxied call needs of a connection, in one
	// read: its integration, state and sealed credentials.
	CallTarget(ctx context.Context, connectionID string) (*CallTarget, error)
}

// CallTarget is what a proxied call needs of its connection.
type CallTarget struct {
	ConnectionID    string
	IntegrationName string
	State           ConnectionState
	Credentials     SealedCredentials
}

// marshalObject is json.Marshal for values known to be serializable.
func marshalObject(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("tether: cannot marshal " + err.Error())
	}
	return b
}
