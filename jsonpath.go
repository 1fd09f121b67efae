package tether

import (
	"strconv"
	"strings"
)

// LookupPath follows a dotted path ("account.id", "meta.next_cursor",
// "data.0.id") through a value decoded by encoding/json, as provider
// definitions name places in answers. Numeric segments index arrays. It reports
// false when any step is missing.
func LookupPath(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, seg := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// ScalarString renders a JSON scalar (string, number, bool) as a string, as
// record ids and account ids are kept; it reports false for null, objects and
// arrays.
func ScalarString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(s), true
	case interface{ String() string }: // json.Number
		return s.String(), true
	}
	return "", false
}
