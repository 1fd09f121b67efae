package sqlstore

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"testing/iotest"
	"time"

	tether "github.com/tetherhq/tether"
)

// The reader gives the same bytes however COPY reads them: the signature,
// a row of every column per call, the trailer. (The stores' conformance
// suite loads them into PostgreSQL and reads every field back.)
func TestCopyCallsReaderChunksTheSameBytes(t *testing.T) {
	connection, body, status := "conn_1", "bad \x00 \xff", 503
	calls := make([]*tether.Call, 3000)
	for i := range calls {
		calls[i] = &tether.Call{ID: tether.NewID(tether.PrefixCall), ConnectionID: &connection, IntegrationName: "shop",
			Source: tether.SourceReport, Method: "GET", Path: "/orders", StatusCode: &status, DurationMS: int64(i),
			Outcome: tether.OutcomeFailure, Signal: "transient", StartedAt: tether.NewTime(time.Now()),
			ResponseHeaders: map[string]string{"Retry-After": "1"}, ResponseBody: &body}
	}
	whole, err := io.ReadAll(newCopyCallsReader(calls))
	if err != nil {
		t.Fatal(err)
	}
	byteByByte, err := io.ReadAll(iotest.OneByteReader(newCopyCallsReader(calls)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole, byteByByte) {
		t.Fatalf("read whole: %d bytes; a byte at a time: %d bytes, not the same", len(whole), len(byteByByte))
	}
	if err := iotest.TestReader(newCopyCallsReader(calls), whole); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(whole, []byte(copySignature)) || !bytes.HasSuffix(whole, []byte(copyTrailer)) {
		t.Fatalf("no signature or trailer around %d bytes", len(whole))
	}
	row := whole[len(copySignature):]
	if fields := binary.BigEndian.Uint16(row); int(fields) != len(callColumnNames) {
		t.Fatalf("a row of %d fields, want %d", fields, len(callColumnNames))
	}
	if bytes.Contains(whole, []byte(body)) {
		t.Error("a NUL byte and invalid UTF-8 went to COPY as they were")
	}
}
