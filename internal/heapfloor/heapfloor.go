// Package heapfloor keeps the garbage collector from running more often than
// a heap of a given size needs.
//
// The collector starts a cycle when the heap has grown by GOGC percent (100
// by default) over what the last cycle found live. Tether's live heap is
// small (about 10 MB while it proxies thousands of calls a second), so by
// default it collects every 10 MB allocated: several times a second under
// load, each cycle taking a quarter of the processors for a few
// milliseconds and pausing every goroutine twice. Those cycles made most of
// the proxy's latency tail (docs/performance.md). The work of a cycle
// depends on the live heap, not on the garbage, so letting the heap reach a
// floor before collecting makes the cycles rarer at no cost per cycle: the
// price is memory, up to the floor.
//
// Above the floor nothing changes: the next cycle starts at twice the live
// heap, as with GOGC=100.
package heapfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// defaultPercent is GOGC's default, kept above the floor.
const defaultPercent = 100

// The runtime metrics of the last cycle that set the next one's goal:
// GOGC percent of their sum is added to the live heap.
var goalMetrics = []string{
	"/gc/heap/live:bytes",    // the heap the last cycle found live
	"/gc/scan/stack:bytes",   // the stacks it scanned
	"/gc/scan/globals:bytes", // the globals it scanned
}

// Keep makes every collection start at a heap of at least floor bytes until
// stop is called, which restores GOGC as it was. After each cycle it sets
// GOGC so that the next one starts at max(floor, 2 × the live heap). A floor
// of 0 keeps the collector as it is.
func Keep(floor uint64) (stop func()) {
	if floor == 0 {
		return func() {}
	}
	k := newKeeper(floor)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.previous = k.tune()
	return k.stop
}

// keeper retunes GOGC after each collection.
type keeper struct {
	floor    uint64
	previous int // GOGC before Keep

	mu         sync.Mutex
	stopped    bool
	generation uint64 // of the sentinel armed last
	armedAt    uint64 // collections completed when it was armed
	sample     []metrics.Sample
	cycles     [1]metrics.Sample
}

func newKeeper(floor uint64) *keeper {
	k := &keeper{floor: floor}
	for _, name := range goalMetrics {
		k.sample = append(k.sample, metrics.Sample{Name: name})
	}
	k.cycles[0].Name = "/gc/cycles/total:gc-cycles"
	return k
}

// readCycles returns the number of collections completed.
func (k *keeper) readCycles() uint64 {
	metrics.Read(k.cycles[:])
	return k.cycles[0].Value.Uint64()
}

// sentinel is allocated to die in the next collection: its cleanup is how
// the keeper learns that a cycle ended. It holds a pointer so that it is not
// packed with other small objects (which would keep it alive).
type sentinel struct{ _ *byte }

// newSentinel is replaced by a test to lose a cleanup.
var newSentinel = func() *sentinel { return &sentinel{} }

// The catch-up checks after arming a sentinel: the first after
// firstCatchUp, each following one twice as late, the last one lastCatchUp
// after the one before (2.5 s after arming in all). A collection still
// marking then is not waited for, so that an idle process stays idle.
const (
	firstCatchUp = 10 * time.Millisecond
	lastCatchUp  = 1280 * time.Millisecond
)

// arm allocates a sentinel whose cleanup retunes GOGC and arms the next one.
//
// A sentinel allocated while a collection is marking survives that
// collection (the collector allocates black), so its cleanup comes a cycle
// late. The cycle in between then runs at a goal set for the live heap of
// the cycle before: when the live heap grew meanwhile (at startup, the
// first seconds of load), that goal was twice the floor and more. So arm
// also checks, soon and then less often, whether a collection ended without
// the cleanup, and retunes then.
//
// cycles is the count of collections read before the live heap that set
// GOGC (see tune).
func (k *keeper) arm(cycles uint64) {
	k.generation++
	k.armedAt = cycles
	runtime.AddCleanup(newSentinel(), k.retune, k.generation)
	k.catchUpAfter(k.generation, firstCatchUp)
}

func (k *keeper) catchUpAfter(generation uint64, delay time.Duration) {
	time.AfterFunc(delay, func() { k.catchUp(generation, delay) })
}

// retune sets GOGC for the live heap of the cycle that just ended, unless a
// catch-up did already.
func (k *keeper) retune(generation uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || generation != k.generation {
		return
	}
	k.tune()
}

// catchUp retunes if a collection ended since the sentinel of generation was
// armed and its cleanup has not run, and otherwise checks again later, up
// to lastCatchUp.
func (k *keeper) catchUp(generation uint64, delay time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || generation != k.generation {
		return
	}
	if k.readCycles() > k.armedAt {
		k.tune()
		return
	}
	if delay < lastCatchUp {
		k.catchUpAfter(generation, 2*delay)
	}
}

// tune sets GOGC for the last cycle's live heap, arms the next sentinel and
// returns GOGC as it was.
// The cycles are counted before the live heap is read: metrics.Read is no
// snapshot, and a cycle that ends between the reads must leave armedAt
// older than the live heap, not newer (a catch-up would miss that cycle).
func (k *keeper) tune() (previous int) {
	cycles := k.readCycles()
	previous = debug.SetGCPercent(k.percent())
	k.arm(cycles)
	return previous
}

// percent is the GOGC that starts the next cycle at the floor, or GOGC's
// default once its goal is above the floor. The runtime's goal is the live
// heap plus GOGC percent of the live heap, the stacks and the globals, and
// never below minimumHeap × GOGC / 100: left out, either made the goal
// several times the floor for a small live heap.
//
// A floor at or below the minimum heap changes nothing, and GOGC stays
// within what debug.SetGCPercent takes (an int32: a larger value wraps and
// turns the collector off).
func (k *keeper) percent() int {
	metrics.Read(k.sample)
	live := k.sample[0].Value.Uint64()
	scanned := live + k.sample[1].Value.Uint64() + k.sample[2].Value.Uint64()
	if live == 0 || k.floor <= minimumHeap || live+scanned*defaultPercent/100 >= k.floor {
		return defaultPercent
	}
	// In floating point: floor × 100 may not fit in 64 bits.
	p := min(float64(k.floor-live)*100/float64(scanned), float64(k.floor)*100/minimumHeap, math.MaxInt32)
	return int(p)
}

// minimumHeap is the runtime's smallest heap goal at GOGC=100; it scales
// with GOGC.
const minimumHeap = 4 << 20

func (k *keeper) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.stopped = true
		debug.SetGCPercent(k.previous)
	}
}
