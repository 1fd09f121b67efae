package tether

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// APIKeyPrefix starts every API key secret, so leaked keys are easy to
// recognise (and to scan for).
const APIKeyPrefix = "tether_"

// APIKey is a management API key. The secret is shown once, at creation; only
// its SHA-256 hash is stored (the secret has 256 random bits, so a slow hash
// adds nothing).
type APIKey struct {
	ID   string `json:"key_id"`
	Name string `json:"name"`
	// Hint is the last four characters of the secret, to tell keys apart.
	Hint      string `json:"hint"`
	Hash      []byte `json:"-"`
	CreatedAt Time   `json:"created_at"`
	RevokedAt *Time  `json:"revoked_at"`
}

// NewAPIKey makes a key named name and returns it with its secret.
func NewAPIKey(name string) (*APIKey, string) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	return &APIKey{
		ID:        NewID(PrefixAPIKey),
		Name:      name,
		Hint:      secret[len(secret)-4:],
		Hash:      HashAPIKey(secret),
		CreatedAt: Now(),
	}, secret
}

// APIKeyFromSecret builds the key record for a secret chosen elsewhere (the
// bootstrap key from the environment).
func APIKeyFromSecret(name, secret string) *APIKey {
	return &APIKey{
		ID:        NewID(PrefixAPIKey),
		Name:      name,
		Hint:      secret[max(0, len(secret)-4):],
		Hash:      HashAPIKey(secret),
		CreatedAt: Now(),
	}
}

// HashAPIKey returns the stored form of a key secret.
func HashAPIKey(secret string) []byte {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return sum[:]
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// CreateFirstAPIKey saves k only if no key was ever created, and reports
	// whether it did; safe when several instances start at once.
	CreateFirstAPIKey(ctx context.Context, k *APIKey) (bool, error)
	APIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey marks a key revoked; ENOTFOUND if there is none.
	RevokeAPIKey(ctx context.Context, id string) error
	// APIKeyByHash returns the unrevoked key with that hash, or ENOTFOUND.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
}
