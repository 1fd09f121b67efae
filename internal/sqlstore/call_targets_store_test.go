package sqlstore_test

import (
	"context"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/sqlstore"
)

// A call target in use is read again in the background before it expires:
// a change the store did not make itself (another instance's) reaches it
// although no request waited for the database.
func TestCallTargetsInUseAreReadAgainInTheBackground(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			c := newConnection("cus_refresh")
			if err := s.CreateConnection(ctx, c, tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("sealed")}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.CallTarget(ctx, c.ID); err != nil || got.State != tether.StateActive {
				t.Fatalf("CallTarget = %+v, %v; want the active target", got, err)
			}
			// Another instance pauses the connection: this store's cache
			// is not told.
			if _, err := s.DB().ExecContext(ctx, `UPDATE connections SET state = 'paused' WHERE id = $1`, c.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.CallTarget(ctx, c.ID); got.State != tether.StateActive {
				t.Fatalf("a fresh target was read again: %+v", got)
			}
			s.MakeCallTargetsDue()
			if got, _ := s.CallTarget(ctx, c.ID); got.State != tether.StateActive {
				t.Fatalf("the request that found the target due waited for it to be read: %+v", got)
			}
			// Only the background read can change what is kept: nothing
			// below reads the database.
			eventually(t, "the target read again in the background", func() bool {
				kept, ok := s.KeptCallTarget(c.ID)
				return ok && kept.State == tether.StatePaused
			})
		})
	}
}

// A target whose background read finds the connection gone is dropped, so
// the next request learns that it is gone.
func TestCallTargetOfAConnectionDeletedElsewhereIsDropped(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	c := newConnection("cus_gone")
	if err := s.CreateConnection(ctx, c, tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CallTarget(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM credentials WHERE connection_id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	s.MakeCallTargetsDue()
	if _, err := s.CallTarget(ctx, c.ID); err != nil {
		t.Fatalf("the request that found the target due: %v", err)
	}
	eventually(t, "the target dropped", func() bool {
		_, ok := s.KeptCallTarget(c.ID)
		return !ok
	})
	if _, err := s.CallTarget(ctx, c.ID); !tether.IsNotFound(err) {
		t.Fatalf("CallTarget = %v; want not found", err)
	}
}

// eventually polls done until it holds, failing the test after 10 s.
func eventually(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
