package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"sync/atomic"

	"modernc.org/sqlite"
)

// database/sql prepares, runs and finalizes a statement for every Exec and
// Query that is not an explicit Prepare, and the driver keeps nothing: SQLite
// then parses the same text again each time. For the call log's writer that
// was a quarter of every batch (the health write-back's UPDATE alone parsed
// for 3 ms of a 12 ms batch; docs/performance.md). Each connection here keeps
// its most recently used statements prepared, by text, the way pgx does for
// PostgreSQL, so every query of the store is parsed once per connection.

// cachedStatements is how many statements a connection keeps prepared: the
// store runs a few dozen distinct texts (the call log's INSERT and UPDATE
// shapes among them), so the cache holds them all.
const cachedStatements = 128

// connector opens connections, through the driver's own connector, whose
// statements stay prepared, and counts them.
type connector struct {
	base driver.Connector
	// opened counts the connections opened so far: with a pool of one
	// connection (the writer) it tells which connection is the current one.
	opened atomic.Int64
}

func newConnector(dsn string) (*connector, error) {
	base, err := sqlite.NewConnector(dsn)
	return &connector{base: base}, err
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c.opened.Add(1)
	return newCachingConn(conn)
}

func (c *connector) Driver() driver.Driver { return c.base.Driver() }

// sqliteConn is what the driver's connections offer database/sql.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what the driver's statements offer.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// cachingConn runs Exec and Query through statements kept prepared, least
// recently used evicted first. database/sql uses a connection from one
// goroutine at a time (closing Rows included), so it needs no lock.
type cachingConn struct {
	sqliteConn
	lru    *list.List               // of *cachedStmt, most recently used first
	byText map[string]*list.Element // query text → its element of lru
}

// cachedStmt is a prepared statement and whether Rows still read from it.
type cachedStmt struct {
	text string
	stmt sqliteStmt
	busy bool
}

func newCachingConn(conn driver.Conn) (*cachingConn, error) {
	c, ok := conn.(sqliteConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite driver connection lacks the methods the statement cache needs")
	}
	return &cachingConn{sqliteConn: c, lru: list.New(), byText: make(map[string]*list.Element)}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	stmt, release, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	return stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	stmt, release, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	return &releasingRows{Rows: rows, release: release}, nil
}

// statement returns the prepared statement of query and what to call once
// it is no longer used: the cached one if it is free, else a new one, kept
// in the cache if the text was not there yet. A statement that open Rows
// still read from is never handed out twice (running it again would reset
// those Rows): a nested use of the same text gets a statement of its own,
// finalized after use.
func (c *cachingConn) statement(ctx context.Context, query string) (sqliteStmt, func(), error) {
	if e, ok := c.byText[query]; ok {
		cached := e.Value.(*cachedStmt)
		if !cached.busy {
			c.lru.MoveToFront(e)
			cached.busy = true
			return cached.stmt, func() { cached.busy = false }, nil
		}
		stmt, err := c.prepare(ctx, query)
		if err != nil {
			return nil, nil, err
		}
		return stmt, func() { _ = stmt.Close() }, nil
	}
	stmt, err := c.prepare(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	cached := &cachedStmt{text: query, stmt: stmt, busy: true}
	c.byText[query] = c.lru.PushFront(cached)
	c.evict()
	return stmt, func() { cached.busy = false }, nil
}

func (c *cachingConn) prepare(ctx context.Context, query string) (sqliteStmt, error) {
	stmt, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s, ok := stmt.(sqliteStmt)
	if !ok {
		_ = stmt.Close()
		return nil, errors.New("sqlite driver statement lacks the methods the statement cache needs")
	}
	return s, nil
}

// evict finalizes the least recently used statements beyond the cache's
// size, skipping those still in use.
func (c *cachingConn) evict() {
	for e := c.lru.Back(); e != nil && c.lru.Len() > cachedStatements; {
		prev := e.Prev()
		if cached := e.Value.(*cachedStmt); !cached.busy {
			c.lru.Remove(e)
			delete(c.byText, cached.text)
			_ = cached.stmt.Close()
		}
		e = prev
	}
}

// Unwrap returns the driver's connection (sqlite.Limit looks through
// wrappers with it).
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var err error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		err = errors.Join(err, e.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.byText)
	return errors.Join(err, c.sqliteConn.Close())
}

// releasingRows releases its statement when closed.
type releasingRows struct {
	driver.Rows
	release func()
	closed  bool
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.release()
	}
	return err
}

// The column type methods of the driver's Rows, passed on so that
// sql.Rows.ColumnTypes keeps working.

func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *releasingRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *releasingRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *releasingRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *releasingRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
