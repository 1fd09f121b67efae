package sqlstore

import (
	"fmt"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// A target read while a write committed is not kept: it may be the old one.
func TestTargetReadDuringAWriteIsNotKept(t *testing.T) {
	var c targetCache
	now := time.Now()
	generation := c.begin()
	c.invalidate("con_1") // a write commits while the target is being read
	c.put(tether.CallTarget{ConnectionID: "con_1", State: tether.StateActive}, generation, now)
	if _, ok := c.get("con_1", now); ok {
		t.Fatal("a target read before a write committed was kept")
	}
	c.put(tether.CallTarget{ConnectionID: "con_1", State: tether.StatePaused}, c.begin(), now)
	if got, ok := c.get("con_1", now); !ok || got.State != tether.StatePaused {
		t.Fatalf("get = %+v, %v; want the paused target", got, ok)
	}
}

func TestTargetsExpire(t *testing.T) {
	var c targetCache
	now := time.Now()
	c.put(tether.CallTarget{ConnectionID: "con_1"}, c.begin(), now)
	if _, ok := c.get("con_1", now.Add(callTargetTTL/2)); !ok {
		t.Error("a target was dropped before its time")
	}
	if _, ok := c.get("con_1", now.Add(callTargetTTL+time.Millisecond)); ok {
		t.Error("a target was kept past callTargetTTL")
	}
}

func TestTargetCacheIsBounded(t *testing.T) {
	var c targetCache
	now := time.Now()
	for i := range 3 * maxCallTargets {
		c.put(tether.CallTarget{ConnectionID: fmt.Sprint("con_", i)}, c.begin(), now)
		if len(c.targets) > maxCallTargets {
			t.Fatalf("%d targets held, want at most %d", len(c.targets), maxCallTargets)
		}
	}
}
