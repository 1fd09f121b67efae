package sqlstore

import tether "github.com/tetherhq/tether"

// AppliedConnection returns a copy of the connection as the applied cache
// keeps it, or nil.
func (s *Store) AppliedConnection(id string) *tether.Connection {
	return s.applied.get([]string{id})[id]
}
