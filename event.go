package tether

import (
	"context"
	"encoding/json"
)

// Event types (API.md "Events").
const (
	EventConnectionCreated      = "connection.created"
	EventConnectionUpdated      = "connection.updated"
	EventConnectionDeleted      = "connection.deleted"
	EventConnectionHealthy      = "connection.healthy"
	EventConnectionUnhealthy    = "connection.unhealthy"
	EventConnectionErrorCreated = "connection-error.created"
	EventConnectionErrorUpdated = "connection-error.updated"
	EventConnectionErrorDeleted = "connection-error.deleted"
	EventSyncCompleted          = "sync.completed"
	EventSyncFailed             = "sync.failed"
	EventWebhookTest            = "webhook.test"
)

// EventTypes lists every event type, for validation and the catalog of
// subscribable types.
var EventTypes = []string{
	EventConnectionCreated, EventConnectionUpdated, EventConnectionDeleted,
	EventConnectionHealthy, EventConnectionUnhealthy,
	EventConnectionErrorCreated, EventConnectionErrorUpdated, EventConnectionErrorDeleted,
	EventSyncCompleted, EventSyncFailed, EventWebhookTest,
}

// ValidEventType reports whether t is a known event type.
func ValidEventType(t string) bool {
	for _, known := range EventTypes {
		if t == known {
			return true
		}
	}
	return false
}

// Event is one entry of the event feed and the payload of webhooks.
type Event struct {
	ID        string          `json:"event_id"`
	Type      string          `json:"type"`
	CreatedAt Time            `json:"created_at"`
	Data      json.RawMessage `json:"data"`
	// ConnectionID is the connection the event is about, if any; kept beside
	// the event so the feed can be filtered without parsing data.
	ConnectionID string `json:"-"`
}

// NewEvent builds an event of type typ about connectionID with data as its
// payload.
func NewEvent(typ, connectionID string, data any) Event {
	return Event{
		ID:           NewID(PrefixEvent),
		Type:         typ,
		CreatedAt:    Now(),
		Data:         marshalObject(data),
		ConnectionID: connectionID,
	}
}

// EventFilter selects events; zero fields do not filter.
type EventFilter struct {
	// After is an event id: only later events are returned.
	After        string
	Type         string
	ConnectionID string
	Limit        int
}

// EventStore is the outbox and the event feed. Events are appended by the
// other stores' methods, inside the transaction of the change they describe.
type EventStore interface {
	// Events returns events oldest first, and whether more follow. An unknown
	// After is an EINVALID error.
	Events(ctx context.Context, f EventFilter) (list []Event, more bool, err error)
}
