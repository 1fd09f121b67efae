package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	tether "github.com/tetherhq/tether"
)

// Fixture is one generated connection, ready to be stored as the connection
// service would store it: sealed credentials and its connection.created event.
type Fixture struct {
	Connection  *tether.Connection
	Credentials tether.SealedCredentials
	Event       tether.Event
}

// Fleet generates the connections of an installation that has run for a
// while: a few integrations hold most connections; about three in four are
// healthy, one in ten unhealthy (a blocking error) and one in ten
// unhealthy_now (one or two non-blocking errors), the rest new; resources
// carry the access and sync states that go with that; each has a little
// metadata. The same seed gives the same mix (ids and times differ).
type Fleet struct {
	rng       *rand.Rand
	vault     tether.Vault
	providers []*tether.ProviderDefinition
	// cumulative[i] is the sum of the weights of providers[0..i].
	cumulative []int
	now        time.Time
	made       int
	counts     map[FilterKey]int
}

// FilterKey is an integration and a status, what a filtered page selects.
type FilterKey struct {
	Integration string
	Status      tether.HealthStatus
}

// NewFleet returns a fleet over providers (at least one), sealing
// credentials with v.
func NewFleet(seed uint64, providers []*tether.ProviderDefinition, v tether.Vault) *Fleet {
	f := &Fleet{
		rng:       rand.New(rand.NewPCG(seed, 0x7e7e7e)),
		vault:     v,
		providers: providers,
		now:       time.Now(),
		counts:    map[FilterKey]int{},
	}
	total := 0
	for i := range providers {
		total += 1000 / (i + 1) // Zipf-like: the first integration is the most used
		f.cumulative = append(f.cumulative, total)
	}
	return f
}

// Busiest is the integration with the most connections.
func (f *Fleet) Busiest() string { return f.providers[0].Name }

// Count is how many generated connections have the integration and status.
func (f *Fleet) Count(k FilterKey) int { return f.counts[k] }

// Next generates one connection.
func (f *Fleet) Next() (Fixture, error) {
	f.made++
	def := f.pickProvider()
	c := f.connection(def)
	f.counts[FilterKey{c.IntegrationName, c.Status}]++
	sealed, err := f.vault.Seal(c.ID, f.credentials(def))
	if err != nil {
		return Fixture{}, fmt.Errorf("seal credentials: %w", err)
	}
	return Fixture{Connection: c, Credentials: sealed, Event: tether.NewEvent(tether.EventConnectionCreated, c.ID, c)}, nil
}

func (f *Fleet) pickProvider() *tether.ProviderDefinition {
	n := f.rng.IntN(f.cumulative[len(f.cumulative)-1])
	for i, upTo := range f.cumulative {
		if n < upTo {
			return f.providers[i]
		}
	}
	panic("unreachable")
}

func (f *Fleet) pickStatus() tether.HealthStatus {
	switch n := f.rng.IntN(100); {
	case n < 4:
		return tether.StatusNew
	case n < 14:
		return tether.StatusUnhealthy
	case n < 24:
		return tether.StatusUnhealthyNow
	default:
		return tether.StatusHealthy
	}
}

func (f *Fleet) connection(def *tether.ProviderDefinition) *tether.Connection {
	customer := fmt.Sprintf("cust-%06d", f.made)
	created := f.ago(365 * 24 * time.Hour)
	installed := created
	if f.rng.IntN(10) == 0 { // reinstalled since
		installed = f.between(created, f.now)
	}
	c := &tether.Connection{
		ID:              tether.NewID(tether.PrefixConnection),
		IntegrationName: def.Name,
		CustomerID:      customer,
		DisplayName:     fmt.Sprintf("%s (%s)", def.DisplayName, customer),
		State:           tether.StateActive,
		CreatedAt:       created,
		InstalledAt:     installed,
		UpdatedAt:       f.between(installed, f.now),
		Metadata:        f.metadata(),
		Errors:          []tether.ConnectionError{},
		Resources:       tether.WithDefinedResources(nil, def),
	}
	if def.Verify.AccountID != "" {
		c.AccountID = fmt.Sprintf("acct_%06d", f.made)
	}
	f.applyHealth(c, def, f.pickStatus())
	return c
}

// applyHealth gives c the signals, errors and resource states of status.
func (f *Fleet) applyHealth(c *tether.Connection, def *tether.ProviderDefinition, status tether.HealthStatus) {
	c.Status = status
	if status == tether.StatusNew {
		return // no signal yet: resources unknown, syncs idle
	}
	f.syncAll(c)
	healthy := f.ago(10 * time.Minute) // probes run every 10 minutes
	c.LastHealthyAt = &healthy
	switch status {
	case tether.StatusUnhealthyNow:
		f.addError(c, def, f.nonBlockingType())
		if f.rng.IntN(10) < 3 {
			f.addError(c, def, f.nonBlockingType())
		}
		unhealthy := f.ago(10 * time.Minute)
		c.LastUnhealthyAt = &unhealthy
	case tether.StatusUnhealthy:
		f.addError(c, def, tether.ErrorInvalidCredentials)
		if f.rng.IntN(10) < 3 {
			f.addError(c, def, tether.ErrorMissingPermission)
		}
		unhealthy := f.ago(10 * time.Minute)
		older := f.ago(30 * 24 * time.Hour)
		c.LastUnhealthyAt, c.LastHealthyAt = &unhealthy, &older
		if f.rng.IntN(10) < 3 { // open past TETHER_DISABLE_AFTER
			c.State = tether.StateDisabled
		}
	}
	if c.State == tether.StateActive && f.rng.IntN(100) < 3 {
		c.State = tether.StatePaused
	}
}

func (f *Fleet) nonBlockingType() string {
	types := []string{tether.ErrorMissingPermission, tether.ErrorSyncError, tether.ErrorSystemError}
	return types[f.rng.IntN(len(types))]
}

// syncAll grants every resource and gives those with a sync block a recent
// successful run.
func (f *Fleet) syncAll(c *tether.Connection) {
	for i := range c.Resources {
		r := &c.Resources[i]
		r.Access = tether.AccessGranted
		if r.Sync != nil {
			synced := f.ago(time.Hour)
			r.Sync = &tether.SyncState{Status: tether.SyncSynced, LastSyncedAt: &synced, Records: f.rng.Int64N(200_000)}
		}
	}
}

// addError opens an error of type typ on c, on a resource where the type
// has one, and sets that resource's state to match. An error already open
// with the same identity (type and resource) is not opened twice.
func (f *Fleet) addError(c *tether.Connection, def *tether.ProviderDefinition, typ string) {
	var r *tether.ResourceState
	switch typ {
	case tether.ErrorMissingPermission, tether.ErrorSyncError:
		if r = f.pickResource(c, typ == tether.ErrorSyncError); r == nil {
			typ = tether.ErrorSystemError // nothing it could be about
		}
	}
	if hasError(c, typ, r) {
		return
	}
	first := f.ago(7 * 24 * time.Hour)
	e := tether.ConnectionError{
		ID:          tether.NewID(tether.PrefixError),
		Type:        typ,
		FirstSeenAt: first,
		LastSeenAt:  f.between(first, f.now),
		Occurrences: 1 + f.rng.IntN(40),
	}
	switch typ {
	case tether.ErrorInvalidCredentials:
		e.Blocking, e.Resolution, e.HTTPStatus = true, "reinstall", intPtr(401)
		e.Message = def.DisplayName + " rejected the credentials (HTTP 401): invalid API key"
	case tether.ErrorMissingPermission:
		e.Resolution, e.HTTPStatus = "grant_permission", intPtr(403)
		e.Message = fmt.Sprintf("The provided credentials do not have access to %s data.", r.Name)
		r.Access = tether.AccessDenied
		setSyncError(r, "missing permission")
	case tether.ErrorSyncError:
		e.Resolution, e.HTTPStatus = "resync", intPtr(500)
		e.Message = fmt.Sprintf("Sync of %s failed: %s answered HTTP 500", r.Name, def.DisplayName)
		setSyncError(r, e.Message)
	case tether.ErrorSystemError:
		e.Resolution, e.HTTPStatus = "retry_later", intPtr(503)
		e.Message = fmt.Sprintf("%s has been unavailable for %d calls in a row (HTTP 503)", def.DisplayName, 5+e.Occurrences)
	}
	if r != nil {
		name := r.Name
		e.Resource = &name
	}
	c.Errors = append(c.Errors, e)
}

func hasError(c *tether.Connection, typ string, r *tether.ResourceState) bool {
	for _, open := range c.Errors {
		if open.Type != typ {
			continue
		}
		if open.Resource == nil && r == nil || open.Resource != nil && r != nil && *open.Resource == r.Name {
			return true
		}
	}
	return false
}

// pickResource picks one of c's resources, one with a sync block if
// needSync; nil when there is none.
func (f *Fleet) pickResource(c *tether.Connection, needSync bool) *tether.ResourceState {
	var candidates []*tether.ResourceState
	for i := range c.Resources {
		if !needSync || c.Resources[i].Sync != nil {
			candidates = append(candidates, &c.Resources[i])
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	return candidates[f.rng.IntN(len(candidates))]
}

func setSyncError(r *tether.ResourceState, message string) {
	if r == nil || r.Sync == nil {
		return
	}
	r.Sync.Status = tether.SyncError
	r.Sync.LastError = &message
}

func (f *Fleet) metadata() map[string]any {
	plans := []string{"free", "starter", "pro", "enterprise"}
	regions := []string{"eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2"}
	return map[string]any{
		"plan":       plans[f.rng.IntN(len(plans))],
		"region":     regions[f.rng.IntN(len(regions))],
		"crm_id":     fmt.Sprintf("0015g00000%08d", f.rng.IntN(100_000_000)),
		"seats":      1 + f.rng.IntN(500),
		"onboarding": f.rng.IntN(2) == 0,
	}
}

// credentials fills def's credential fields; secret ones get random tokens.
func (f *Fleet) credentials(def *tether.ProviderDefinition) tether.Credentials {
	creds := tether.Credentials{}
	for _, field := range def.Auth.Fields {
		if field.Secret {
			creds[field.Name] = f.token(40)
		} else {
			creds[field.Name] = fmt.Sprintf("https://cust-%06d.%s.example", f.made, def.Name)
		}
	}
	if def.Auth.Type == "oauth2" {
		creds[tether.FieldAccessToken] = f.token(64)
		creds[tether.FieldRefreshToken] = f.token(64)
		creds[tether.FieldExpiresAt] = f.now.Add(30 * time.Minute).UTC().Format(time.RFC3339)
	}
	return creds
}

func (f *Fleet) token(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[f.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// ago is a random time within d before now.
func (f *Fleet) ago(d time.Duration) tether.Time {
	return tether.NewTime(f.now.Add(-time.Duration(f.rng.Int64N(int64(d)))))
}

// between is a random time from a to b.
func (f *Fleet) between(a tether.Time, b time.Time) tether.Time {
	span := b.Sub(a.Time)
	if span <= 0 {
		return a
	}
	return tether.NewTime(a.Add(time.Duration(f.rng.Int64N(int64(span)))))
}

func intPtr(n int) *int { return &n }
