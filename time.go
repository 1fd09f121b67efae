package tether

import (
	"fmt"
	"time"
)

// TimeFormat is how every time is written in the API, events and webhooks:
// RFC 3339, UTC, millisecond precision (API.md "Conventions").
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that is kept at millisecond precision in UTC and written
// as TimeFormat. A nil *Time is JSON null.
type Time struct{ time.Time }

// NewTime truncates t to the millisecond, in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// Now is the current time as a Time.
func Now() Time { return NewTime(time.Now()) }

// TimeFromMillis converts Unix milliseconds, as the stores keep them.
func TimeFromMillis(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

// TimePtr returns a pointer to t, for optional times.
func TimePtr(t Time) *Time { return &t }

// Millis returns t as Unix milliseconds.
func (t Time) Millis() int64 { return t.UnixMilli() }

func (t Time) String() string { return t.UTC().Format(TimeFormat) }

// MarshalJSON writes t as TimeFormat (it must be MarshalJSON: the embedded
// time.Time's would win over a MarshalText).
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("time must be an RFC 3339 string")
	}
	parsed, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("time must be an RFC 3339 string: %w", err)
	}
	*t = NewTime(parsed)
	return nil
}
