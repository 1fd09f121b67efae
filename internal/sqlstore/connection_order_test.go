package sqlstore

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	tether "github.com/tetherhq/tether"
)

// TestABatchIsWrittenAndAppliedInConnectionOrder: calls without a connection
// first, then each connection's calls together, in connection id order, and
// within a connection in the order they came (the health engine's order).
func TestABatchIsWrittenAndAppliedInConnectionOrder(t *testing.T) {
	call := func(id, connection string) *tether.Call {
		c := &tether.Call{ID: id}
		if connection != "" {
			c.ConnectionID = &connection
		}
		return c
	}
	batch := []*tether.Call{
		call("b1", "conn_b"), call("a1", "conn_a"), call("x1", ""), call("b2", "conn_b"),
		call("a2", "conn_a"), call("x2", ""), call("a3", "conn_a"),
	}
	given := slices.Clone(batch)
	ordered := inConnectionOrder(batch)
	ids := func(calls []*tether.Call) (out []string) {
		for _, c := range calls {
			out = append(out, c.ID)
		}
		return out
	}
	if got, want := ids(ordered), []string{"x1", "x2", "a1", "a2", "a3", "b1", "b2"}; !slices.Equal(got, want) {
		t.Errorf("ordered %v, want %v", got, want)
	}
	if !slices.Equal(batch, given) {
		t.Errorf("the batch given was reordered: %v", ids(batch))
	}
	groups := groupByConnection(ordered)
	if len(groups) != 2 || groups[0].id != "conn_a" || groups[1].id != "conn_b" ||
		!slices.Equal(ids(groups[0].calls), []string{"a1", "a2", "a3"}) || !slices.Equal(ids(groups[1].calls), []string{"b1", "b2"}) {
		t.Errorf("groups %+v", groups)
	}
}

// BenchmarkInConnectionOrder orders a batch of 10,000 calls spread over 1,000
// connections, against the stable sort it replaced.
func BenchmarkInConnectionOrder(b *testing.B) {
	batch := make([]*tether.Call, 10_000)
	for i := range batch {
		connection := fmt.Sprintf("conn_%026d", (i*7919)%1000)
		batch[i] = &tether.Call{ID: fmt.Sprintf("call_%d", i), ConnectionID: &connection}
	}
	b.Run("stable_sort", func(b *testing.B) {
		for b.Loop() {
			ordered := slices.Clone(batch)
			slices.SortStableFunc(ordered, func(x, y *tether.Call) int {
				return cmp.Compare(connectionOf(x), connectionOf(y))
			})
		}
	})
	b.Run("counted", func(b *testing.B) {
		for b.Loop() {
			inConnectionOrder(batch)
		}
	})
}
