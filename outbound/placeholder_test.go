package outbound

import (
	"regexp"
	"slices"
	"testing"
)

// nextPlaceholder finds what the pattern \{([A-Za-z0-9_]+)\} finds, and
// where.
func TestPlaceholdersAreFoundAsByThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)
	for _, tmpl := range []string{
		"", "https://api.example.com", "{server}/api", "https://{shop}.myshopify.com/admin/{version}",
		"{{x}", "{a-b}{c}", "{}", "x{y", "{y}}", "{_1}{2_}", "a{b}c{d}e", "{", "}", "{ab", "{ab}{",
	} {
		var want, got [][2]int
		for _, m := range pattern.FindAllStringSubmatchIndex(tmpl, -1) {
			want = append(want, [2]int{m[0], m[1]})
		}
		for p, end, ok := nextPlaceholder(tmpl, 0); ok; p, end, ok = nextPlaceholder(tmpl, end) {
			if p.field != tmpl[p.start+1:end-1] {
				t.Errorf("%q: field %q at %d..%d", tmpl, p.field, p.start, end)
			}
			got = append(got, [2]int{p.start, end})
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: placeholders at %v, want %v", tmpl, got, want)
		}
	}
}
