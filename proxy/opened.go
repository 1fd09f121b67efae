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
// other sealed bytes and are opened anew. Plaintext credentials stay in
// this process's memory no longer than that, as during the request itself.
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
}

// get returns the credentials opened from sealed for connectionID, if kept.
func (c *openedCache) get(connectionID string, sealed tether.SealedCredentials, now time.Time) (opened, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.byConnection[connectionID]
	if !ok || now.After(o.expires) || o.sealed.KeyID != sealed.KeyID || !bytes.Equal(o.sealed.Ciphertext, sealed.Ciphertext) {
		return opened{}, false
	}
	return o, true
}

func (c *openedCache) put(connectionID string, o opened, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byConnection == nil || len(c.byConnection) >= maxOpened {
		c.byConnection = make(map[string]opened)
	}
	o.expires = now.Add(openedTTL)
	c.byConnection[connectionID] = o
}
