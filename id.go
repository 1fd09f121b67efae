package tether

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ID prefixes: every ID is prefixed and opaque (API.md "Conventions").
const (
	PrefixConnection = "conn_"
	PrefixError      = "err_"
	PrefixCall       = "call_"
	PrefixEvent      = "evt_"
	PrefixWebhook    = "whk_"
	PrefixDelivery   = "dlv_"
	PrefixLink       = "lnk_"
	PrefixAPIKey     = "key_"
)

// idEncoding is Crockford's base32 alphabet, whose order matches byte order, so
// IDs sort by their leading timestamp when compared as strings.
var idEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

const idLen = 26 // 16 bytes in base32

// NewID returns prefix followed by 26 characters: a 48-bit millisecond
// timestamp and 80 random bits (ULID-like). IDs sort by creation time as
// strings, which keeps primary-key indexes append-mostly and makes cursor
// pagination a plain range scan. Within one process they are strictly
// increasing: in the same millisecond the random part is incremented.
func NewID(prefix string) string {
	return prefix + idEncoding.EncodeToString(nextIDBytes())
}

var idState struct {
	sync.Mutex
	last [16]byte
}

func nextIDBytes() []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	idState.Lock()
	defer idState.Unlock()
	if string(b[:6]) <= string(idState.last[:6]) {
		b = idState.last
		for i := 15; i >= 6; i-- { // increment the random part
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		_, _ = rand.Read(b[6:])
	}
	idState.last = b
	return b[:]
}

// HasPrefix reports whether id is shaped like an ID with the given prefix.
func HasPrefix(id, prefix string) bool {
	return strings.HasPrefix(id, prefix) && len(id) == len(prefix)+idLen
}
