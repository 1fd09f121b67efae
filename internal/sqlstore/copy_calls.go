package sqlstore

import (
	"encoding/binary"
	"io"
	"math"

	tether "github.com/tetherhq/tether"
)

// Where the dialect has a CopyIn (PostgreSQL), the call log's batches are
// loaded with COPY in its binary format, encoded here straight from the
// calls. Handing pgx rows of values instead had every value boxed into an
// interface and then encoded through pgx's type map, a lookup per value:
// together a quarter of the CPU of the reports benchmark on PostgreSQL
// (docs/performance.md).
//
// The format (PostgreSQL's documentation, "COPY", "Binary Format"): a
// signature, a flags word and a header extension length; then per row the
// number of fields and each field as its length (-1 for NULL) and its bytes
// in the column type's binary form; then -1 as the trailer.

// copyCallsStatement loads calls in the binary format.
const copyCallsStatement = "COPY call_logs (" + callColumns + ") FROM STDIN (FORMAT binary)"

// copySignature begins the binary format: the signature, no flags (no OIDs)
// and an empty header extension.
const copySignature = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// copyTrailer ends the binary format.
const copyTrailer = "\xff\xff"

// jsonbVersion precedes a JSONB value's text in its binary form.
const jsonbVersion = 1

// copyCallsReader gives calls in the binary format, encoding them as COPY
// reads: the connection sends each chunk while the next one is encoded, and
// PostgreSQL loads the rows as they arrive (encoding the whole batch first
// made a batch a fifth slower on 2 cores).
type copyCallsReader struct {
	calls   []*tether.Call // not encoded yet
	pending []byte         // encoded, not read yet
	buf     []byte         // pending's backing array, reused
	ended   bool           // the trailer is in pending
}

func newCopyCallsReader(calls []*tether.Call) *copyCallsReader {
	r := &copyCallsReader{calls: calls, buf: make([]byte, 0, 64<<10)}
	r.pending = append(r.buf, copySignature...)
	return r
}

// Read encodes calls until p can be filled, then fills it.
func (r *copyCallsReader) Read(p []byte) (int, error) {
	if len(r.pending) < len(p) && !r.ended {
		r.encode(len(p))
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	if len(r.pending) == 0 && r.ended {
		return n, io.EOF
	}
	return n, nil
}

// encode appends calls (and at the end the trailer) to pending until it
// holds at least want bytes.
func (r *copyCallsReader) encode(want int) {
	b := append(r.buf[:0], r.pending...)
	for len(b) < want && len(r.calls) > 0 {
		b = appendCopyCall(b, r.calls[0])
		r.calls = r.calls[1:]
	}
	if len(r.calls) == 0 {
		b = append(b, copyTrailer...)
		r.ended = true
	}
	r.buf, r.pending = b, b
}

// appendCopyCall appends c as a row: every column of callColumns, in its
// order and in its column's type.
func appendCopyCall(b []byte, c *tether.Call) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(callColumnNames)))
	b = copyText(b, c.ID)
	b = copyNullText(b, c.ConnectionID)
	b = copyText(b, c.IntegrationName)
	b = copyText(b, c.Source)
	b = copyText(b, c.Method)
	b = copyText(b, c.Path)
	b = copyText(b, c.URL)
	b = copyNullText(b, c.Resource)
	if c.StatusCode == nil { // INTEGER
		b = copyNull(b)
	} else {
		b = binary.BigEndian.AppendUint32(b, 4)
		b = binary.BigEndian.AppendUint32(b, uint32(int32(*c.StatusCode)))
	}
	b = copyBigint(b, c.DurationMS)
	b = copyText(b, c.Outcome)
	b = copyText(b, c.Signal)
	b = copyNullText(b, c.Error)
	b = copyBigint(b, c.StartedAt.Millis())
	b = copyHeaders(b, c.RequestHeaders)
	b = copyHeaders(b, c.ResponseHeaders)
	return copyNullText(b, c.ResponseBody)
}

// copyText appends a TEXT field: its UTF-8 bytes, made storable.
func copyText(b []byte, s string) []byte {
	s = storableText(s)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// copyNullText appends a nullable TEXT field.
func copyNullText(b []byte, s *string) []byte {
	if s == nil {
		return copyNull(b)
	}
	return copyText(b, *s)
}

// copyNull appends NULL, a field of length -1.
func copyNull(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, math.MaxUint32)
}

// copyBigint appends a BIGINT field.
func copyBigint(b []byte, n int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// copyHeaders appends a JSONB field of headers: the version, then the JSON
// text, its length written once it is known.
func copyHeaders(b []byte, h map[string]string) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0, jsonbVersion)
	b = appendHeadersJSON(b, h)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}
