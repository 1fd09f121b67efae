package heapfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// sink keeps the garbage of allocate from being optimized away.
var sink []byte

// allocate makes n bytes of short-lived garbage in 64 KiB pieces.
func allocate(n int) {
	for range n / (64 << 10) {
		sink = make([]byte, 64<<10)
	}
	sink = nil
}

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitForGOGC waits until GOGC is no longer old (the keeper retunes it from
// a cleanup, after the collection), or fails.
func waitForGOGC(t *testing.T, old uint64) uint64 {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if p := gogc(); p != old {
			return p
		}
	}
	t.Fatalf("GOGC still %d after a collection", old)
	return 0
}

func collections() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

func TestAFloorMakesCollectionsRarer(t *testing.T) {
	debug.SetGCPercent(100)
	runtime.GC()
	const garbage = 256 << 20
	before := collections()
	allocate(garbage)
	withoutFloor := collections() - before

	stop := Keep(512 << 20)
	defer stop()
	runtime.GC()
	if p := waitForGOGC(t, 100); p <= 100 {
		t.Fatalf("GOGC %d with a floor far above the live heap, want more than 100", p)
	}
	before = collections()
	allocate(garbage)
	withFloor := collections() - before

	if withoutFloor < 4 {
		// On a machine busy with other work the collector's cycles lag
		// behind the allocation, and few happen whatever the floor.
		t.Skipf("only %d collections without a floor for 256 MiB of garbage: the machine is too busy for the comparison to tell", withoutFloor)
	}
	if withFloor > 1 {
		t.Errorf("%d collections for 256 MiB of garbage under a 512 MiB floor (%d without)", withFloor, withoutFloor)
	}
}

func TestStopRestoresGOGC(t *testing.T) {
	debug.SetGCPercent(150)
	defer debug.SetGCPercent(100)
	stop := Keep(256 << 20)
	runtime.GC()
	waitForGOGC(t, 150)
	stop()
	if p := gogc(); p != 150 {
		t.Fatalf("GOGC %d after stop, want 150 as before", p)
	}
	runtime.GC()
	time.Sleep(50 * time.Millisecond) // a cleanup after stop must not retune
	if p := gogc(); p != 150 {
		t.Fatalf("GOGC %d after a collection after stop, want 150", p)
	}
}

func TestAboveTheFloorGOGCIsTheDefault(t *testing.T) {
	k := newKeeper(1)
	runtime.GC()
	if p := k.percent(); p != defaultPercent {
		t.Fatalf("percent %d with a live heap above the floor, want %d", p, defaultPercent)
	}
}

func TestAFloorBelowTheMinimumHeapChangesNothing(t *testing.T) {
	k := newKeeper(1 << 20) // the runtime's own minimum goal is 4 MiB
	runtime.GC()
	if p := k.percent(); p != defaultPercent {
		t.Fatalf("percent %d under a floor of 1 MiB, want %d: collections would be more frequent than by default", p, defaultPercent)
	}
}

func TestAHugeFloorKeepsTheCollectorOn(t *testing.T) {
	k := newKeeper(1 << 62)
	runtime.GC()
	if p := k.percent(); p <= defaultPercent || p > math.MaxInt32 {
		t.Fatalf("percent %d under a floor of 4 EiB, want above %d and within an int32 (a wrapped value turns the collector off)", p, defaultPercent)
	}
}

func TestAZeroFloorChangesNothing(t *testing.T) {
	debug.SetGCPercent(100)
	stop := Keep(0)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if p := gogc(); p != 100 {
		t.Fatalf("GOGC %d with no floor, want 100", p)
	}
	stop()
}

func TestGOGCFollowsTheLiveHeapFromCycleToCycle(t *testing.T) {
	debug.SetGCPercent(100)
	stop := Keep(64 << 20)
	defer stop()
	runtime.GC()
	raised := waitForGOGC(t, 100)

	live := make([][]byte, 0, 96)
	for range 96 { // 96 MiB live: twice that is above the floor
		live = append(live, make([]byte, 1<<20))
	}
	runtime.GC()
	if p := waitForGOGC(t, raised); p != 100 {
		t.Fatalf("GOGC %d with a live heap above the floor, want 100", p)
	}
	runtime.KeepAlive(live)
	live = nil
	runtime.GC()
	if p := waitForGOGC(t, 100); p <= 100 {
		t.Fatalf("GOGC %d once the live heap shrank below the floor again, want more than 100", p)
	}
}

func TestTheHeapGoalIsTheFloor(t *testing.T) {
	debug.SetGCPercent(100)
	const floor = 64 << 20
	stop := Keep(floor)
	defer stop()
	runtime.GC()
	waitForGOGC(t, 100)
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	if goal := s[0].Value.Uint64(); goal < floor*9/10 || goal > floor*11/10 {
		t.Fatalf("heap goal %d MiB under a floor of %d MiB", goal>>20, floor>>20)
	}
}

// TestACollectionWithoutItsCleanupIsCaughtUp loses every sentinel's cleanup,
// as when a sentinel is allocated while a collection marks: GOGC must still
// follow the live heap.
func TestACollectionWithoutItsCleanupIsCaughtUp(t *testing.T) {
	var kept []*sentinel
	newSentinel = func() *sentinel {
		s := &sentinel{}
		kept = append(kept, s) // reachable: its cleanup never runs
		return s
	}
	defer func() { newSentinel = func() *sentinel { return &sentinel{} } }()
	debug.SetGCPercent(100)
	stop := Keep(64 << 20)
	defer stop()
	runtime.GC()
	raised := waitForGOGC(t, 100)
	if raised <= 100 {
		t.Fatalf("GOGC %d with a floor far above the live heap, want more than 100", raised)
	}
	live := make([][]byte, 0, 96)
	for range 96 {
		live = append(live, make([]byte, 1<<20))
	}
	runtime.GC()
	if p := waitForGOGC(t, raised); p != 100 {
		t.Fatalf("GOGC %d with a live heap above the floor, want 100", p)
	}
	runtime.KeepAlive(live)
}
