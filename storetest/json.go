package storetest

import (
	"encoding/json"
	"testing"
)

// assertSameJSON compares by JSON form, which is what the API shows.
func assertSameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}
