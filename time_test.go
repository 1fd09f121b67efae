package tether

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSONHasMillisecondsInUTC(t *testing.T) {
	v := struct {
		At    Time  `json:"at"`
		Maybe *Time `json:"maybe"`
	}{At: NewTime(time.Date(2026, 11, 22, 11, 0, 0, 0, time.FixedZone("CET", 3600)))}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"at":"2026-11-22T10:00:00.000Z","maybe":null}` {
		t.Errorf("got %s", b)
	}
	var back struct{ At Time }
	if err := json.Unmarshal([]byte(`{"At":"2026-11-22T11:00:00.123456+01:00"}`), &back); err != nil || back.At.String() != "2026-11-22T10:00:00.123Z" {
		t.Errorf("parsed %v, %v", back.At, err)
	}
	if err := json.Unmarshal([]byte(`{"At":"yesterday"}`), &back); err == nil {
		t.Error("accepted a non-RFC 3339 time")
	}
}
