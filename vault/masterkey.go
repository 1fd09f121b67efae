package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParseMasterKey decodes a master key given as standard base64 of KeySize
// bytes. Surrounding whitespace is ignored, so a key read from a file (the
// _FILE variants) may end with a newline. Errors never include the key.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("TETHER_MASTER_KEY is empty: it must be standard base64 of 32 random bytes (generate one with `openssl rand -base64 32`)")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("TETHER_MASTER_KEY must be standard base64 of 32 bytes; it is not valid standard base64")
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("TETHER_MASTER_KEY must be standard base64 of %d bytes; got %d bytes", KeySize, len(key))
	}
	return key, nil
}

// GenerateMasterKey returns a new random master key, encoded as
// ParseMasterKey expects.
func GenerateMasterKey() string {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it panics instead)
	defer clear(key)
	return base64.StdEncoding.EncodeToString(key)
}

// LoadOrCreateKeyFile reads the master key kept in the file at path, or, when
// there is none, generates one and writes it there with mode 0600 (the SQLite
// dev mode, where no key is configured). Creation is atomic: the file appears
// complete or not at all, and when several processes start at once they all
// end up with the key of the first one that created it.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	created, err = createKeyFile(path, GenerateMasterKey())
	if err != nil {
		return nil, false, err
	}
	key, err = readKeyFile(path)
	return key, created, err
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(b)
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes encoded to a temporary file in the same directory, then
// hard-links it to path. Unlike a rename, a link never replaces an existing
// file, so a key another process created meanwhile is kept (created is false
// then): replacing it would make everything sealed with it unreadable.
func createKeyFile(path, encoded string) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create master key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master-key-*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())

	if err := writeAndSync(tmp, encoded+"\n"); err != nil {
		return false, fmt.Errorf("write master key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("create master key file: %w", err)
	}
	syncDir(dir)
	return true, nil
}

func writeAndSync(f *os.File, content string) error {
	_, err := f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// syncDir makes the new directory entry durable where the platform allows it;
// failing to is not worth failing start-up for.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
