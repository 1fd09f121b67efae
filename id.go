package tether

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
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
// pagination a plain range scan.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// HasPrefix reports whether id is shaped like an ID with the given prefix.
func HasPrefix(id, prefix string) bool {
	return strings.HasPrefix(id, prefix) && len(id) == len(prefix)+idLen
}
