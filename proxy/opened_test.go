package proxy

import (
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

func TestOpenedCredentialsAreKeptForTheSameSealedBytesOnly(t *testing.T) {
	var c openedCache
	now := time.Now()
	sealed := tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("sealed-1")}
	c.put("con_1", opened{sealed: sealed, creds: tether.Credentials{"api_key": "one"}}, now)

	if o, ok := c.get("con_1", tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("sealed-1")}, now); !ok || o.creds["api_key"] != "one" {
		t.Errorf("get with the same sealed bytes = %v, %v; want the kept credentials", o.creds, ok)
	}
	if _, ok := c.get("con_1", tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("sealed-2")}, now); ok {
		t.Error("credentials kept for other sealed bytes (replaced credentials) were returned")
	}
	if _, ok := c.get("con_1", tether.SealedCredentials{KeyID: "k2", Ciphertext: []byte("sealed-1")}, now); ok {
		t.Error("credentials kept for another key id were returned")
	}
	if _, ok := c.get("con_1", sealed, now.Add(openedTTL+time.Millisecond)); ok {
		t.Error("credentials were kept past openedTTL")
	}
	if _, ok := c.get("con_2", sealed, now); ok {
		t.Error("another connection's credentials were returned")
	}
}

// Credentials of a connection that is no longer called do not stay in memory.
func TestOpenedCredentialsOfIdleConnectionsAreDropped(t *testing.T) {
	var c openedCache
	now := time.Now()
	sealed := tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("sealed-1")}
	c.put("con_idle", opened{sealed: sealed, creds: tether.Credentials{"api_key": "one"}}, now)
	later := now.Add(2*openedTTL + time.Millisecond)
	c.put("con_busy", opened{sealed: sealed}, later)
	if _, kept := c.byConnection["con_idle"]; kept {
		t.Error("the opened credentials of a connection idle for twice openedTTL are still in memory")
	}
}
