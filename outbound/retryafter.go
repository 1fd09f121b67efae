package outbound

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps what RetryAfter returns, so a provider (or a typo in its
// header) cannot stall a connection's work for days.
const MaxRetryAfter = time.Hour

// RetryAfter returns how long the Retry-After header of h asks to wait, as
// delay-seconds or an HTTP date relative to now; 0 when the header is absent,
// invalid or in the past; never more than MaxRetryAfter.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		return capRetryAfter(secondsToDuration(secs))
	} else if errors.Is(err, strconv.ErrRange) {
		return MaxRetryAfter
	}
	if t, err := http.ParseTime(v); err == nil {
		return capRetryAfter(t.Sub(now))
	}
	return 0
}

func secondsToDuration(secs uint64) time.Duration {
	if secs > uint64(MaxRetryAfter/time.Second) {
		return MaxRetryAfter // before multiplying, which could overflow
	}
	return time.Duration(secs) * time.Second
}

func capRetryAfter(d time.Duration) time.Duration {
	return min(max(d, 0), MaxRetryAfter)
}
