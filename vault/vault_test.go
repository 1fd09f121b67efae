package vault_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetherhq/tether"
	"github.com/tetherhq/tether/vault"
)

const secret = "sk_live_very-secret-value-123"

func newKey(t *testing.T) []byte {
	t.Helper()
	key, err := vault.ParseMasterKey(vault.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newVault(t *testing.T, current []byte, previous ...[]byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func seal(t *testing.T, v *vault.Vault, connID string) tether.SealedCredentials {
	t.Helper()
	s, err := v.Seal(connID, tether.Credentials{"subdomain": "acme", "api_key": secret})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	v := newVault(t, newKey(t))
	s := seal(t, v, "conn_1")
	if s.KeyID != v.KeyID() || len(s.KeyID) != 16 {
		t.Fatalf("key id = %q, want the current key id %q", s.KeyID, v.KeyID())
	}
	got, err := v.Open("conn_1", s)
	if err != nil {
		t.Fatal(err)
	}
	if got["api_key"] != secret || got["subdomain"] != "acme" || len(got) != 2 {
		t.Fatalf("opened %v", got)
	}
}

func TestSealNilCredentialsOpensEmpty(t *testing.T) {
	v := newVault(t, newKey(t))
	s, err := v.Seal("conn_1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Open("conn_1", s)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Open = %v, %v; want an empty map", got, err)
	}
}

func TestSealedBytesDoNotContainPlaintext(t *testing.T) {
	v := newVault(t, newKey(t))
	s := seal(t, v, "conn_1")
	if bytes.Contains(s.Ciphertext, []byte(secret)) || bytes.Contains(s.Ciphertext, []byte("api_key")) {
		t.Fatal("ciphertext contains plaintext")
	}
	// A fresh nonce per seal: the same credentials never give the same bytes.
	if again := seal(t, v, "conn_1"); bytes.Equal(again.Ciphertext, s.Ciphertext) {
		t.Fatal("two seals gave identical ciphertexts")
	}
}

func TestMovedCiphertextDoesNotOpen(t *testing.T) {
	v := newVault(t, newKey(t))
	s := seal(t, v, "conn_1")
	_, err := v.Open("conn_2", s)
	wantOpenError(t, err, "cannot open credentials of conn_2: wrong master key or they belong to another connection")
}

func TestTamperedCiphertextDoesNotOpen(t *testing.T) {
	v := newVault(t, newKey(t))
	s := seal(t, v, "conn_1")
	for _, i := range []int{0, 5, len(s.Ciphertext) - 1} {
		tampered := bytes.Clone(s.Ciphertext)
		tampered[i] ^= 0x01
		_, err := v.Open("conn_1", tether.SealedCredentials{KeyID: s.KeyID, Ciphertext: tampered})
		if !errors.Is(err, vault.ErrCannotOpen) {
			t.Fatalf("byte %d flipped: err = %v, want ErrCannotOpen", i, err)
		}
	}
	_, err := v.Open("conn_1", tether.SealedCredentials{KeyID: s.KeyID, Ciphertext: s.Ciphertext[:10]})
	if !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("truncated: err = %v, want ErrCannotOpen", err)
	}
}

func TestWrongKeyFailsClearly(t *testing.T) {
	s := seal(t, newVault(t, newKey(t)), "conn_1")
	other := newVault(t, newKey(t))
	_, err := other.Open("conn_1", s)
	if !errors.Is(err, vault.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	for _, want := range []string{"conn_1", s.KeyID, "TETHER_MASTER_KEY", "wrong or missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// A key id that matches but a different key behind it (e.g. a forged id)
	// fails authentication instead.
	forged := tether.SealedCredentials{KeyID: other.KeyID(), Ciphertext: s.Ciphertext}
	_, err = other.Open("conn_1", forged)
	wantOpenError(t, err, "cannot open credentials of conn_1: wrong master key or they belong to another connection")
}

func TestRotation(t *testing.T) {
	oldKey, newKeyBytes := newKey(t), newKey(t)
	old := newVault(t, oldKey)
	sealedOld := seal(t, old, "conn_1")
	if old.NeedsRotation(sealedOld) {
		t.Fatal("freshly sealed credentials need rotation")
	}

	rotated := newVault(t, newKeyBytes, oldKey)
	if !rotated.NeedsRotation(sealedOld) {
		t.Fatal("credentials sealed with the previous key do not need rotation")
	}
	got, err := rotated.Open("conn_1", sealedOld)
	if err != nil || got["api_key"] != secret {
		t.Fatalf("previous key does not open: %v, %v", got, err)
	}
	resealed, err := rotated.Seal("conn_1", got)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.NeedsRotation(resealed) || resealed.KeyID != vault.KeyID(newKeyBytes) {
		t.Fatalf("resealed with key %q, want the current key", resealed.KeyID)
	}
	// Once the old key is dropped, only the resealed copy opens.
	newOnly := newVault(t, newKeyBytes)
	if _, err := newOnly.Open("conn_1", resealed); err != nil {
		t.Fatal(err)
	}
	if _, err := newOnly.Open("conn_1", sealedOld); !errors.Is(err, vault.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	if _, err := vault.New(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "got 16 bytes") {
		t.Fatalf("short current key: err = %v", err)
	}
	if _, err := vault.New(newKey(t), make([]byte, 31)); err == nil || !strings.Contains(err.Error(), "previous master key 1") {
		t.Fatalf("short previous key: err = %v", err)
	}
}

func TestKeyIDIsStableAndDistinct(t *testing.T) {
	a, b := newKey(t), newKey(t)
	if vault.KeyID(a) != vault.KeyID(bytes.Clone(a)) {
		t.Fatal("key id is not stable")
	}
	if vault.KeyID(a) == vault.KeyID(b) {
		t.Fatal("two keys share an id")
	}
	if strings.Contains(base64.StdEncoding.EncodeToString(a), vault.KeyID(a)) {
		t.Fatal("key id reveals the key")
	}
}

func TestParseMasterKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	encoded := base64.StdEncoding.EncodeToString(raw)

	got, err := vault.ParseMasterKey("  " + encoded + "\n")
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("ParseMasterKey = %x, %v", got, err)
	}

	short := base64.StdEncoding.EncodeToString(raw[:16])
	cases := map[string]string{
		"":                       "TETHER_MASTER_KEY is empty",
		short:                    "TETHER_MASTER_KEY must be standard base64 of 32 bytes; got 16 bytes",
		"not base64!":            "not valid standard base64",
		encoded[:len(encoded)-1]: "not valid standard base64", // padding stripped
	}
	for in, want := range cases {
		_, err := vault.ParseMasterKey(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMasterKey(%q) = %v, want an error containing %q", in, err, want)
		}
		if err != nil && in != "" && strings.Contains(err.Error(), strings.TrimSpace(in)) {
			t.Errorf("error %q quotes the key", err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")

	key, created, err := vault.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(key) != vault.KeySize {
		t.Fatalf("first call: %d bytes, created %v, %v", len(key), created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode = %o, want 600", perm)
	}

	again, created, err := vault.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second call: created %v, same key %v, %v", created, bytes.Equal(again, key), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateKeyFileConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, _, err := vault.LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("concurrent starts ended with different keys")
		}
	}
}

func TestLoadOrCreateKeyFileRejectsBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := vault.LoadOrCreateKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "got 5 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func wantOpenError(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, vault.ErrCannotOpen) {
		t.Fatalf("err = %v, want ErrCannotOpen", err)
	}
	if err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("error leaks the secret")
	}
}
