package sqlstore

import (
	"encoding/json"
	"maps"
	"testing"
)

// headersJSON writes JSON that decodes to the headers it was given.
func TestHeadersJSONRoundTrips(t *testing.T) {
	for _, h := range []map[string]string{
		nil,
		{"Content-Type": "application/json"},
		{"X-Quote": `say "hi"`, "X-Backslash": `C:\path\`, "X-Html": "</script><b>&amp;"},
		{"X-Control": "a\nb\rc\td\x01e\x1f", "X-Unicode": "héllo – 日本 \u2028 😀", "X-Empty": ""},
		{"Z": "1", "A": "2", "M": "3"},
	} {
		b := headersJSON(h)
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("headersJSON(%v) = %s, not JSON: %v", h, b, err)
		}
		if len(h) == 0 && len(got) == 0 {
			continue
		}
		if !maps.Equal(got, h) {
			t.Errorf("headersJSON(%v) decodes to %v", h, got)
		}
	}
	if b := headersJSON(map[string]string{"Z": "1", "A": "2"}); string(b) != `{"A":"2","Z":"1"}` {
		t.Errorf("names not sorted: %s", b)
	}
}
