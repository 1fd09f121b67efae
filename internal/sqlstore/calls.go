package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	tether "github.com/tetherhq/tether"
)

// callColumns are the columns of call_logs, in the order appendCallArgs
// and appendCopyCall give their values.
const callColumns = `id, connection_id, integration_name, source, method, path, url, resource, status_code,
	duration_ms, outcome, signal, error, started_at, request_headers, response_headers, response_body`

var callColumnNames = strings.Fields(strings.ReplaceAll(callColumns, ",", " "))

// RecordCalls saves calls and, in the same transaction, lets apply update the
// connections they belong to, in connection id order, then saves what apply
// changed and the events it returned. Calls of a connection that does not
// exist (deleted meanwhile) are dropped, so a deleted connection's calls never
// reappear; calls without a connection are kept. An error from apply rolls
// everything back.
//
// Calls whose id is stored already are neither saved nor applied again: the
// batcher retries a batch whose commit failed, and a commit can fail after
// the database made it durable (a connection lost at that moment).
func (s *Store) RecordCalls(ctx context.Context, calls []*tether.Call, apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
	if len(calls) == 0 {
		return nil
	}
	calls = inConnectionOrder(calls)
	var changed []string // connections whose call target may have changed
	defer func() { s.targets.invalidate(changed...) }()
	err := s.recordInTx(ctx, apply, &changed, func(conn *sql.Conn, _ *sql.Tx) ([]*tether.Call, error) {
		return calls, s.insertCalls(ctx, conn, calls)
	})
	if err == nil || !s.dialect.IsUniqueViolation(err) {
		return err
	}
	// Some ids are stored already (rare, so the bulk load above does not pay
	// for checking each id): insert and apply only the calls that are new.
	return s.recordInTx(ctx, apply, &changed, func(_ *sql.Conn, tx *sql.Tx) ([]*tether.Call, error) {
		return s.insertNewCalls(ctx, tx, calls)
	})
}

// recordInTx runs one transaction of RecordCalls: insert stores calls and
// returns those to apply, which are then applied. Once it commits, and while
// it still holds the write connection, the applied cache keeps the
// connections as committed; if it fails, their kept copies are dropped
// (dropping is always safe: the next batch loads them).
func (s *Store) recordInTx(ctx context.Context, apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error),
	changed *[]string, insert func(*sql.Conn, *sql.Tx) ([]*tether.Call, error)) error {
	var applied *[]*tether.Connection // nil where no applied cache is kept
	if s.dialect.DataVersion != nil {
		applied = new([]*tether.Connection)
	}
	var inserted []*tether.Call
	err := s.inConnTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		var err error
		if inserted, err = insert(conn, tx); err != nil {
			return err
		}
		return s.applyToConnections(ctx, tx, inserted, apply, changed, applied)
	}, func() {
		if applied != nil {
			s.applied.keep(*applied)
		}
	})
	if err != nil && applied != nil {
		for _, c := range *applied {
			s.applied.drop(c.ID)
		}
	}
	return err
}

// inConnTx is inTx on a connection held for the whole transaction, so that a
// dialect's bulk load can reach the driver's connection under it; committed
// runs after the commit, while the connection is still held (on SQLite,
// before any other write can begin).
func (s *Store) inConnTx(ctx context.Context, fn func(*sql.Conn, *sql.Tx) error, committed func()) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(conn, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed()
	return nil
}

// connectionsPerLoad is how many connections applyToConnections loads and
// writes with one set of statements: enough to save hundreds of round trips,
// few enough to bound the health UPDATE's parameters (8 per connection).
const connectionsPerLoad = 500

// applyToConnections is UpdateConnection for every connection of a batch:
// the connections are locked and loaded 500 at a time instead of one
// by one (a batch of 1,000 calls may touch hundreds), always in id order so
// that concurrent batches cannot deadlock, and a connection that apply left
// unchanged is not written back. The ids of connections whose row changed
// beyond the health columns are appended to changed, and, unless applied is
// nil, every connection as it is to be committed to applied.
func (s *Store) applyToConnections(ctx context.Context, tx *sql.Tx, calls []*tether.Call,
	apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error), changed *[]string, applied *[]*tether.Connection) error {
	if apply == nil {
		return nil
	}
	for chunk := range slices.Chunk(groupByConnection(calls), connectionsPerLoad) {
		ids := make([]string, len(chunk))
		for i, g := range chunk {
			ids[i] = g.id
		}
		loaded, err := s.loadForApply(ctx, tx, ids)
		if err != nil {
			return err
		}
		// Connections whose health changed, apart by whether their status
		// did: see updateHealthColumns.
		var healthOnly, healthAndStatus []*tether.Connection
		for _, g := range chunk {
			id := g.id
			before := loaded[id]
			if before == nil {
				if err := dropCalls(ctx, tx, g.calls); err != nil {
					return err
				}
				continue
			}
			after := cloneConnection(before)
			change, err := applyToConnection(ctx, tx, before, after, g.calls, apply)
			if err != nil {
				return err
			}
			if applied != nil {
				*applied = append(*applied, after)
			}
			switch {
			case change == healthChanged && after.Status == before.Status:
				healthOnly = append(healthOnly, after)
			case change == healthChanged:
				healthAndStatus = append(healthAndStatus, after)
			case change == rowChanged:
				*changed = append(*changed, id)
			}
		}
		if err := updateHealthColumns(ctx, tx, healthOnly, false, s.dialect); err != nil {
			return err
		}
		if err := updateHealthColumns(ctx, tx, healthAndStatus, true, s.dialect); err != nil {
			return err
		}
	}
	return nil
}

// inConnectionOrder returns calls ordered by connection id, those without a
// connection first, each connection's calls in the order given. A batch is
// written and applied in this order: the (connection_id, id) index then takes
// each connection's rows one after the other, on pages just written, and
// the connections come in runs. SQLite's store alone wrote reported calls a
// fifth faster so; PostgreSQL's COPY into a log of a million rows took 15 to
// 20 % less time (docs/performance.md).
//
// It counts each connection's calls and places them, rather than sorting:
// a stable sort of 10,000 calls compared connection ids some 300,000 times
// and was 7 % of the time reported calls took on PostgreSQL.
func inConnectionOrder(calls []*tether.Call) []*tether.Call {
	next := make(map[string]int) // a connection's calls, then where its next call goes
	for _, c := range calls {
		next[connectionOf(c)]++
	}
	at := 0
	for _, id := range slices.Sorted(maps.Keys(next)) { // "" (no connection) first
		n := next[id]
		next[id] = at
		at += n
	}
	ordered := make([]*tether.Call, len(calls))
	for _, c := range calls {
		id := connectionOf(c)
		ordered[next[id]] = c
		next[id]++
	}
	return ordered
}

// connectionOf is a call's connection id, "" for none.
func connectionOf(c *tether.Call) string {
	if c.ConnectionID == nil {
		return ""
	}
	return *c.ConnectionID
}

// connectionCalls are the calls of one connection in a batch.
type connectionCalls struct {
	id    string
	calls []*tether.Call
}

// groupByConnection cuts calls in connection order (inConnectionOrder) into
// the runs of each connection, in connection id order; calls without a
// connection are left out.
func groupByConnection(calls []*tether.Call) []connectionCalls {
	var groups []connectionCalls
	for start := 0; start < len(calls); {
		id, end := connectionOf(calls[start]), start+1
		for end < len(calls) && connectionOf(calls[end]) == id {
			end++
		}
		if id != "" {
			groups = append(groups, connectionCalls{id: id, calls: calls[start:end:end]})
		}
		start = end
	}
	return groups
}

// rowChange is how apply changed a connection's row.
type rowChange int

const (
	rowUnchanged  rowChange = iota
	healthChanged           // only the columns the health engine owns
	rowChanged              // other columns too (written at once)
)

// applyToConnection lets apply change c (a copy of before) and saves the
// changed errors, resource states and events. A row that changed only in
// the columns the health engine owns is left for the caller to write for the
// whole chunk at once (updateHealthColumns); any other change of the row is
// written here.
func applyToConnection(ctx context.Context, tx *sql.Tx, before, c *tether.Connection, calls []*tether.Call,
	apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) (rowChange, error) {
	events, err := apply(c, calls)
	if err != nil {
		return rowUnchanged, err
	}
	if c.ID != before.ID {
		return rowUnchanged, fmt.Errorf("record calls of connection %s: apply altered its id", before.ID)
	}
	if err := saveChildren(ctx, tx, c.ID, before, c); err != nil {
		return rowUnchanged, err
	}
	change := rowUnchanged
	switch {
	case sameRow(before, c):
	case sameRow(withHealthOf(before, c), c):
		change = healthChanged
	default:
		change = rowChanged
		if err := updateConnectionRow(ctx, tx, c); err != nil {
			return rowUnchanged, err
		}
	}
	return change, appendEvents(ctx, tx, events)
}

// dropCalls deletes calls just inserted in this transaction.
func dropCalls(ctx context.Context, tx *sql.Tx, calls []*tether.Call) error {
	for _, c := range calls {
		if _, err := tx.ExecContext(ctx, `DELETE FROM call_logs WHERE id = $1 AND started_at = $2`, c.ID, c.StartedAt.Millis()); err != nil {
			return fmt.Errorf("drop call of a deleted connection: %w", err)
		}
	}
	return nil
}

// loadConnections loads the connections with the given ids that exist, with
// their errors and resource states; lock is appended to the query, which
// then locks the rows in id order.
func (s *Store) loadConnections(ctx context.Context, q querier, ids []string, lock string) (map[string]*tether.Connection, error) {
	in, arg := s.dialect.IDList(1, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE id `+in+` ORDER BY id`+lock, arg)
	if err != nil {
		return nil, fmt.Errorf("load connections: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]*tether.Connection, len(ids))
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load connections: %w", err)
	}
	if err := s.loadChildren(ctx, q, byID); err != nil {
		return nil, err
	}
	return byID, nil
}

// insertCalls bulk-loads calls on conn, which has the batch's transaction
// open: with the dialect's CopyIn where it has one (PostgreSQL COPY, about
// twice as fast as the INSERTs; see docs/call-log.md), otherwise with
// multi-row INSERTs. Both run on the driver's connection, inside the
// transaction database/sql began there. An id stored already fails it with
// a unique violation.
func (s *Store) insertCalls(ctx context.Context, conn *sql.Conn, calls []*tether.Call) error {
	if s.dialect.CopyIn == nil {
		return s.execInsertCalls(ctx, conn, calls)
	}
	if err := s.dialect.CopyIn(ctx, conn, copyCallsStatement, newCopyCallsReader(calls)); err != nil {
		return fmt.Errorf("copy calls: %w", err)
	}
	return nil
}

// insertNewCalls inserts the calls whose id is not stored yet and returns
// them.
func (s *Store) insertNewCalls(ctx context.Context, tx *sql.Tx, calls []*tether.Call) ([]*tether.Call, error) {
	inserted := make(map[string]bool, len(calls))
	err := s.queryInsertCalls(ctx, tx, calls, func(id string) { inserted[id] = true })
	if err != nil {
		return nil, err
	}
	fresh := make([]*tether.Call, 0, len(inserted))
	for _, c := range calls {
		if inserted[c.ID] {
			fresh = append(fresh, c)
		}
	}
	return fresh, nil
}

// callsPerInsert is how many calls one INSERT statement writes: few enough
// that the writer yields its processor often (see eachInsertChunk), which
// shortens the stretches in which request handlers wait for it (the proxy's
// latency tail, docs/performance.md); many enough to spare most of the
// per-statement work. Each statement shape is prepared once per database
// connection (SQLite: sqlite/stmtcache.go; PostgreSQL: pgx's cache).
const callsPerInsert = 20

// execInsertCalls writes calls with the dialect's multi-row INSERTs (the
// embedded database's way in: see insertCalls), run on the driver's
// connection under the transaction: through database/sql every statement's
// 340 arguments were copied into a new slice of its own and converted one by
// one (a fifth of the bytes the reports benchmark allocated on SQLite); here
// one slice serves every statement of the batch. The driver must run
// statements without being asked to prepare them first (ExecerContext, and
// no driver.ErrSkip), as SQLite's does.
func (s *Store) execInsertCalls(ctx context.Context, conn *sql.Conn, calls []*tether.Call) error {
	return RawInTx(conn, func(driverConn any) error {
		execer, ok := driverConn.(driver.ExecerContext)
		if !ok {
			return fmt.Errorf("insert calls: the %s driver's connection does not implement driver.ExecerContext", s.dialect.Name)
		}
		named := make([]driver.NamedValue, len(callColumnNames)*min(len(calls), callsPerInsert))
		for i := range named {
			named[i].Ordinal = i + 1
		}
		return s.eachInsertChunk(ctx, calls, cmp.Or(s.dialect.BulkInsert, "INSERT"), "", func(ctx context.Context, query string, args []any) error {
			for i, v := range args {
				named[i].Value = v
			}
			if _, err := execer.ExecContext(ctx, query, named[:len(args)]); err != nil {
				return fmt.Errorf("insert calls: %w", err)
			}
			return nil
		})
	})
}

// queryInsertCalls writes the calls whose id is new and passes each id it
// wrote to inserted.
func (s *Store) queryInsertCalls(ctx context.Context, tx *sql.Tx, calls []*tether.Call, inserted func(id string)) error {
	return s.eachInsertChunk(ctx, calls, "INSERT", " ON CONFLICT DO NOTHING RETURNING id", func(ctx context.Context, query string, args []any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("insert calls: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("insert calls: %w", err)
			}
			inserted(id)
		}
		return rows.Err()
	})
}

// backlogBatch is the size from which a batch is a backlog being drained
// rather than the calls of the last MaxDelay: 2,000 calls in 50 ms (the
// default delay) is 40,000 calls/s, 20,000 at the longest delay, several
// times what the proxy serves on a small machine, so only bursts of reported
// calls (or a writer that fell behind) make batches this large. Such a batch
// is written without yielding: draining the backlog comes first. The
// request goroutines still get a processor at Go's preemption (after 10 ms
// at most), so a proxied request during such a burst may wait that long.
const backlogBatch = 2000

// eachInsertChunk calls run with the INSERT statement (starting with verb,
// ending in suffix) and arguments of each chunk of callsPerInsert calls.
//
// On a database in this process (Dialect.InProcess) the statements get ctx
// without its cancellation, which is checked between them instead: for a
// context that can end, the SQLite driver starts a goroutine and installs a
// progress callback for every statement (21,700 goroutines in ten seconds of
// reported calls, each woken to exit), while one of these INSERTs is over in
// about a millisecond. A server's statements keep it: one may hang on the
// network.
func (s *Store) eachInsertChunk(ctx context.Context, calls []*tether.Call, verb, suffix string,
	run func(ctx context.Context, query string, args []any) error) error {
	args := make([]any, 0, len(callColumnNames)*min(len(calls), callsPerInsert))
	yield := len(calls) < backlogBatch
	statementCtx := ctx
	if s.dialect.InProcess {
		statementCtx = context.WithoutCancel(ctx)
	}
	for chunk := range slices.Chunk(calls, callsPerInsert) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("insert calls: %w", err)
		}
		args = args[:0]
		for _, c := range chunk {
			args = appendCallArgs(args, c)
		}
		if err := run(statementCtx, s.insertCallsSQL(verb, len(chunk), suffix), args); err != nil {
			return err
		}
		// Let the request goroutines waiting for a processor run between
		// statements rather than behind a whole batch: the writer is one
		// goroutine among many, and a batch holds a processor for
		// milliseconds. A backlog is written without yielding: a yielded
		// goroutine waits behind every runnable one, and those waits were
		// an eighth of the writer's time under a burst of reported calls
		// on SQLite.
		if yield {
			runtime.Gosched()
		}
	}
	return nil
}

type insertKey struct {
	dialect, verb string
	rows          int
	suffix        string
}

// insertCallsSQL returns the INSERT of n calls, built once per shape.
func (s *Store) insertCallsSQL(verb string, n int, suffix string) string {
	return builtOnce(insertKey{s.dialect.Name, verb, n, suffix}, func(b *strings.Builder) {
		b.WriteString(verb + " INTO call_logs (" + callColumns + ") VALUES ")
		for row := range n {
			if row > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for col := range callColumnNames {
				if col > 0 {
					b.WriteString(", ")
				}
				b.WriteString(s.dialect.Placeholder(row*len(callColumnNames) + col + 1))
			}
			b.WriteByte(')')
		}
		b.WriteString(suffix)
	})
}

var builtStatements sync.Map // a comparable key of the statement's shape → its text

// builtOnce returns the statement text that build writes for key, built the
// first time and kept: the call log's statements are as long as a batch is
// wide, and building them anew for every batch cost allocations on the
// writer's hot path.
func builtOnce(key any, build func(*strings.Builder)) string {
	if q, ok := builtStatements.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	build(&b)
	q, _ := builtStatements.LoadOrStore(key, b.String())
	return q.(string)
}

// appendCallArgs appends the column values of c, in callColumns order, as
// values a driver takes as they are (string, int64, []byte, nil for NULL):
// execInsertCalls hands them to the driver without database/sql's
// conversion.
func appendCallArgs(args []any, c *tether.Call) []any {
	requestHeaders, responseHeaders := headersJSON(c.RequestHeaders), headersJSON(c.ResponseHeaders)
	var statusCode any // NULL: no answer came
	if c.StatusCode != nil {
		statusCode = int64(*c.StatusCode)
	}
	return append(args,
		storableText(c.ID), nullText(c.ConnectionID), storableText(c.IntegrationName), storableText(c.Source),
		storableText(c.Method), storableText(c.Path), storableText(c.URL), nullText(c.Resource), statusCode,
		c.DurationMS, storableText(c.Outcome), storableText(c.Signal), nullText(c.Error),
		c.StartedAt.Millis(), requestHeaders, responseHeaders, nullText(c.ResponseBody),
	)
}

// headersJSON encodes headers as a JSON object with sorted names ({} when
// there are none). It writes the object itself rather than through
// encoding/json, whose reflection over the map was a tenth of the call
// log's insert time: it runs twice for every logged call.
func headersJSON(h map[string]string) []byte {
	return appendHeadersJSON(nil, h)
}

// appendHeadersJSON appends headersJSON(h) to b.
func appendHeadersJSON(b []byte, h map[string]string) []byte {
	if len(h) == 0 {
		return append(b, "{}"...)
	}
	if !storableHeaders(h) {
		clean := make(map[string]string, len(h))
		for name, value := range h {
			clean[storableText(name)] = storableText(value)
		}
		h = clean
	}
	names := make([]string, 0, len(h))
	size := 2
	for name, value := range h {
		names = append(names, name)
		size += len(name) + len(value) + 6
	}
	slices.Sort(names)
	b = slices.Grow(b, size)
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = appendJSONString(b, h[name])
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 without NUL
// (storableText), so only quotes, backslashes and control characters need
// escaping.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func storableHeaders(h map[string]string) bool {
	for name, value := range h {
		if !storable(name) || !storable(value) {
			return false
		}
	}
	return true
}

// storableText makes s storable in a PostgreSQL text or JSONB column, which
// refuses NUL and invalid UTF-8 (JSON escapes NUL as \u0000, which JSONB
// refuses too). Provider answers, paths and reported calls may hold either,
// and one odd call must not fail a whole batch.
func storableText(s string) string {
	if storable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// nullText converts an optional string for a nullable text column: nil for
// NULL.
func nullText(s *string) any {
	if s == nil {
		return nil
	}
	return storableText(*s)
}

// Calls returns one page of calls, newest first.
func (s *Store) Calls(ctx context.Context, f tether.CallFilter) ([]*tether.Call, bool, error) {
	query, args := callsQuery(f)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list calls: %w", err)
	}
	defer rows.Close()
	var list []*tether.Call
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, false, err
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list calls: %w", err)
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	return list, more, nil
}

func callsQuery(f tether.CallFilter) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.ConnectionID != "" {
		where = append(where, "connection_id = "+arg(f.ConnectionID))
	}
	if f.Resource != "" {
		where = append(where, "resource = "+arg(f.Resource))
	}
	switch f.Outcome {
	case "":
	case tether.OutcomeFailure:
		// A literal, not a parameter: only then may the planners use the
		// partial index call_logs_failures.
		where = append(where, "outcome = 'failure'")
	default:
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	if f.Source != "" {
		where = append(where, "source = "+arg(f.Source))
	}
	if f.StatusCode != 0 {
		where = append(where, "status_code = "+arg(f.StatusCode))
	}
	if f.Since != nil {
		where = append(where, "started_at >= "+arg(f.Since.Millis()))
	}
	if f.Until != nil {
		where = append(where, "started_at < "+arg(f.Until.Millis()))
	}
	if f.Before != "" {
		where = append(where, "id < "+arg(f.Before))
	}
	query := `SELECT ` + callColumns + ` FROM call_logs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return query + " ORDER BY id DESC LIMIT " + arg(f.Limit+1), args
}

func scanCall(row scanner) (*tether.Call, error) {
	var c tether.Call
	var connectionID, resource, callError, body sql.NullString
	var statusCode sql.NullInt64
	var started int64
	var requestHeaders, responseHeaders []byte
	err := row.Scan(&c.ID, &connectionID, &c.IntegrationName, &c.Source, &c.Method, &c.Path, &c.URL, &resource,
		&statusCode, &c.DurationMS, &c.Outcome, &c.Signal, &callError, &started, &requestHeaders, &responseHeaders, &body)
	if err != nil {
		return nil, fmt.Errorf("scan call: %w", err)
	}
	c.ConnectionID, c.Resource, c.Error, c.ResponseBody = textFromNull(connectionID), textFromNull(resource), textFromNull(callError), textFromNull(body)
	if statusCode.Valid {
		code := int(statusCode.Int64)
		c.StatusCode = &code
	}
	c.StartedAt = tether.TimeFromMillis(started)
	if err := json.Unmarshal(requestHeaders, &c.RequestHeaders); err != nil {
		return nil, fmt.Errorf("decode request headers of %s: %w", c.ID, err)
	}
	if err := json.Unmarshal(responseHeaders, &c.ResponseHeaders); err != nil {
		return nil, fmt.Errorf("decode response headers of %s: %w", c.ID, err)
	}
	return &c, nil
}

// textFromNull converts a nullable text column back to an optional string.
func textFromNull(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	return &n.String
}

// PruneCalls deletes calls that started before cutoff: at most limit rows
// per call where rows are deleted one by one (SQLite; PostgreSQL's default
// partition), after dropping every daily partition that lies wholly before
// cutoff (PostgreSQL). It returns how many calls it removed.
func (s *Store) PruneCalls(ctx context.Context, cutoff tether.Time, limit int) (int64, error) {
	if limit < 1 {
		return 0, fmt.Errorf("prune calls: limit must be positive, got %d", limit)
	}
	var dropped int64
	table := "call_logs"
	if s.dialect.DailyCallPartitions {
		var err error
		if dropped, err = s.dropCallPartitionsBefore(ctx, cutoff.Time); err != nil {
			return 0, err
		}
		table = callDefaultPartition
	}
	deleted, err := s.deleteCallsBefore(ctx, table, cutoff, limit)
	return dropped + deleted, err
}

// deleteCallsBefore deletes at most limit calls of table that started before
// cutoff, in a short transaction of its own: on SQLite the writer is single,
// and retention must never hold it for long.
func (s *Store) deleteCallsBefore(ctx context.Context, table string, cutoff tether.Time, limit int) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id IN
			(SELECT id FROM `+table+` WHERE started_at < $1 LIMIT $2)`, cutoff.Millis(), limit)
		if err != nil {
			return fmt.Errorf("prune calls: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Daily partitions of call_logs (PostgreSQL; see its 00002 migration). Each
// partition holds one UTC day of started_at and is named after it,
// call_logs_pYYYYMMDD, so its range can be read from its name.
const (
	callPartitionPrefix  = "call_logs_p"
	callPartitionLayout  = "20060102"
	callDefaultPartition = "call_logs_default"
	day                  = 24 * time.Hour
	// callPartitionLock is the advisory lock (any constant, "TETHERPA")
	// that serializes partition changes between instances.
	callPartitionLock = 0x5445544845525041
	// partitionLockTimeout bounds how long a partition change waits for a
	// table lock: a waiting DDL statement queues every later reader and
	// writer of call_logs behind it, so it gives up instead and the next
	// retention pass retries.
	partitionLockTimeout = "5s"
)

// EnsureCallPartitions creates the daily call log partitions from the day
// before now to two days after it, where missing, so that calls land in
// their day's partition and retention can later drop it whole. It is called
// when the store opens and by every retention pass; stores without
// partitions (SQLite) do nothing.
func (s *Store) EnsureCallPartitions(ctx context.Context, now time.Time) error {
	if !s.dialect.DailyCallPartitions {
		return nil
	}
	existing, err := s.callPartitions(ctx)
	if err != nil {
		return err
	}
	today := now.UTC().Truncate(day)
	for offset := -1; offset <= 2; offset++ {
		start := today.AddDate(0, 0, offset)
		if _, ok := existing[callPartitionName(start)]; ok {
			continue
		}
		if err := s.createCallPartition(ctx, start); err != nil {
			return err
		}
	}
	return nil
}

func callPartitionName(start time.Time) string {
	return callPartitionPrefix + start.Format(callPartitionLayout)
}

// callPartitions returns the daily partitions of call_logs by name, each
// with the start of its day.
func (s *Store) callPartitions(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.write.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'call_logs'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("list call log partitions: %w", err)
	}
	defer rows.Close()
	partitions := map[string]time.Time{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list call log partitions: %w", err)
		}
		date, isDaily := strings.CutPrefix(name, callPartitionPrefix)
		if start, err := time.Parse(callPartitionLayout, date); isDaily && err == nil {
			partitions[name] = start
		}
	}
	return partitions, rows.Err()
}

// createCallPartition creates the partition of the day that begins at start.
// Calls of that day may already sit in the default partition (a reported
// call with a future started_at, or an instance that was down for days):
// they are moved into the new partition first, with the default partition
// locked, since PostgreSQL refuses a partition whose rows the default holds.
func (s *Store) createCallPartition(ctx context.Context, start time.Time) error {
	name := callPartitionName(start)
	from, to := start.UnixMilli(), start.Add(day).UnixMilli()
	return s.inPartitionTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return fmt.Errorf("look up partition %s: %w", name, err)
		}
		if exists { // another instance made it meanwhile
			return nil
		}
		statements := []string{
			`LOCK TABLE ` + callDefaultPartition + ` IN ACCESS EXCLUSIVE MODE`,
			`CREATE TABLE ` + name + ` (LIKE call_logs INCLUDING DEFAULTS)`,
			fmt.Sprintf(`WITH moved AS (DELETE FROM %s WHERE started_at >= %d AND started_at < %d RETURNING *)
				INSERT INTO %s SELECT * FROM moved`, callDefaultPartition, from, to, name),
			fmt.Sprintf(`ALTER TABLE call_logs ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)`, name, from, to),
		}
		for _, stmt := range statements {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create partition %s: %w", name, err)
			}
		}
		return nil
	})
}

// dropCallPartitionsBefore drops the daily partitions that end at or before
// cutoff and returns how many calls they held.
func (s *Store) dropCallPartitionsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	partitions, err := s.callPartitions(ctx)
	if err != nil {
		return 0, err
	}
	var dropped int64
	for name, start := range partitions {
		if start.Add(day).After(cutoff) {
			continue
		}
		n, err := s.dropCallPartition(ctx, name)
		if err != nil {
			return dropped, err
		}
		dropped += n
	}
	return dropped, nil
}

func (s *Store) dropCallPartition(ctx context.Context, name string) (int64, error) {
	var n int64
	err := s.inPartitionTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return fmt.Errorf("look up partition %s: %w", name, err)
		}
		if !exists { // another instance dropped it meanwhile
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
			return fmt.Errorf("count calls in %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+name); err != nil {
			return fmt.Errorf("drop partition %s: %w", name, err)
		}
		return nil
	})
	return n, err
}

// inPartitionTx runs fn in a transaction that holds the partition advisory
// lock and gives up on table locks after partitionLockTimeout.
func (s *Store) inPartitionTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(callPartitionLock)); err != nil {
			return fmt.Errorf("lock call log partitions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		return fn(tx)
	})
}
