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

// MakeCallTargetsDue makes every kept call target due to be read again,
// as if targetRefreshAge had passed, without bringing its expiry closer.
func (s *Store) MakeCallTargetsDue() {
	s.targets.mu.Lock()
	defer s.targets.mu.Unlock()
	for id, t := range s.targets.targets {
		t.refreshAt = time.Time{}
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
