package outbound

import (
	"errors"
	"fmt"
	"io"
)

// ErrResponseTooLarge is matched (errors.Is) when a response body of Do is
// read past Config.MaxResponseBytes.
var ErrResponseTooLarge = errors.New("response body too large")

// limitedBody fails reads past a limit instead of silently truncating, so a
// caller never mistakes a cut-off body for a whole one.
type limitedBody struct {
	body      io.ReadCloser
	limit     int64
	remaining int64
}

func limitBody(body io.ReadCloser, limit int64) io.ReadCloser {
	return &limitedBody{body: body, limit: limit, remaining: limit}
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		return b.readPastLimit()
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	return n, err
}

// readPastLimit tells a body of exactly the limit (EOF next) from a longer one.
func (b *limitedBody) readPastLimit() (int, error) {
	var probe [1]byte
	n, err := b.body.Read(probe[:])
	if n > 0 {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, b.limit)
	}
	return 0, err
}

func (b *limitedBody) Close() error { return b.body.Close() }
