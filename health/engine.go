package health

import (
	"encoding/json"
	"fmt"
	"time"

	tether "github.com/tetherhq/tether"
)

// Policy holds the engine's thresholds (TETHER_SYSTEM_ERROR_AFTER/_SPAN).
type Policy struct {
	// SystemErrorAfter transient failures in a row open a system_error...
	SystemErrorAfter int
	// ...when they also span at least SystemErrorSpan.
	SystemErrorSpan time.Duration
}

// DefaultPolicy is API.md's default: 5 in a row spanning at least 10 minutes.
var DefaultPolicy = Policy{SystemErrorAfter: 5, SystemErrorSpan: 10 * time.Minute}

// Signal is one classified outcome, as the engine applies it.
type Signal struct {
	Kind string // tether.Signal*
	// Resource is the resource the call was on, or "" for connection level.
	Resource   string
	At         tether.Time
	HTTPStatus int // 0 when no answer came
	// Reason is the provider's explanation, already redacted.
	Reason string
	// Verification marks the outcome of the credential verification itself:
	// its failure confirms an auth failure; its success closes
	// invalid_credentials.
	Verification bool
	// Probe marks the outcome of the resource's own probe: its permission
	// failure confirms missing_permission on that resource.
	Probe bool
}

// Check is a confirmation the engine asks for before an unconfirmed failure
// counts: re-run the credential verification, or a resource's probe.
type Check struct {
	ConnectionID string
	// Resource is "" for the credential verification.
	Resource string
}

// Result is what applying signals produced.
type Result struct {
	Events []tether.Event
	Checks []Check
}

// Apply applies signals, in order, to c (which it modifies): health times,
// resource access, the error lifecycle and the status; it returns the events
// of what changed and the checks still needed to confirm failures. def is
// c's provider definition.
func Apply(def *tether.ProviderDefinition, c *tether.Connection, signals []Signal, p Policy) Result {
	a := applier{def: def, c: c, policy: p, previous: c.Status}
	c.Resources = tether.WithDefinedResources(c.Resources, def)
	for _, s := range signals {
		a.apply(s)
	}
	a.settleStatus()
	return Result{Events: a.events, Checks: a.checks}
}

type applier struct {
	def      *tether.ProviderDefinition
	c        *tether.Connection
	policy   Policy
	previous tether.HealthStatus
	events   []tether.Event
	checks   []Check
	changed  bool // status-relevant state changed: errors or access
}

func (a *applier) apply(s Signal) {
	switch s.Kind {
	case tether.SignalSuccess:
		a.success(s)
	case tether.SignalAuthFailure:
		a.authFailure(s)
	case tether.SignalPermissionFailure:
		a.permissionFailure(s)
	case tether.SignalTransient:
		a.transient(s)
	}
	// request_error: logged, no health effect.
}

// success closes what it proves wrong. Signals can arrive late (a reported
// call, a batch flushed after a probe's), so a success closes only errors
// last seen before it: a stale success never hides a newer failure.
func (a *applier) success(s Signal) {
	a.markHealthy(s.At)
	if a.c.Transient.Since == nil || !a.c.Transient.Since.After(s.At.Time) {
		a.c.Transient = tether.TransientRun{}
	}
	a.closeErrors(s.At, func(e *tether.ConnectionError) bool { return e.Type == tether.ErrorSystemError })
	if s.Verification {
		a.closeErrors(s.At, func(e *tether.ConnectionError) bool { return e.Type == tether.ErrorInvalidCredentials })
	}
	if s.Resource != "" {
		a.closeErrors(s.At, func(e *tether.ConnectionError) bool {
			return e.Type == tether.ErrorMissingPermission && resourceOf(e) == s.Resource
		})
		if a.openError(tether.ErrorMissingPermission, s.Resource) == nil {
			a.setAccess(s.Resource, tether.AccessGranted)
		}
	}
}

func (a *applier) authFailure(s Signal) {
	if e := a.openError(tether.ErrorInvalidCredentials, ""); e != nil {
		a.repeat(e, s)
		return
	}
	if !s.Verification {
		a.ask(Check{ConnectionID: a.c.ID})
		return
	}
	a.markUnhealthy(s.At)
	a.open(s, tether.ConnectionError{
		Type:       tether.ErrorInvalidCredentials,
		Message:    withReason(fmt.Sprintf("The credentials for %s were rejected; reconnect the account.", a.def.DisplayName), s),
		Blocking:   true,
		Resolution: tether.ResolutionReinstall,
	})
}

func (a *applier) permissionFailure(s Signal) {
	if s.Verification {
		// The verification itself is refused: the credentials are no good.
		s.Kind = tether.SignalAuthFailure
		a.authFailure(s)
		return
	}
	if s.Resource == "" {
		// No resource to hold a missing_permission: ask whether the
		// credentials still verify at all.
		a.ask(Check{ConnectionID: a.c.ID})
		return
	}
	if e := a.openError(tether.ErrorMissingPermission, s.Resource); e != nil {
		a.repeat(e, s)
		a.setAccess(s.Resource, tether.AccessDenied)
		return
	}
	spec := a.def.Resource(s.Resource)
	if !s.Probe && spec != nil && spec.Probe != nil {
		a.ask(Check{ConnectionID: a.c.ID, Resource: s.Resource})
		return
	}
	a.markUnhealthy(s.At)
	a.setAccess(s.Resource, tether.AccessDenied)
	a.open(s, tether.ConnectionError{
		Type:       tether.ErrorMissingPermission,
		Resource:   &s.Resource,
		Message:    fmt.Sprintf("The provided credentials do not have access to %s data.", s.Resource),
		Resolution: tether.ResolutionGrantPermission,
	})
}

func (a *applier) transient(s Signal) {
	run := &a.c.Transient
	if run.Count == 0 {
		run.Since = &s.At
		run.Resource = s.Resource
	} else if run.Resource != s.Resource {
		run.Resource = ""
	}
	run.Count++
	if e := a.openError(tether.ErrorSystemError, ""); e != nil {
		a.repeat(e, s)
		a.markUnhealthy(s.At)
		return
	}
	if run.Count < a.policy.SystemErrorAfter || s.At.Sub(run.Since.Time) < a.policy.SystemErrorSpan {
		return // a burst: no status change unless it persists
	}
	a.markUnhealthy(s.At)
	e := tether.ConnectionError{
		Type: tether.ErrorSystemError,
		Message: withReason(fmt.Sprintf("%s has failed %d times in a row since %s; Tether keeps trying.",
			a.def.DisplayName, run.Count, run.Since), s),
		Resolution: tether.ResolutionRetryLater,
	}
	if run.Resource != "" {
		e.Resource = &run.Resource
	}
	a.open(s, e)
}

// openError returns the open error of that type (and resource, for
// per-resource types), or nil. system_error is one per connection.
func (a *applier) openError(typ, resource string) *tether.ConnectionError {
	for i := range a.c.Errors {
		e := &a.c.Errors[i]
		if e.Type == typ && (typ != tether.ErrorMissingPermission || resourceOf(e) == resource) {
			return e
		}
	}
	return nil
}

// open adds a new error and its connection-error.created event.
func (a *applier) open(s Signal, e tether.ConnectionError) {
	e.ID = tether.NewID(tether.PrefixError)
	e.FirstSeenAt, e.LastSeenAt, e.Occurrences = s.At, s.At, 1
	if s.HTTPStatus != 0 {
		e.HTTPStatus = &s.HTTPStatus
	}
	a.c.Errors = append(a.c.Errors, e)
	a.changed = true
	a.emit(tether.EventConnectionErrorCreated, errorData(a.c.ID, e))
}

// repeat counts another occurrence of an open error: no event, unless what
// it says (its HTTP status) changed.
func (a *applier) repeat(e *tether.ConnectionError, s Signal) {
	e.Occurrences++
	if s.At.After(e.LastSeenAt.Time) {
		e.LastSeenAt = s.At
	}
	a.markUnhealthy(s.At)
	if s.HTTPStatus != 0 && (e.HTTPStatus == nil || *e.HTTPStatus != s.HTTPStatus) {
		e.HTTPStatus = &s.HTTPStatus
		a.emit(tether.EventConnectionErrorUpdated, errorData(a.c.ID, *e))
	}
}

// closeErrors removes the errors that match and were last seen before at,
// each with a connection-error.deleted event. A success in the same
// millisecond as the failure cannot be ordered against it, so it keeps the
// error: the next success closes it.
func (a *applier) closeErrors(at tether.Time, match func(*tether.ConnectionError) bool) {
	kept := a.c.Errors[:0]
	for i := range a.c.Errors {
		e := a.c.Errors[i]
		if match(&e) && at.After(e.LastSeenAt.Time) {
			a.changed = true
			a.emit(tether.EventConnectionErrorDeleted, errorData(a.c.ID, e))
			continue
		}
		kept = append(kept, e)
	}
	a.c.Errors = kept
}

func (a *applier) setAccess(resource, access string) {
	for i := range a.c.Resources {
		if r := &a.c.Resources[i]; r.Name == resource && r.Access != access {
			r.Access = access
			a.changed = true
		}
	}
}

func (a *applier) markHealthy(at tether.Time) {
	if a.c.LastHealthyAt == nil || at.After(a.c.LastHealthyAt.Time) {
		a.c.LastHealthyAt = &at
	}
}

func (a *applier) markUnhealthy(at tether.Time) {
	if a.c.LastUnhealthyAt == nil || at.After(a.c.LastUnhealthyAt.Time) {
		a.c.LastUnhealthyAt = &at
	}
}

func (a *applier) ask(c Check) {
	for _, known := range a.checks {
		if known == c {
			return
		}
	}
	a.checks = append(a.checks, c)
}

// settleStatus computes the status and, when it changed, emits
// connection.healthy or connection.unhealthy.
func (a *applier) settleStatus() {
	a.c.Status = Status(a.c)
	if a.c.Status != a.previous || a.changed {
		a.c.UpdatedAt = tether.Now()
	}
	switch {
	case a.c.Status == a.previous:
	case a.c.Status == tether.StatusHealthy:
		a.emit(tether.EventConnectionHealthy, a.statusData())
	case a.previous == tether.StatusHealthy || a.previous == tether.StatusNew:
		a.emit(tether.EventConnectionUnhealthy, a.statusData())
	}
}

// Status computes a connection's status from its health state (API.md
// "Connection").
func Status(c *tether.Connection) tether.HealthStatus {
	blocking, open := false, len(c.Errors) > 0
	for _, e := range c.Errors {
		blocking = blocking || e.Blocking
	}
	latestFailed := c.LastUnhealthyAt != nil && (c.LastHealthyAt == nil || c.LastUnhealthyAt.After(c.LastHealthyAt.Time))
	switch {
	case c.LastHealthyAt == nil && c.LastUnhealthyAt == nil && !open:
		return tether.StatusNew
	case blocking, c.LastHealthyAt == nil:
		return tether.StatusUnhealthy
	case open, latestFailed:
		return tether.StatusUnhealthyNow
	default:
		return tether.StatusHealthy
	}
}

func (a *applier) emit(typ string, data any) {
	a.events = append(a.events, tether.NewEvent(typ, a.c.ID, data))
}

// statusData is the connection object plus previous_status.
func (a *applier) statusData() map[string]any {
	var m map[string]any
	b, _ := json.Marshal(a.c)
	_ = json.Unmarshal(b, &m)
	m["previous_status"] = a.previous
	return m
}

// errorData is the error object plus connection_id.
func errorData(connectionID string, e tether.ConnectionError) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(e)
	_ = json.Unmarshal(b, &m)
	m["connection_id"] = connectionID
	return m
}

func resourceOf(e *tether.ConnectionError) string {
	if e.Resource == nil {
		return ""
	}
	return *e.Resource
}

func withReason(msg string, s Signal) string {
	if s.Reason == "" {
		return msg
	}
	return msg + " The provider said: " + s.Reason
}
