package outbound_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tetherhq/tether/outbound"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                               0,
		"0":                              0,
		"120":                            2 * time.Minute,
		" 7 ":                            7 * time.Second,
		"-5":                             0,
		"1.5":                            0,
		"soon":                           0,
		"86400":                          outbound.MaxRetryAfter,
		"99999999999999999999999":        outbound.MaxRetryAfter,
		"Sun, 22 Nov 2026 10:01:30 GMT":  90 * time.Second,
		"Sunday, 22-Nov-26 10:00:10 GMT": 10 * time.Second, // RFC 850
		"Sun Nov 22 10:00:20 2026":       20 * time.Second, // asctime
		"Sun, 22 Nov 2026 09:00:00 GMT":  0,                // in the past
		"Mon, 23 Nov 2026 10:00:00 GMT":  outbound.MaxRetryAfter,
	}
	for value, want := range cases {
		h := http.Header{}
		if value != "" {
			h.Set("Retry-After", value)
		}
		if got := outbound.RetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", value, got, want)
		}
	}
}
