package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tetherhq/tether/internal/sqlstore"
)

// A panic or a driver.ErrBadConn in a bulk load under an open transaction
// comes back to the caller at once (database/sql's Conn.Raw alone would
// wait for the transaction to end, which only the caller can do).
func TestRawInTxDoesNotHangOnABrokenLoad(t *testing.T) {
	for name, load := range map[string]func(any) error{
		"panic":      func(any) error { panic("the load broke") },
		"ErrBadConn": func(any) error { return driver.ErrBadConn },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "raw.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			type outcome struct {
				err      error
				panicked any
			}
			done := make(chan outcome, 1)
			go func() {
				var o outcome
				defer func() {
					o.panicked = recover()
					done <- o
				}()
				o.err = sqlstore.RawInTx(conn, load)
			}()
			select {
			case o := <-done:
				switch {
				case name == "panic" && o.panicked == nil:
					t.Errorf("the panic was swallowed (err %v)", o.err)
				case name == "ErrBadConn" && (o.err == nil || errors.Is(o.err, driver.ErrBadConn)):
					t.Errorf("err = %v, want an error that is not driver.ErrBadConn", o.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("RawInTx still waiting 5 s after the load broke")
			}
			_ = tx.Rollback()
		})
	}
}
