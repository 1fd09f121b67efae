package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/observe"
	"github.com/tetherhq/tether/outbound"
)

// Reported is the outcome of a call the app made itself (POST /v1/calls).
type Reported struct {
	ConnectionID string
	Method       string
	Path         string
	StatusCode   int // 0 when no answer came
	DurationMS   int64
	StartedAt    tether.Time
	Resource     string // optional: otherwise from the definition's paths
	Error        string // optional: what went wrong, in the app's words
}

// integrations caches each connection's integration name, which never
// changes, so a batch of reports needs no query for connections seen before.
type integrations struct{ byConnection sync.Map }

// Report validates reported outcomes, classifies them with the one
// classifier and queues them for the call log and the health engine. Nothing
// is queued unless every outcome is valid.
func (m *Monitor) Report(ctx context.Context, reports []Reported) (int, error) {
	calls := make([]*tether.Call, 0, len(reports))
	var problems []tether.FieldError
	// A reported call carries no credentials, so its redactor depends on
	// its definition alone: one per definition serves the whole batch.
	redactors := make(map[*tether.ProviderDefinition]*outbound.Redactor, 1)
	for i, rep := range reports {
		call, problem := m.reportedCall(ctx, i, rep, redactors)
		if problem != nil {
			problems = append(problems, *problem)
			continue
		}
		calls = append(calls, call)
	}
	if len(problems) > 0 {
		return 0, &tether.Error{Code: tether.EINVALID, Message: fmt.Sprintf("%d of %d calls are invalid; none was accepted", len(problems), len(reports)), Fields: problems}
	}
	if err := m.recorder.AddMany(ctx, calls); err != nil {
		return 0, err
	}
	return len(calls), nil
}

func (m *Monitor) reportedCall(ctx context.Context, i int, rep Reported, redactors map[*tether.ProviderDefinition]*outbound.Redactor) (*tether.Call, *tether.FieldError) {
	at := func(field, msg string, value any) *tether.FieldError {
		return &tether.FieldError{Location: fmt.Sprintf("body.calls[%d].%s", i, field), Message: msg, Value: value}
	}
	name, err := m.integrationOf(ctx, rep.ConnectionID)
	if err != nil {
		return nil, at("connection_id", "no such connection", rep.ConnectionID)
	}
	def, err := m.catalog.Provider(name)
	if err != nil {
		return nil, at("connection_id", "the connection's integration is no longer defined", rep.ConnectionID)
	}
	if rep.Resource != "" && def.Resource(rep.Resource) == nil {
		return nil, at("resource", "no such resource for integration "+def.Name, rep.Resource)
	}
	redactor := redactors[def]
	if redactor == nil {
		redactor = outbound.NewRedactor(def, nil)
		redactors[def] = redactor
	}
	x := observe.Exchange{
		Def: def, Redactor: redactor, ConnectionID: rep.ConnectionID, Source: tether.SourceReport,
		Method: rep.Method, Path: rep.Path, StatusCode: rep.StatusCode,
		StartedAt: rep.StartedAt.Time, Duration: time.Duration(rep.DurationMS) * time.Millisecond,
	}
	if rep.Error != "" {
		x.Err = errors.New(rep.Error)
	}
	call := observe.Call(x)
	if rep.Resource != "" {
		call.Resource = &rep.Resource
	}
	return call, nil
}

func (m *Monitor) integrationOf(ctx context.Context, connectionID string) (string, error) {
	if name, ok := m.integrations.byConnection.Load(connectionID); ok {
		return name.(string), nil
	}
	c, err := m.store.Connection(ctx, connectionID)
	if err != nil {
		return "", err
	}
	m.integrations.byConnection.Store(connectionID, c.IntegrationName)
	return c.IntegrationName, nil
}
