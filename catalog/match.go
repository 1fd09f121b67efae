package catalog

import (
	"strings"

	"github.com/tetherhq/tether"
)

// MatchResource returns the name of the first resource whose paths match the
// request path (query string ignored), or "".
//
// A path pattern is matched segment by segment against the path relative to
// base_url: a literal segment matches itself, "*" matches exactly one segment,
// and "**", which may only end a pattern, matches one or more segments. So
// "/orders/*" matches "/orders/42" but not "/orders" or "/orders/42/lines",
// and "/orders/**" matches both of the latter but not "/orders". A trailing
// slash is ignored on both sides.
func MatchResource(def *tether.ProviderDefinition, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	segments := splitPath(path)
	for _, r := range def.Resources {
		for _, pattern := range r.Paths {
			if matchSegments(splitPath(pattern), segments) {
				return r.Name
			}
		}
	}
	return ""
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func matchSegments(pattern, path []string) bool {
	for i, p := range pattern {
		if p == "**" {
			return len(path) > i
		}
		if i >= len(path) || (p != "*" && p != path[i]) {
			return false
		}
	}
	return len(pattern) == len(path)
}

// patternProblem says what is wrong with a path pattern, or "" when nothing is.
func patternProblem(pattern string) string {
	if !strings.HasPrefix(pattern, "/") {
		return `must start with "/" (it is relative to base_url)`
	}
	if strings.ContainsAny(pattern, "?#") {
		return "must not have a query: patterns match the path only"
	}
	segments := splitPath(pattern)
	for i, s := range segments {
		switch {
		case s == "**" && i != len(segments)-1:
			return `may only use "**" as its last segment`
		case s != "*" && s != "**" && strings.Contains(s, "*"):
			return `may only use "*" as a whole segment ("/orders/*", not "/orders*")`
		case strings.ContainsAny(s, "{}"):
			return `must use "*" for a variable segment, not {placeholders}`
		}
	}
	return ""
}
