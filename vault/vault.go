// Package vault seals connection credentials with AES-256-GCM under a master
// key, binding each ciphertext to its connection id. It implements
// tether.Vault and supports key rotation: it seals with the current key and
// opens with any configured key, found by the key id stored beside the
// ciphertext.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tetherhq/tether"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

// Labels that separate what the master key is used for: the AES key and the
// key id are both derived from the master key, never the master key itself, so
// the same master key can later seal other things without key reuse.
const (
	credentialsKeyLabel = "tether credentials aes-256-gcm v1"
	keyIDLabel          = "tether key id v1"
)

// formatV1 is the first byte of every ciphertext, so the layout
// (version | nonce | sealed box) can change later without guessing.
const formatV1 byte = 1

var (
	// ErrUnknownKey means the credentials were sealed with a master key that
	// is not configured.
	ErrUnknownKey = errors.New("sealed with a master key that is not configured")
	// ErrCannotOpen means decryption failed: a wrong key, credentials moved
	// from another connection, or a damaged ciphertext.
	ErrCannotOpen = errors.New("cannot open credentials")
)

// Vault seals and opens credentials. It is safe for concurrent use.
type Vault struct {
	current *sealingKey
	byID    map[string]*sealingKey
}

// sealingKey is one master key, ready to use.
type sealingKey struct {
	id   string
	aead cipher.AEAD
}

var _ tether.Vault = (*Vault)(nil)

// New returns a vault that seals with current and opens credentials sealed
// with current or any of the previous keys (key rotation: configure the new
// key as current and the old one as previous, then reseal what NeedsRotation
// reports).
func New(current []byte, previous ...[]byte) (*Vault, error) {
	cur, err := newSealingKey(current)
	if err != nil {
		return nil, fmt.Errorf("current master key: %w", err)
	}
	v := &Vault{current: cur, byID: map[string]*sealingKey{cur.id: cur}}
	for i, raw := range previous {
		k, err := newSealingKey(raw)
		if err != nil {
			return nil, fmt.Errorf("previous master key %d: %w", i+1, err)
		}
		v.byID[k.id] = k
	}
	return v, nil
}

func newSealingKey(master []byte) (*sealingKey, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("a master key must be %d bytes; got %d bytes", KeySize, len(master))
	}
	aesKey, err := hkdf.Key(sha256.New, master, nil, credentialsKeyLabel, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive credentials key: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return &sealingKey{id: KeyID(master), aead: aead}, nil
}

// KeyID returns the stable, public identifier of a master key: the first 8
// bytes of SHA-256 over a fixed label and the key, in hex. It names the key in
// stored credentials and messages without revealing anything about it.
func KeyID(master []byte) string {
	h := sha256.New()
	h.Write([]byte(keyIDLabel))
	h.Write(master)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// KeyID returns the id of the current key, the one Seal uses.
func (v *Vault) KeyID() string { return v.current.id }

// Seal encrypts c for the connection connectionID with the current key.
func (v *Vault) Seal(connectionID string, c tether.Credentials) (tether.SealedCredentials, error) {
	if c == nil {
		c = tether.Credentials{}
	}
	plaintext, err := json.Marshal(c)
	if err != nil {
		return tether.SealedCredentials{}, fmt.Errorf("encode credentials: %w", err)
	}
	defer clear(plaintext)

	aead := v.current.aead
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return tether.SealedCredentials{}, fmt.Errorf("read nonce: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+aead.Overhead())
	out = append(out, formatV1)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plaintext, []byte(connectionID))
	return tether.SealedCredentials{KeyID: v.current.id, Ciphertext: out}, nil
}

// Open decrypts credentials sealed for connectionID. It fails when the key
// that sealed them is not configured, or when they were sealed for another
// connection, with another key, or were altered.
func (v *Vault) Open(connectionID string, s tether.SealedCredentials) (tether.Credentials, error) {
	k, ok := v.byID[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("cannot open credentials of %s: %w (key id %q): the master key (TETHER_MASTER_KEY) is wrong or missing, or the key that sealed them was removed from the previous keys",
			connectionID, ErrUnknownKey, s.KeyID)
	}
	plaintext, err := k.open(connectionID, s.Ciphertext)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)

	var c tether.Credentials
	if err := json.Unmarshal(plaintext, &c); err != nil {
		// Never wrap the JSON error: it could quote the plaintext.
		return nil, fmt.Errorf("%w of %s: the decrypted data is not a credentials object", ErrCannotOpen, connectionID)
	}
	if c == nil {
		c = tether.Credentials{}
	}
	return c, nil
}

func (k *sealingKey) open(connectionID string, ciphertext []byte) ([]byte, error) {
	nonceSize := k.aead.NonceSize()
	if len(ciphertext) < 1+nonceSize+k.aead.Overhead() || ciphertext[0] != formatV1 {
		return nil, fmt.Errorf("%w of %s: the sealed data is damaged or in an unknown format", ErrCannotOpen, connectionID)
	}
	nonce := ciphertext[1 : 1+nonceSize]
	box := ciphertext[1+nonceSize:]
	plaintext, err := k.aead.Open(nil, nonce, box, []byte(connectionID))
	if err != nil {
		return nil, fmt.Errorf("%w of %s: wrong master key or they belong to another connection", ErrCannotOpen, connectionID)
	}
	return plaintext, nil
}

// NeedsRotation reports whether s was sealed with a key other than the
// current one, so it should be opened and sealed again.
func (v *Vault) NeedsRotation(s tether.SealedCredentials) bool {
	return s.KeyID != v.current.id
}
