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
	if _, ok, _ := c.get("con_1", now); ok {
		t.Fatal("a target read before a write committed was kept")
	}
	c.put(tether.CallTarget{ConnectionID: "con_1", State: tether.StatePaused}, c.begin(), now)
	if got, ok, _ := c.get("con_1", now); !ok || got.State != tether.StatePaused {
		t.Fatalf("get = %+v, %v; want the paused target", got, ok)
	}
}

func TestTargetsExpire(t *testing.T) {
	var c targetCache
	now := time.Now()
	c.put(tether.CallTarget{ConnectionID: "con_1"}, c.begin(), now)
	if _, ok, _ := c.get("con_1", now.Add(callTargetTTL/2)); !ok {
		t.Error("a target was dropped before its time")
	}
	if _, ok, _ := c.get("con_1", now.Add(callTargetTTL+time.Millisecond)); ok {
		t.Error("a target was kept past callTargetTTL")
	}
}

// A target targetRefreshAge old is read again by one caller, in the background,
// while every caller keeps using it; a failed read drops it.
func TestTargetsAreReadAgainBeforeTheyExpire(t *testing.T) {
	var c targetCache
	now := time.Now()
	c.put(tether.CallTarget{ConnectionID: "con_1"}, c.begin(), now)
	if _, ok, refresh := c.get("con_1", now.Add(targetRefreshAge-time.Millisecond)); !ok || refresh {
		t.Fatalf("before targetRefreshAge: ok %v, refresh %v; want the target, no refresh", ok, refresh)
	}
	due := now.Add(targetRefreshAge + time.Millisecond)
	if _, ok, refresh := c.get("con_1", due); !ok || !refresh {
		t.Fatalf("past targetRefreshAge: ok %v, refresh %v; want the target and a refresh", ok, refresh)
	}
	if _, ok, refresh := c.get("con_1", due); !ok || refresh {
		t.Fatalf("while a refresh is under way: ok %v, refresh %v; want the target, no second refresh", ok, refresh)
	}
	c.put(tether.CallTarget{ConnectionID: "con_1", State: tether.StatePaused}, c.begin(), due)
	if got, _, refresh := c.get("con_1", due.Add(targetRefreshAge/2)); got.State != tether.StatePaused || refresh {
		t.Fatalf("after the refresh: %+v, refresh %v; want the new target, no refresh", got, refresh)
	}
	if _, _, refresh := c.get("con_1", due.Add(targetRefreshAge+time.Millisecond)); !refresh {
		t.Fatal("the refreshed target was not due again targetRefreshAge later")
	}
	c.refreshFailed("con_1")
	if _, ok, _ := c.get("con_1", due); ok {
		t.Fatal("a target whose refresh failed was kept")
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
