package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Scopes a key may hold; each resource endpoint needs one.
const (
	ScopeOrders    = "orders:read"
	ScopeInventory = "inventory:read"
	ScopeReturns   = "returns:read"
)

// defaultAccountID is the account used when a caller names none.
const defaultAccountID = "acct_demo"

// allScopes lists every scope, in the order answers show them.
func allScopes() []string {
	return []string{ScopeOrders, ScopeInventory, ScopeReturns}
}

func accountOrDefault(id string) string {
	if id == "" {
		return defaultAccountID
	}
	return id
}

// apiKey is what a key secret grants.
type apiKey struct {
	accountID string
	// scopes is deduplicated, in allScopes order. It is replaced, never
	// modified in place, so a copy taken under the lock stays valid.
	scopes []string
}

// CreateKey makes a new key for the account (created and seeded on first
// use; "" means "acct_demo") and returns its secret, "sk_test_" followed by
// random hex. No scopes means all scopes. It panics on an unknown scope,
// which is a bug in the caller.
func (s *Sandbox) CreateKey(accountID string, scopes ...string) string {
	if len(scopes) == 0 {
		scopes = allScopes()
	}
	return s.createKey(accountID, mustNormalizeScopes(scopes))
}

// RevokeKey makes the key invalid from the next request on. Unknown keys
// are ignored.
func (s *Sandbox) RevokeKey(key string) {
	s.revokeKey(key)
}

// SetScopes replaces the key's scopes; no scopes leaves it able to call only
// /api/me and /api/ping. Unknown keys are ignored. It panics on an unknown
// scope, which is a bug in the caller.
func (s *Sandbox) SetScopes(key string, scopes ...string) {
	s.setScopes(key, mustNormalizeScopes(scopes))
}

// createKey stores a key for already normalized scopes.
func (s *Sandbox) createKey(accountID string, scopes []string) string {
	acct := s.account(accountID)
	secret := newKeySecret()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[secret] = &apiKey{accountID: acct.id, scopes: scopes}
	return secret
}

// revokeKey reports whether the key existed.
func (s *Sandbox) revokeKey(secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[secret]
	delete(s.keys, secret)
	return ok
}

// setScopes returns the updated key, or false if there is no such key.
func (s *Sandbox) setScopes(secret string, scopes []string) (apiKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.keys[secret]
	if !ok {
		return apiKey{}, false
	}
	key.scopes = scopes
	return *key, true
}

func newKeySecret() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	return "sk_test_" + hex.EncodeToString(b[:])
}

// normalizeScopes deduplicates scopes and puts them in allScopes order. The
// result is never nil, so it encodes as [] rather than null.
func normalizeScopes(scopes []string) ([]string, error) {
	known := allScopes()
	for _, scope := range scopes {
		if !slices.Contains(known, scope) {
			return nil, fmt.Errorf("unknown scope %q (known scopes: %s)", scope, strings.Join(known, ", "))
		}
	}
	normalized := make([]string, 0, len(known))
	for _, scope := range known {
		if slices.Contains(scopes, scope) {
			normalized = append(normalized, scope)
		}
	}
	return normalized, nil
}

func mustNormalizeScopes(scopes []string) []string {
	normalized, err := normalizeScopes(scopes)
	if err != nil {
		panic("sandbox: " + err.Error())
	}
	return normalized
}

// caller is who a provider request comes from, resolved from its API key.
type caller struct {
	key     apiKey
	account *account
}

// callerHandler is a provider endpoint that runs only for a valid key.
type callerHandler func(w http.ResponseWriter, r *http.Request, c caller)

// authenticate resolves the request's X-Api-Key header.
func (s *Sandbox) authenticate(r *http.Request) (caller, bool) {
	secret := r.Header.Get("X-Api-Key")
	if secret == "" {
		return caller{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	key, ok := s.keys[secret]
	if !ok {
		return caller{}, false
	}
	return caller{key: *key, account: s.accounts[key.accountID]}, true
}

// withKey answers 401 unless the request carries a valid key.
func (s *Sandbox) withKey(h callerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authenticate(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "invalid_api_key", "The API key is invalid or has been revoked.")
			return
		}
		h(w, r, c)
	}
}

// withScope answers 401 without a valid key and 403 when the key lacks scope.
func (s *Sandbox) withScope(scope string, h callerHandler) http.HandlerFunc {
	return s.withKey(func(w http.ResponseWriter, r *http.Request, c caller) {
		if !slices.Contains(c.key.scopes, scope) {
			writeError(w, http.StatusForbidden, "insufficient_scope", "The API key lacks the "+scope+" scope.")
			return
		}
		h(w, r, c)
	})
}
