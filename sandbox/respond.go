package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// formatTime renders times the way the provider sends them: RFC 3339, UTC,
// always with milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only this package's own types are encoded here, so this is a bug.
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal_error","message":"The sandbox failed to encode its answer."}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// writeError sends the provider's error shape: a stable code for programs
// and a sentence for people.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, message})
}

func writeBadRequest(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
}
