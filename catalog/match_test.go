package catalog

import (
	"testing"

	"github.com/tetherhq/tether"
)

func TestMatchResource(t *testing.T) {
	def := &tether.ProviderDefinition{Resources: []tether.ResourceSpec{
		{Name: "orders", Paths: []string{"/orders", "/orders/*"}},
		{Name: "lines", Paths: []string{"/orders/*/lines"}},
		{Name: "returns", Paths: []string{"/returns/**"}},
		{Name: "root", Paths: []string{"/"}},
		{Name: "fallback", Paths: []string{"/v1/**"}},
	}}
	cases := []struct{ path, want string }{
		{"/orders", "orders"},
		{"/orders/", "orders"},
		{"/orders?limit=1", "orders"},
		{"/orders/42", "orders"},
		{"/orders/42?expand=lines", "orders"},
		{"/orders/42/lines", "lines"},
		{"/orders/42/lines/7", ""},
		{"/orders-archive", ""},
		{"/returns", ""}, // "**" needs at least one segment
		{"/returns/r1", "returns"},
		{"/returns/r1/items/2", "returns"},
		{"/", "root"},
		{"", "root"},
		{"/v1/anything/at/all", "fallback"},
		{"/inventory", ""},
	}
	for _, c := range cases {
		if got := MatchResource(def, c.path); got != c.want {
			t.Errorf("MatchResource(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestMatchResourceFirstWins(t *testing.T) {
	def := &tether.ProviderDefinition{Resources: []tether.ResourceSpec{
		{Name: "special", Paths: []string{"/orders/export"}},
		{Name: "orders", Paths: []string{"/orders/*"}},
	}}
	if got := MatchResource(def, "/orders/export"); got != "special" {
		t.Errorf("got %q, want the first resource that matches", got)
	}
}

func TestPatternProblem(t *testing.T) {
	for pattern, valid := range map[string]bool{
		"/orders": true, "/orders/*": true, "/orders/**": true, "/*/x/*": true, "/": true,
		"orders": false, "/orders*": false, "/**/x": false, "/o/{id}": false, "/o?x=1": false,
	} {
		if got := patternProblem(pattern) == ""; got != valid {
			t.Errorf("patternProblem(%q) valid = %v, want %v", pattern, got, valid)
		}
	}
}
