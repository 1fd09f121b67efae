package proxy

import (
	"bytes"
	"sync"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

// Opening a connection's credentials (the vault's decryption) and preparing
// their redaction took a fifth of the proxy's own time per request. The
// proxy keeps what it opened for openedTTL, for the same sealed bytes only:
// credentials replaced meanwhile (a reinstall, a token refresh) come with
// other sealed bytes and are opened anew. Plaintext credentials stay in the
// cache no longer than about twice that: an expired entry is dropped when
// its connection is called again, or by the next put's sweep.
const (
	openedTTL = time.Second
	// maxOpened bounds the cache; past it, it starts over.
	maxOpened = 10_000
)

// opened is a connection's credentials as the proxy uses them.
type opened struct {
	sealed   tether.SealedCredentials // what they were opened from
	creds    tether.Credentials
	redactor *outbound.Redactor
	expires  time.Time
}

type openedCache struct {
	mu           sync.Mutex
	byConnection map[string]opened
	nextSweep    time.Time
}

// get returns the credentials opened from sealed for connectionID, if kept.
func (c *openedCache) get(connectionID string, sealed tether.SealedCredentials, now time.Time) (opened, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.byConnection[connectionID]
	if ok && now.After(o.expires) {
		delete(c.byConnection, connectionID)
		return opened{}, false
	}
	if !ok || o.sealed.KeyID != sealed.KeyID || !bytes.Equal(o.sealed.Ciphertext, sealed.Ciphertext) {
		return opened{}, false
	}
	return o, true
}

// put keeps o for openedTTL. At most once per openedTTL it also drops every
// expired entry, so that the credentials of a connection no longer called do
// not stay in memory.
func (c *openedCache) put(connectionID string, o opened, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byConnection == nil || len(c.byConnection) >= maxOpened {
		c.byConnection = make(map[string]opened)
	}
	if now.After(c.nextSweep) {
		for id, kept := range c.byConnection {
			if now.After(kept.expires) {
				delete(c.byConnection, id)
			}
		}
		c.nextSweep = now.Add(openedTTL)
	}
	o.expires = now.Add(openedTTL)
	c.byConnection[connectionID] = o
}
