package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime/debug"
)

// RawInTx runs f on the driver's connection under the transaction open on
// conn (a bulk load the transaction is to commit). database/sql's Conn.Raw
// closes the connection when f panics or returns driver.ErrBadConn, and
// closing waits for the open transaction, which its caller can only end once
// Raw has returned: the call log's writer would hang holding the write lock.
// So a panic is carried out of Raw and raised again after it, and an
// ErrBadConn is passed on as an error that no longer matches it (rolling the
// transaction back then finds the connection's state).
func RawInTx(conn *sql.Conn, f func(driverConn any) error) error {
	var panicked string
	err := conn.Raw(func(driverConn any) (err error) {
		defer func() {
			if p := recover(); p != nil {
				panicked = fmt.Sprintf("%v\n\nraised under sql.Conn.Raw:\n%s", p, debug.Stack())
			}
		}()
		err = f(driverConn)
		if errors.Is(err, driver.ErrBadConn) {
			err = fmt.Errorf("%v", err) // not errors.Is ErrBadConn any more: see above
		}
		return err
	})
	if panicked != "" {
		panic(panicked)
	}
	return err
}
