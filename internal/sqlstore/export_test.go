package sqlstore

import (
	"time"

	tether "github.com/tetherhq/tether"
)

// AppliedConnection returns a copy of the connection as the applied cache
// keeps it, or nil.
func (s *Store) AppliedConnection(id string) *tether.Connection {
	return s.applied.get([]string{id})[id]
}

// AgeCallTargets makes every kept call target d older, as if it had been
// read d earlier.
func (s *Store) AgeCallTargets(d time.Duration) {
	s.targets.mu.Lock()
	defer s.targets.mu.Unlock()
	for id, t := range s.targets.targets {
		t.refreshAt, t.expires = t.refreshAt.Add(-d), t.expires.Add(-d)
		s.targets.targets[id] = t
	}
}

// KeptCallTarget returns the call target kept for id, expired or not,
// without reading the database.
func (s *Store) KeptCallTarget(id string) (tether.CallTarget, bool) {
	s.targets.mu.RLock()
	defer s.targets.mu.RUnlock()
	t, ok := s.targets.targets[id]
	return t.target, ok
}
