package tether

import "context"

// Store is everything Tether keeps. The sqlite and postgres packages implement
// it; storetest is the conformance suite both pass.
type Store interface {
	ConnectionStore
	EventStore
	CallStore
	APIKeyStore
	// Ping checks that the database answers and its migrations are applied.
	Ping(ctx context.Context) error
	Close() error
}
