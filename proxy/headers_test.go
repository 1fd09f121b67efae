package proxy

import (
	"net/http"
	"testing"

	tether "github.com/tetherhq/tether"
)

func TestCopyHeadersDropsHopByHop(t *testing.T) {
	src := http.Header{
		"Connection":        {"keep-alive, X-Private-Hop"},
		"X-Private-Hop":     {"1"},
		"Keep-Alive":        {"timeout=5"},
		"Transfer-Encoding": {"chunked"},
		"Upgrade":           {"websocket"},
		"Content-Type":      {"application/json"},
		"X-Request-Id":      {"abc", "def"},
	}
	dst := http.Header{}
	copyHeaders(dst, src)
	for _, gone := range []string{"Connection", "X-Private-Hop", "Keep-Alive", "Transfer-Encoding", "Upgrade"} {
		if dst.Get(gone) != "" {
			t.Errorf("%s was copied", gone)
		}
	}
	if dst.Get("Content-Type") != "application/json" || len(dst.Values("X-Request-Id")) != 2 {
		t.Errorf("end-to-end headers lost: %v", dst)
	}
}

func TestNeedsBody(t *testing.T) {
	def := &tether.ProviderDefinition{Rules: []tether.RuleSpec{{Status: "2xx", BodyPath: "error", Equals: "x", Signal: tether.SignalAuthFailure}}}
	plain := &tether.ProviderDefinition{}
	cases := []struct {
		def  *tether.ProviderDefinition
		code int
		want bool
	}{{plain, 200, false}, {plain, 404, true}, {plain, 503, true}, {def, 200, true}, {def, 302, false}}
	for _, tc := range cases {
		if got := needsBody(tc.def, tc.code); got != tc.want {
			t.Errorf("needsBody(%d) = %v, want %v", tc.code, got, tc.want)
		}
	}
}
