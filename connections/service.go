// Package connections is the service behind the connection endpoints and the
// Link flow: it tests credentials in memory, seals and saves them only when the
// test passes, and keeps each change and its events in one transaction.
package connections

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/observe"
	"github.com/tetherhq/tether/outbound"
)

// Verifier runs a definition's credential test (outbound.Client does).
type Verifier interface {
	Verify(ctx context.Context, def *tether.ProviderDefinition, creds tether.Credentials) (*outbound.VerifyResult, error)
}

// Recorder queues calls for the call log (calllog.Batcher).
type Recorder interface {
	AddMany(ctx context.Context, calls []*tether.Call) error
}

// Service manages connections.
type Service struct {
	store    tether.Store
	catalog  tether.Catalog
	vault    tether.Vault
	verifier Verifier
	recorder Recorder
	log      *slog.Logger
}

// New returns a Service; credential tests are logged through recorder.
func New(store tether.Store, catalog tether.Catalog, vault tether.Vault, verifier Verifier, recorder Recorder, log *slog.Logger) *Service {
	return &Service{store: store, catalog: catalog, vault: vault, verifier: verifier, recorder: recorder, log: log}
}

// CreateInput is what a new connection is made from.
type CreateInput struct {
	IntegrationName string
	CustomerID      string
	DisplayName     string
	Credentials     tether.Credentials
	Metadata        map[string]any
}

// Create tests the credentials and, only if they pass, saves the connection
// with its sealed credentials and a connection.created event.
func (s *Service) Create(ctx context.Context, in CreateInput) (*tether.Connection, error) {
	def, err := s.integration(in.IntegrationName)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.CustomerID) == "" {
		return nil, invalid("body.customer_id", "customer_id must not be empty")
	}
	if problems := def.CheckCredentials(in.Credentials); len(problems) > 0 {
		return nil, &tether.Error{Code: tether.EINVALID, Message: "the credentials do not match the integration's fields", Fields: problems}
	}
	id := tether.NewID(tether.PrefixConnection)
	result, call, err := s.test(ctx, def, in.Credentials, id)
	if err != nil {
		s.record(ctx, call)
		return nil, err
	}
	now := tether.Now()
	c := &tether.Connection{
		ID:              id,
		IntegrationName: def.Name,
		CustomerID:      in.CustomerID,
		DisplayName:     in.DisplayName,
		State:           tether.StateActive,
		Status:          tether.StatusHealthy, // the passing test is the first success signal
		LastHealthyAt:   &now,
		CreatedAt:       now,
		UpdatedAt:       now,
		InstalledAt:     now,
		Metadata:        in.Metadata,
		Errors:          []tether.ConnectionError{},
		AccountID:       result.AccountID,
	}
	if c.DisplayName == "" {
		c.DisplayName = fmt.Sprintf("%s (%s)", def.DisplayName, in.CustomerID)
	}
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	c.Resources = tether.WithDefinedResources(nil, def)
	sealed, err := s.vault.Seal(c.ID, in.Credentials)
	if err != nil {
		return nil, fmt.Errorf("seal credentials: %w", err)
	}
	if err := s.store.CreateConnection(ctx, c, sealed, tether.NewEvent(tether.EventConnectionCreated, c.ID, c)); err != nil {
		return nil, err
	}
	s.record(ctx, call) // after the commit: the call log keeps calls of existing connections only
	s.log.Info("connection created", "connection_id", c.ID, "integration", c.IntegrationName, "customer_id", c.CustomerID)
	return c, nil
}

// TestResult is a passing credential test.
type TestResult struct {
	// AccountID is the provider account, when the definition says where to
	// find it.
	AccountID string
}

// Test runs the credential test in memory and logs it as a link_test call
// (attached to connectionID only if it passes: a failed test saves nothing
// about a connection that does not exist). A failing test is an EINVALID
// *tether.Error whose Type is "invalid_credentials" (the provider refused
// them) or "provider_unavailable" (no usable answer), and whose message gives
// the provider's reason.
func (s *Service) Test(ctx context.Context, def *tether.ProviderDefinition, creds tether.Credentials, connectionID string) (*TestResult, error) {
	result, call, err := s.test(ctx, def, creds, connectionID)
	s.record(ctx, call)
	return result, err
}

// test is Test without logging: it returns the call to log (nil when no
// request could be built).
func (s *Service) test(ctx context.Context, def *tether.ProviderDefinition, creds tether.Credentials, connectionID string) (*TestResult, *tether.Call, error) {
	res, err := s.verifier.Verify(ctx, def, creds)
	if err != nil {
		// The request could not even be built (e.g. a field makes a bad URL).
		return nil, nil, &tether.Error{Code: tether.EINVALID, Type: tether.ErrorInvalidCredentials,
			Message: outbound.RedactText(tether.ErrorMessage(err), creds, def)}
	}
	call := observe.Call(observe.Sent(def, creds, connectionID, tether.SourceLinkTest, def.Verify.Path, &res.Result))
	if call.Signal != tether.SignalSuccess {
		call.ConnectionID = nil
	}
	switch {
	case res.Err != nil:
		return nil, call, &tether.Error{Code: tether.EINVALID, Type: "provider_unavailable",
			Message: "could not reach " + def.DisplayName + ": " + *call.Error}
	case call.Signal == tether.SignalSuccess:
		return &TestResult{AccountID: res.AccountID}, call, nil
	case call.Signal == tether.SignalTransient:
		return nil, call, &tether.Error{Code: tether.EINVALID, Type: "provider_unavailable",
			Message: providerReason(def, res, creds, "is unavailable")}
	default:
		return nil, call, &tether.Error{Code: tether.EINVALID, Type: tether.ErrorInvalidCredentials,
			Message: providerReason(def, res, creds, "rejected the credentials")}
	}
}

func (s *Service) record(ctx context.Context, call *tether.Call) {
	if s.recorder == nil || call == nil {
		return
	}
	if err := s.recorder.AddMany(context.WithoutCancel(ctx), []*tether.Call{call}); err != nil {
		s.log.Error("log credential test", "error", err)
	}
}

// Connection returns one connection.
func (s *Service) Connection(ctx context.Context, id string) (*tether.Connection, error) {
	c, err := s.store.Connection(ctx, id)
	if err != nil {
		return nil, err
	}
	s.present(c)
	return c, nil
}

// Connections returns a page of connections.
func (s *Service) Connections(ctx context.Context, f tether.ConnectionFilter) ([]*tether.Connection, bool, error) {
	list, more, err := s.store.Connections(ctx, f)
	if err != nil {
		return nil, false, err
	}
	for _, c := range list {
		s.present(c)
	}
	return list, more, nil
}

// UpdateInput is what PATCH may change; nil members stay as they are.
type UpdateInput struct {
	DisplayName *string
	Metadata    map[string]any // replaced whole when non-nil
}

// Update changes the display name and metadata.
func (s *Service) Update(ctx context.Context, id string, in UpdateInput) (*tether.Connection, error) {
	if in.DisplayName != nil && strings.TrimSpace(*in.DisplayName) == "" {
		return nil, invalid("body.display_name", "display_name must not be empty")
	}
	return s.change(ctx, id, func(c *tether.Connection) error {
		if in.DisplayName != nil {
			c.DisplayName = *in.DisplayName
		}
		if in.Metadata != nil {
			c.Metadata = in.Metadata
		}
		return nil
	})
}

// Pause stops probes and syncs until Resume.
func (s *Service) Pause(ctx context.Context, id string) (*tether.Connection, error) {
	return s.change(ctx, id, func(c *tether.Connection) error {
		c.State = tether.StatePaused
		return nil
	})
}

// Resume makes a paused or disabled connection active again.
func (s *Service) Resume(ctx context.Context, id string) (*tether.Connection, error) {
	return s.change(ctx, id, func(c *tether.Connection) error {
		c.State = tether.StateActive
		return nil
	})
}

// change applies fn and, if anything changed, saves it with a
// connection.updated event.
func (s *Service) change(ctx context.Context, id string, fn func(*tether.Connection) error) (*tether.Connection, error) {
	c, err := s.store.UpdateConnection(ctx, id, func(c *tether.Connection) ([]tether.Event, error) {
		s.present(c)
		before := snapshot(c)
		if err := fn(c); err != nil {
			return nil, err
		}
		if snapshot(c) == before {
			return nil, nil
		}
		c.UpdatedAt = tether.Now()
		return []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, c)}, nil
	})
	if err != nil {
		return nil, err
	}
	s.present(c)
	return c, nil
}

// snapshot is the JSON of a connection, to tell whether a change changed it.
func snapshot(c *tether.Connection) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Delete deletes the connection and everything Tether keeps of it.
func (s *Service) Delete(ctx context.Context, id string) error {
	err := s.store.DeleteConnection(ctx, id, func(c *tether.Connection) ([]tether.Event, error) {
		return []tether.Event{tether.NewEvent(tether.EventConnectionDeleted, c.ID, map[string]string{
			"connection_id": c.ID, "integration_name": c.IntegrationName, "customer_id": c.CustomerID,
		})}, nil
	})
	if err == nil {
		s.log.Info("connection deleted", "connection_id", id)
	}
	return err
}

// present completes a stored connection for display: every resource of its
// definition, stored state or not.
func (s *Service) present(c *tether.Connection) {
	def, err := s.catalog.Provider(c.IntegrationName)
	if err != nil {
		return // the definition was removed; show what is stored
	}
	c.Resources = tether.WithDefinedResources(c.Resources, def)
}

func (s *Service) integration(name string) (*tether.ProviderDefinition, error) {
	def, err := s.catalog.Provider(name)
	if tether.IsNotFound(err) {
		return nil, &tether.Error{Code: tether.EINVALID, Message: fmt.Sprintf("unknown integration %q", name),
			Fields: []tether.FieldError{{Location: "body.integration_name", Message: "no such integration", Value: name}}}
	}
	return def, err
}

func invalid(location, message string) error {
	return &tether.Error{Code: tether.EINVALID, Message: message,
		Fields: []tether.FieldError{{Location: location, Message: message}}}
}
