package health

import (
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

var wms = &tether.ProviderDefinition{
	Name: "acme_wms", DisplayName: "Acme WMS",
	Resources: []tether.ResourceSpec{
		{Name: "orders", Paths: []string{"/orders"}, Probe: &tether.ProbeSpec{Method: "GET", Path: "/orders"}},
		{Name: "returns", Paths: []string{"/returns"}, Probe: &tether.ProbeSpec{Method: "GET", Path: "/returns"}},
		{Name: "notes", Paths: []string{"/notes"}}, // no probe: a call's 403 is all there is
	},
}

var t0 = tether.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))

func at(minutes int) tether.Time { return tether.NewTime(t0.Add(time.Duration(minutes) * time.Minute)) }

func newConn() *tether.Connection {
	return &tether.Connection{ID: "conn_1", Status: tether.StatusNew, Errors: []tether.ConnectionError{}, Metadata: map[string]any{}}
}

func healthyConn() *tether.Connection {
	c := newConn()
	Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, At: at(0)}}, DefaultPolicy)
	return c
}

func eventTypes(r Result) []string {
	var types []string
	for _, e := range r.Events {
		types = append(types, e.Type)
	}
	return types
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStatus(t *testing.T) {
	h, u := at(1), at(2)
	blocking := tether.ConnectionError{Type: tether.ErrorInvalidCredentials, Blocking: true}
	nonBlocking := tether.ConnectionError{Type: tether.ErrorMissingPermission}
	cases := []struct {
		name     string
		healthy  *tether.Time
		failed   *tether.Time
		errs     []tether.ConnectionError
		expected tether.HealthStatus
	}{
		{"no signal", nil, nil, nil, tether.StatusNew},
		{"success only", &h, nil, nil, tether.StatusHealthy},
		{"failed, never succeeded", nil, &u, nil, tether.StatusUnhealthy},
		{"latest signal failed", &h, &u, nil, tether.StatusUnhealthyNow},
		{"failed then succeeded", &u, &h, nil, tether.StatusHealthy},
		{"open non-blocking error", &u, &h, []tether.ConnectionError{nonBlocking}, tether.StatusUnhealthyNow},
		{"open blocking error", &u, &h, []tether.ConnectionError{blocking, nonBlocking}, tether.StatusUnhealthy},
	}
	for _, tc := range cases {
		c := &tether.Connection{LastHealthyAt: tc.healthy, LastUnhealthyAt: tc.failed, Errors: tc.errs}
		if got := Status(c); got != tc.expected {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.expected)
		}
	}
}

func TestFirstSuccessMakesHealthy(t *testing.T) {
	c := newConn()
	r := Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, Resource: "orders", At: at(0)}}, DefaultPolicy)
	if c.Status != tether.StatusHealthy || c.LastHealthyAt == nil || !c.LastHealthyAt.Equal(at(0).Time) {
		t.Fatalf("status %s, last_healthy_at %v", c.Status, c.LastHealthyAt)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionHealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
	if c.Resources[0].Access != tether.AccessGranted || c.Resources[1].Access != tether.AccessUnknown {
		t.Errorf("resources %+v", c.Resources)
	}
	if r := Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, At: at(1)}}, DefaultPolicy); len(r.Events) != 0 {
		t.Errorf("a repeated success emitted %v", eventTypes(r))
	}
}

func TestAuthFailureNeedsConfirmation(t *testing.T) {
	c := healthyConn()
	r := Apply(wms, c, []Signal{{Kind: tether.SignalAuthFailure, HTTPStatus: 401, At: at(1)}}, DefaultPolicy)
	if c.Status != tether.StatusHealthy || len(c.Errors) != 0 || len(r.Events) != 0 {
		t.Fatalf("an unconfirmed auth failure changed health: %s %v %v", c.Status, c.Errors, eventTypes(r))
	}
	if len(r.Checks) != 1 || r.Checks[0] != (Check{ConnectionID: "conn_1"}) {
		t.Fatalf("checks %v, want the credential verification", r.Checks)
	}

	r = Apply(wms, c, []Signal{{Kind: tether.SignalAuthFailure, HTTPStatus: 401, At: at(2), Verification: true, Reason: "key revoked"}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthy || len(c.Errors) != 1 {
		t.Fatalf("confirmed auth failure: status %s, errors %+v", c.Status, c.Errors)
	}
	e := c.Errors[0]
	if e.Type != tether.ErrorInvalidCredentials || !e.Blocking || e.Resource != nil || e.Resolution != "reinstall" ||
		*e.HTTPStatus != 401 || e.Occurrences != 1 {
		t.Errorf("error %+v", e)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorCreated, tether.EventConnectionUnhealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}

	// Repeats count without events or new checks.
	r = Apply(wms, c, []Signal{{Kind: tether.SignalAuthFailure, HTTPStatus: 401, At: at(3)}}, DefaultPolicy)
	if len(r.Events) != 0 || len(r.Checks) != 0 || c.Errors[0].Occurrences != 2 || !c.Errors[0].LastSeenAt.Equal(at(3).Time) {
		t.Errorf("repeat: events %v checks %v error %+v", eventTypes(r), r.Checks, c.Errors[0])
	}
	// A plain success does not close it: only verification does.
	Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, At: at(4)}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthy {
		t.Errorf("a non-verification success changed status to %s", c.Status)
	}
	r = Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, At: at(5), Verification: true}}, DefaultPolicy)
	if c.Status != tether.StatusHealthy || len(c.Errors) != 0 {
		t.Fatalf("after verification: %s %+v", c.Status, c.Errors)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorDeleted, tether.EventConnectionHealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
}

func TestPermissionFailureIsConfirmedByTheProbe(t *testing.T) {
	c := healthyConn()
	r := Apply(wms, c, []Signal{{Kind: tether.SignalPermissionFailure, Resource: "returns", HTTPStatus: 403, At: at(1)}}, DefaultPolicy)
	if len(c.Errors) != 0 || len(r.Checks) != 1 || r.Checks[0].Resource != "returns" {
		t.Fatalf("unconfirmed: errors %v checks %v", c.Errors, r.Checks)
	}
	r = Apply(wms, c, []Signal{{Kind: tether.SignalPermissionFailure, Resource: "returns", HTTPStatus: 403, At: at(2), Probe: true}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthyNow || len(c.Errors) != 1 {
		t.Fatalf("confirmed: %s %+v", c.Status, c.Errors)
	}
	e := c.Errors[0]
	if e.Type != tether.ErrorMissingPermission || e.Blocking || *e.Resource != "returns" || e.Resolution != "grant_permission" ||
		e.Message != "The provided credentials do not have access to returns data." {
		t.Errorf("error %+v", e)
	}
	if c.Resources[1].Access != tether.AccessDenied {
		t.Errorf("returns access %s", c.Resources[1].Access)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorCreated, tether.EventConnectionUnhealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
	// Other resources keep working and do not close it.
	Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, Resource: "orders", At: at(3)}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthyNow {
		t.Errorf("status %s after a success on another resource", c.Status)
	}
	// A success on the resource closes it.
	r = Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, Resource: "returns", At: at(4)}}, DefaultPolicy)
	if c.Status != tether.StatusHealthy || len(c.Errors) != 0 || c.Resources[1].Access != tether.AccessGranted {
		t.Fatalf("after success: %s %+v %+v", c.Status, c.Errors, c.Resources)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorDeleted, tether.EventConnectionHealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
}

func TestPermissionFailureWithoutProbeOrResource(t *testing.T) {
	c := healthyConn()
	Apply(wms, c, []Signal{{Kind: tether.SignalPermissionFailure, Resource: "notes", HTTPStatus: 403, At: at(1)}}, DefaultPolicy)
	if len(c.Errors) != 1 || *c.Errors[0].Resource != "notes" {
		t.Fatalf("a resource without a probe: errors %+v", c.Errors)
	}
	c = healthyConn()
	r := Apply(wms, c, []Signal{{Kind: tether.SignalPermissionFailure, HTTPStatus: 403, At: at(1)}}, DefaultPolicy)
	if len(c.Errors) != 0 || len(r.Checks) != 1 || r.Checks[0].Resource != "" {
		t.Fatalf("no resource: errors %+v checks %v", c.Errors, r.Checks)
	}
	r = Apply(wms, c, []Signal{{Kind: tether.SignalPermissionFailure, HTTPStatus: 403, At: at(2), Verification: true}}, DefaultPolicy)
	if len(c.Errors) != 1 || c.Errors[0].Type != tether.ErrorInvalidCredentials {
		t.Fatalf("a refused verification: errors %+v", c.Errors)
	}
}

func TestTransientFailuresOpenSystemErrorOnlyWhenPersistent(t *testing.T) {
	c := healthyConn()
	burst := make([]Signal, 20)
	for i := range burst {
		burst[i] = Signal{Kind: tether.SignalTransient, HTTPStatus: 503, At: tether.NewTime(at(1).Add(time.Duration(i) * time.Second))}
	}
	r := Apply(wms, c, burst, DefaultPolicy)
	if c.Status != tether.StatusHealthy || len(c.Errors) != 0 || len(r.Events) != 0 {
		t.Fatalf("a 20-second burst changed health: %s %v", c.Status, eventTypes(r))
	}
	// Still failing ten minutes after the run began: persistent.
	r = Apply(wms, c, []Signal{{Kind: tether.SignalTransient, HTTPStatus: 502, Resource: "orders", At: at(11)}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthyNow || len(c.Errors) != 1 || c.Errors[0].Type != tether.ErrorSystemError || c.Errors[0].Blocking {
		t.Fatalf("persistent: %s %+v", c.Status, c.Errors)
	}
	if c.Errors[0].Resource != nil {
		t.Errorf("system_error on %v, want null: the run spans resources", *c.Errors[0].Resource)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorCreated, tether.EventConnectionUnhealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
	// A different status code updates the error; the next success closes it.
	r = Apply(wms, c, []Signal{{Kind: tether.SignalTransient, HTTPStatus: 503, At: at(12)}}, DefaultPolicy)
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorUpdated}) {
		t.Errorf("changed status code: events %v", eventTypes(r))
	}
	r = Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, At: at(13)}}, DefaultPolicy)
	if c.Status != tether.StatusHealthy || len(c.Errors) != 0 || c.Transient.Count != 0 {
		t.Fatalf("after success: %s %+v %+v", c.Status, c.Errors, c.Transient)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorDeleted, tether.EventConnectionHealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
}

func TestSlowTransientFailuresNeedTheCount(t *testing.T) {
	c := healthyConn()
	Apply(wms, c, []Signal{
		{Kind: tether.SignalTransient, Resource: "orders", At: at(1)},
		{Kind: tether.SignalTransient, Resource: "orders", At: at(30)},
	}, DefaultPolicy)
	if len(c.Errors) != 0 {
		t.Fatalf("2 failures over 29 minutes opened %+v", c.Errors)
	}
	Apply(wms, c, []Signal{
		{Kind: tether.SignalTransient, Resource: "orders", At: at(31)},
		{Kind: tether.SignalTransient, Resource: "orders", At: at(32)},
		{Kind: tether.SignalTransient, Resource: "orders", At: at(33)},
	}, DefaultPolicy)
	if len(c.Errors) != 1 || *c.Errors[0].Resource != "orders" {
		t.Fatalf("5 failures over 32 minutes on orders: %+v", c.Errors)
	}
}

func TestRequestErrorsHaveNoEffect(t *testing.T) {
	c := healthyConn()
	before := *c
	r := Apply(wms, c, []Signal{{Kind: tether.SignalRequestError, HTTPStatus: 400, At: at(1)}}, DefaultPolicy)
	if len(r.Events) != 0 || len(r.Checks) != 0 || c.Status != before.Status || c.LastUnhealthyAt != nil {
		t.Errorf("request error changed health: %v %+v", eventTypes(r), c)
	}
}

func TestNeverSucceededIsUnhealthy(t *testing.T) {
	c := newConn()
	r := Apply(wms, c, []Signal{{Kind: tether.SignalAuthFailure, Verification: true, HTTPStatus: 401, At: at(0)}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthy {
		t.Fatalf("status %s", c.Status)
	}
	if !sameList(eventTypes(r), []string{tether.EventConnectionErrorCreated, tether.EventConnectionUnhealthy}) {
		t.Errorf("events %v", eventTypes(r))
	}
}

// Signals can arrive out of order; a stale success must not close a newer
// failure.
func TestStaleSuccessDoesNotCloseANewerError(t *testing.T) {
	c := healthyConn()
	Apply(wms, c, []Signal{{Kind: tether.SignalAuthFailure, Verification: true, HTTPStatus: 401, At: at(5)}}, DefaultPolicy)
	r := Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, Verification: true, At: at(4)}}, DefaultPolicy)
	if c.Status != tether.StatusUnhealthy || len(c.Errors) != 1 || len(r.Events) != 0 {
		t.Fatalf("a stale verification closed the error: %s %+v %v", c.Status, c.Errors, eventTypes(r))
	}
	r = Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, Verification: true, At: at(5)}}, DefaultPolicy)
	if len(c.Errors) != 1 || len(r.Events) != 0 {
		t.Fatalf("a verification in the same millisecond as the failure closed it: %+v", c.Errors)
	}
	Apply(wms, c, []Signal{{Kind: tether.SignalPermissionFailure, Resource: "returns", Probe: true, At: at(6)}}, DefaultPolicy)
	Apply(wms, c, []Signal{{Kind: tether.SignalSuccess, Resource: "returns", At: at(5)}}, DefaultPolicy)
	if len(c.Errors) != 2 || c.Resources[1].Access != tether.AccessDenied {
		t.Fatalf("a stale success on returns: %+v %+v", c.Errors, c.Resources)
	}
}
