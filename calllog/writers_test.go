package calllog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// callsOf returns n calls of each of the given connections, interleaved.
func callsOf(connections []string, n int) []*tether.Call {
	var calls []*tether.Call
	for i := range n {
		for _, id := range connections {
			calls = append(calls, &tether.Call{ID: tether.NewID(tether.PrefixCall), ConnectionID: &id, Path: fmt.Sprintf("/orders/%d", i)})
		}
	}
	return calls
}

func connectionIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("con_%02d", i)
	}
	return ids
}

// With several writers, batches are written at once, each connection's calls
// by one writer only and in the order they were added, and every call once.
func TestWritersShareConnectionsAndKeepTheirOrder(t *testing.T) {
	var mu sync.Mutex
	var written []*tether.Call
	inFlight := map[string]bool{} // connections of the batches being written
	overlap, concurrent := false, false
	store := &fakeStore{recordCalls: func(_ context.Context, calls []*tether.Call, _ func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		mine := map[string]bool{}
		for _, c := range calls {
			mine[*c.ConnectionID] = true
		}
		mu.Lock()
		concurrent = concurrent || len(inFlight) > 0
		for id := range mine {
			overlap = overlap || inFlight[id]
			inFlight[id] = true
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // long enough for the other writers to start theirs
		mu.Lock()
		defer mu.Unlock()
		for id := range mine {
			delete(inFlight, id)
		}
		written = append(written, calls...)
		return nil
	}}
	b := newBatcher(store, noApply, Options{Writers: 3, MaxBatch: 10, MaxDelay: time.Hour}, time.Hour)
	defer closeBatcher(t, b)
	calls := callsOf(connectionIDs(12), 20)
	for part := range slices.Chunk(calls, 30) {
		if err := b.AddMany(testContext(t), part); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(testContext(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Error("two batches of the same connection were written at once")
	}
	if !concurrent {
		t.Error("no two batches were written at once: the writers did not run in parallel")
	}
	if len(written) != len(calls) {
		t.Fatalf("%d calls written, want %d", len(written), len(calls))
	}
	order := func(calls []*tether.Call) map[string][]string {
		byConnection := map[string][]string{}
		for _, c := range calls {
			byConnection[*c.ConnectionID] = append(byConnection[*c.ConnectionID], c.ID)
		}
		return byConnection
	}
	got, want := order(written), order(calls)
	for id := range want {
		if !slices.Equal(got[id], want[id]) {
			t.Errorf("calls of %s written in the order %v, want %v", id, got[id], want[id])
		}
	}
}

// AddMany queues all its calls or none, also when they go to several writers
// and one of them has no room.
func TestAddManyOverWritersIsAllOrNone(t *testing.T) {
	started := make(chan []*tether.Call, 10)
	release := make(chan struct{})
	// Each writer holds 4: a batch of 2 being written and 2 waiting.
	b := newBatcher(blockedStore(started, release), noApply, Options{Writers: 2, MaxBatch: 2, MaxDelay: time.Hour, QueueSize: 8}, time.Hour)
	defer func() {
		close(release)
		closeBatcher(t, b)
	}()
	ids := connectionIDs(40)
	// Fill the second writer: a batch of 2 being written, 2 more waiting.
	// The first one, reserved first, must be given its room back.
	const full = 1
	var sameWriter, otherWriter []string
	for _, id := range ids {
		if b.writerOf(id) == full {
			sameWriter = append(sameWriter, id)
		} else {
			otherWriter = append(otherWriter, id)
		}
	}
	if len(sameWriter) < 4 || len(otherWriter) < 1 {
		t.Fatalf("connections spread %d/%d over the writers", len(sameWriter), len(otherWriter))
	}
	if err := b.AddMany(testContext(t), callsOf(sameWriter[:2], 1)); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := b.AddMany(testContext(t), callsOf(sameWriter[2:4], 1)); err != nil {
		t.Fatal(err)
	}
	queued := b.Stats().Queued

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := b.AddMany(ctx, callsOf([]string{otherWriter[0], sameWriter[0]}, 1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AddMany = %v, want context.DeadlineExceeded", err)
	}
	if got := b.Stats().Queued; got != queued {
		t.Errorf("%d calls queued after a failed AddMany, want %d: part of it was queued", got, queued)
	}
	if !b.writers[0].space.TryAcquire(4) {
		t.Error("the first writer's room taken by the failed AddMany was not given back")
	}
}

// Calls whose AddMany returned nil are written, also when Close comes while
// they are being queued: a writer must not stop at an empty queue while an
// Add that entered before Close is about to fill it.
func TestCloseLosesNoAcceptedCall(t *testing.T) {
	ids := connectionIDs(9)
	for round := range 100 {
		var mu sync.Mutex
		written := map[string]bool{}
		store := &fakeStore{recordCalls: func(_ context.Context, calls []*tether.Call, _ func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range calls {
				written[c.ID] = true
			}
			return nil
		}}
		b := New(store, noApply, Options{Writers: 3, MaxBatch: 4, QueueSize: 24, MaxDelay: time.Millisecond})
		var accepted sync.Map
		var adders sync.WaitGroup
		for range 6 {
			adders.Go(func() {
				for range 30 {
					calls := callsOf(ids, 1)
					if b.AddMany(testContext(t), calls) != nil {
						return
					}
					for _, c := range calls {
						accepted.Store(c.ID, true)
					}
				}
			})
		}
		time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
		if err := b.Close(testContext(t)); err != nil {
			t.Fatalf("Close: %v", err)
		}
		adders.Wait()
		mu.Lock()
		accepted.Range(func(id, _ any) bool {
			if !written[id.(string)] {
				t.Errorf("round %d: call %s was accepted but never written", round, id)
			}
			return true
		})
		mu.Unlock()
		if t.Failed() {
			return
		}
	}
}
