package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	tether "github.com/tetherhq/tether"
)

// reportsDecoder is the decoder of POST /v1/calls, with its schema in an
// API configured as Register configures Tether's.
func reportsDecoder() reportBodyDecoder {
	config := huma.DefaultConfig("test", "test")
	config.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[tether.Time](), reflect.TypeFor[timeSchema]())
	api := humago.New(http.NewServeMux(), config)
	return reportBodyDecoder{api: api, schema: api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[reportCallsInputBody](), true, "ReportCallsInputBody")}
}

// humaDecode is what huma made of a body before the endpoint decoded its
// own: the tree validated against the schema, then the typed decoding.
func humaDecode(d reportBodyDecoder, body []byte) ([]ReportedCall, error) {
	var tree any
	if err := json.Unmarshal(body, &tree); err != nil {
		return nil, err
	}
	res := &huma.ValidateResult{}
	path := huma.NewPathBuffer(nil, 0)
	path.Push("body")
	huma.Validate(d.api.OpenAPI().Components.Schemas, d.schema, path, huma.ModeWriteToServer, tree, res)
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("%v", res.Errors)
	}
	var typed reportCallsInputBody
	if err := json.Unmarshal(body, &typed); err != nil {
		return nil, err
	}
	return typed.Calls, nil
}

// reportBodyVariants are bodies around the schema's every rule: a valid call
// with each member dropped, nulled, retyped, at and past its bounds, and
// bodies that differ in their outer shape.
func reportBodyVariants() []string {
	valid := map[string]any{
		"connection_id": "conn_1", "method": "GET", "path": "/orders", "status_code": 200,
		"duration_ms": 12, "started_at": "2026-12-03T10:00:00.123Z", "resource": "orders", "error": "boom",
	}
	values := map[string][]any{
		"connection_id": {"", "x", 7, nil, true},
		"method":        {"", strings.Repeat("M", 16), strings.Repeat("M", 17), strings.Repeat("é", 16), strings.Repeat("é", 17), 1},
		"path":          {"", strings.Repeat("/", 2048), strings.Repeat("/", 2049), strings.Repeat("ü", 2048), []any{"/"}},
		"status_code":   {nil, 99, 100, 599, 600, 200.0, 200.5, -1, "200", 1e300},
		"duration_ms":   {0, -1, 1.5, 1e15, float64(1 << 53), 1e16, 1e300, "12", nil},
		"started_at":    {"2026-12-03T10:00:00Z", "2026-12-03T10:00:00+02:00", "2026-12-03", "yesterday", "", 1, nil},
		"resource":      {"", "inventory", nil, 3},
		"error":         {"", strings.Repeat("e", 2048), strings.Repeat("e", 2049), strings.Repeat("€", 2048), strings.Repeat("€", 2049), nil, false},
	}
	encode := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	withCall := func(call map[string]any) string { return encode(map[string]any{"calls": []any{call}}) }
	bodies := []string{withCall(valid)}
	for name, vs := range values {
		dropped := cloneMap(valid)
		delete(dropped, name)
		bodies = append(bodies, withCall(dropped))
		renamed := cloneMap(dropped)
		renamed[strings.ToUpper(name[:1])+name[1:]] = valid[name] // encoding/json would match it
		bodies = append(bodies, withCall(renamed))
		for _, v := range vs {
			changed := cloneMap(valid)
			changed[name] = v
			bodies = append(bodies, withCall(changed))
		}
	}
	extra := cloneMap(valid)
	extra["statuscode"] = 200
	many := func(n int) string {
		calls := make([]any, n)
		for i := range calls {
			calls[i] = valid
		}
		return encode(map[string]any{"calls": calls})
	}
	// Notations json.Marshal never writes: numbers that are not integer
	// literals or lie past 2^53, escapes, white space around the body.
	call := withCall(map[string]any{"connection_id": "conn_1", "method": "GET", "path": "/orders",
		"status_code": 200, "duration_ms": 12, "started_at": "2026-12-03T10:00:00Z"})
	for _, literal := range [][2]string{
		{`"status_code":200`, `"status_code":200.0`}, {`"status_code":200`, `"status_code":2e2`},
		{`"status_code":200`, `"status_code":2E2`}, {`"status_code":200`, `"status_code":-0`},
		{`"duration_ms":12`, `"duration_ms":12.0`}, {`"duration_ms":12`, `"duration_ms":1.2e1`},
		{`"duration_ms":12`, `"duration_ms":9007199254740993`}, {`"duration_ms":12`, `"duration_ms":9007199254740992.4`},
		{`"duration_ms":12`, `"duration_ms":9223372036854775807`}, {`"duration_ms":12`, `"duration_ms":9223372036854775808`},
		{`10:00:00Z`, `10:00:00\u005a`}, {`"/orders"`, `"\/orders"`}, {`"GET"`, `"G\u0045T"`},
	} {
		bodies = append(bodies, strings.Replace(call, literal[0], literal[1], 1))
	}
	bodies = append(bodies, " \n\t"+call+" \r\n", call+"\n")
	pretty, err := json.MarshalIndent(map[string]any{"calls": []any{valid, valid}}, "", "\t")
	if err != nil {
		panic(err)
	}
	bodies = append(bodies, string(pretty), strings.ReplaceAll(string(pretty), "\t", " \r\n "))
	// A member given twice whose last value breaks the rules (the earlier
	// ones: TestReportBodyMemberGivenTwice).
	for _, twice := range [][2]string{
		{`"path":"/orders"`, `"path":"/orders","path":{"a":1}`},
		{`"status_code":200`, `"status_code":200,"status_code":2e2`},
		{`"status_code":200`, `"status_code":200,"status_code":false`},
		{`"method":"GET"`, `"method":"GET","method":"G\u0045T"`},
	} {
		bodies = append(bodies, strings.Replace(call, twice[0], twice[1], 1))
	}
	// Values the typed decoding reads otherwise than the text says.
	for _, literal := range [][2]string{
		{`"/orders"`, "\"/ord\xffers\""}, {`"/orders"`, "\"/orders\xc3\""},
		{`"duration_ms":12`, `"duration_ms":-0`}, {`"duration_ms":12`, `"duration_ms":99999999999999999999`},
		{`"duration_ms":12`, `"duration_ms":true`}, {`"duration_ms":12`, `"duration_ms":{}`},
		{`"connection_id":"conn_1"`, `"connection_id":"conn_1","extra":{"a":[1,2]}`},
	} {
		bodies = append(bodies, strings.Replace(call, literal[0], literal[1], 1))
	}
	return append(bodies, withCall(extra), many(0), many(1000), many(1001),
		`{"calls": null}`, `{}`, `[]`, `null`, `"calls"`, `{"calls": {}}`, `{"calls": [null]}`, `{"calls": [[]]}`,
		`{"calls": [`+encode(valid)+`], "more": 1}`, `{"Calls": [`+encode(valid)+`]}`,
		`{"calls": [`+encode(valid)+`], "calls": []}`,
		`{"calls": [{"connection_id": "conn_\u00e9", "method": "GET", "path": "/", "status_code": 204, "duration_ms": 0, "started_at": "2026-12-03T10:00:00Z"}]}`)
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestReportBodyDecodesAsHumaDid: the endpoint's own decoding accepts
// exactly the bodies huma accepted, with the same calls, whether its checks
// took the body or declined it to the schema's validation.
func TestReportBodyDecodesAsHumaDid(t *testing.T) {
	d := reportsDecoder()
	checked, declined := 0, 0
	for _, body := range reportBodyVariants() {
		name := body
		if len(name) > 120 {
			name = name[:120] + "…"
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("%s: not JSON", name)
		}
		if _, ok := d.checked("application/json", []byte(body)); ok {
			checked++
		} else {
			declined++
		}
		want, wantErr := humaDecode(d, []byte(body))
		got, err := d.decode("application/json", []byte(body))
		switch {
		case (err == nil) != (wantErr == nil):
			t.Errorf("%s: decode: %v; huma: %v", name, err, wantErr)
		case err != nil:
			if p := err.(*Problem); p.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
				t.Errorf("%s: answer %d with %v", name, p.Status, p.Errors)
			}
		case !reflect.DeepEqual(got, want):
			t.Errorf("%s: decoded\n%+v\nhuma decoded\n%+v", name, got, want)
		}
	}
	// The test means something only if both ways were taken.
	if checked < 20 || declined < 40 {
		t.Errorf("checked %d, declined %d bodies", checked, declined)
	}
}

// TestReportBodyMemberGivenTwice: the last value counts (as in the tree huma
// validated); an earlier value of the wrong type, which huma's typed
// decoding refused, is no longer an error (docs/api.md).
func TestReportBodyMemberGivenTwice(t *testing.T) {
	call := `{"calls":[{"connection_id":"conn_1","method":"GET","path":"/orders","status_code":201,"duration_ms":12,"started_at":"2026-12-03T10:00:00Z"}]}`
	for _, twice := range [][2]string{
		{`"status_code":201`, `"status_code":"x","status_code":201`},
		{`"status_code":201`, `"status_code":1.5,"status_code":201`},
		{`"status_code":201`, `"status_code":true,"status_code":201`},
		{`"status_code":201`, `"status_code":[200],"status_code":201`},
		{`"path":"/orders"`, `"path":{"a":[1,"x\"]"]},"path":"/orders"`},
		{`"path":"/orders"`, "\"path\":\"/\xff\",\"path\":\"/orders\""},
		{`"method":"GET"`, `"method":"G\u0045T","method":"GET"`},
		{`"duration_ms":12`, `"duration_ms":99999999999999999999,"duration_ms":12`},
	} {
		body := strings.Replace(call, twice[0], twice[1], 1)
		calls, err := reportsDecoder().decode("application/json", []byte(body))
		if err != nil || len(calls) != 1 || calls[0].StatusCode == nil || *calls[0].StatusCode != 201 ||
			calls[0].Path != "/orders" || calls[0].Method != "GET" || calls[0].DurationMS != 12 {
			t.Errorf("%s: %+v, %v", body, calls, err)
		}
	}
}

// TestReportBodyThatIsNotJSON gets the answers huma gave: 400 for a body
// that is not JSON, 415 for a content type that is not.
func TestReportBodyThatIsNotJSON(t *testing.T) {
	d := reportsDecoder()
	call := `{"calls":[{"connection_id":"conn_1","method":"GET","path":"/orders","status_code":200,"duration_ms":12,"started_at":"2026-12-03T10:00:00Z"}]}`
	for _, tc := range []struct {
		contentType, body string
		status            int
	}{
		{"application/json", `{"calls": [`, http.StatusBadRequest},
		// Not JSON, though a later member would replace the broken value.
		{"application/json", strings.Replace(call, `"method":"GET"`, `"method":"G\qT","method":"GET"`, 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"path":"/orders"`, `"path":{"a":},"path":"/orders"`, 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"status_code":200`, `"status_code":01,"status_code":200`, 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"status_code":200`, `"status_code":1.,"status_code":200`, 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"status_code":200`, `"status_code":1e,"status_code":200`, 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"status_code":200`, `"status_code":nul,"status_code":200`, 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"/orders"`, "\"/or\nders\"", 1), http.StatusBadRequest},
		{"application/json", strings.Replace(call, `"status_code":200`, `"status_code":200,`, 1), http.StatusBadRequest},
		{"application/json", call + "x", http.StatusBadRequest},
		{"text/plain", `{"calls": []}`, http.StatusUnsupportedMediaType},
	} {
		_, err := d.decode(tc.contentType, []byte(tc.body))
		if p, ok := err.(*Problem); !ok || p.Status != tc.status {
			t.Errorf("%s %s: %v, want %d", tc.contentType, tc.body, err, tc.status)
		}
	}
}

func BenchmarkReportBody(b *testing.B) {
	call := `{"connection_id": "conn_06H3QTK5ZG3V9J2JFNQF3XZ5EG", "method": "GET", "path": "/orders?limit=10", "status_code": 200, "duration_ms": 12, "started_at": "2026-12-03T10:00:00.123Z"}`
	body := []byte(`{"calls": [` + strings.Repeat(call+",", 999) + call + `]}`)
	b.Run("huma", func(b *testing.B) { // what huma did: the tree, its validation, the types
		d := reportsDecoder()
		for b.Loop() {
			if _, err := humaDecode(d, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tether", func(b *testing.B) {
		d := reportsDecoder()
		for b.Loop() {
			if _, err := d.decode("application/json", body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
