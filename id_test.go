package tether

import "testing"

func TestNewIDIsPrefixedAndIncreasing(t *testing.T) {
	prev := NewID(PrefixConnection)
	for range 10000 {
		id := NewID(PrefixConnection)
		if !HasPrefix(id, PrefixConnection) {
			t.Fatalf("%q is not a connection id", id)
		}
		if id <= prev {
			t.Fatalf("%q does not sort after %q", id, prev)
		}
		prev = id
	}
}
