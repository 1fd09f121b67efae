package api

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"

	tether "github.com/tetherhq/tether"
)

// reportScanner reads a body of POST /v1/calls in one pass, straight into
// the calls, for reportBodyDecoder.checked; a tree of maps, as encoding/json
// builds for a body of unknown shape, took most of the endpoint's CPU. It
// reads values only where it reads them exactly as encoding/json would:
// strings without escapes and in valid UTF-8, integer literals, null and
// booleans, in the members of the schema by their exact names. Anything
// else makes it decline (ok false), and the body goes to the schema's
// validation, which gives the answer huma always gave.
type reportScanner struct {
	body []byte
	pos  int
}

// scanReportBody returns the calls of body, or ok false if the scanner
// declines it.
func scanReportBody(body []byte) (calls []ReportedCall, ok bool) {
	s := &reportScanner{body: body}
	if !s.take('{') || !s.member("calls") || !s.take('[') {
		return nil, false
	}
	calls = make([]ReportedCall, 0, 64)
	for len(calls) == 0 || s.take(',') {
		if len(calls) == maxReportedCalls {
			return nil, false // the schema's maximum: its validation answers
		}
		calls = append(calls, ReportedCall{})
		if !s.call(&calls[len(calls)-1]) {
			return nil, false
		}
	}
	if !s.take(']') || !s.take('}') {
		return nil, false
	}
	s.skipSpace()
	return calls, s.pos == len(s.body)
}

// The members of a reported call, as indexes of the values call reads.
const (
	memberConnectionID = iota
	memberMethod
	memberPath
	memberStatusCode
	memberDurationMS
	memberStartedAt
	memberResource
	memberError
	memberCount
)

// memberOf returns the slot of a member's name; false for a name the
// schema does not have (encoding/json would match names in any case).
func memberOf(name []byte) (int, bool) {
	switch string(name) {
	case "connection_id":
		return memberConnectionID, true
	case "method":
		return memberMethod, true
	case "path":
		return memberPath, true
	case "status_code":
		return memberStatusCode, true
	case "duration_ms":
		return memberDurationMS, true
	case "started_at":
		return memberStartedAt, true
	case "resource":
		return memberResource, true
	case "error":
		return memberError, true
	}
	return 0, false
}

// scalarKind is the JSON type of a member's value.
type scalarKind uint8

const (
	absent scalarKind = iota
	jsonString
	jsonInteger
	jsonNull
	jsonBool
	jsonOther // valid JSON of no type a member may have
)

// scalar is a member's value as written: its type and, for a string, its
// text (which has no escapes) or, for an integer, its literal, pointing into
// the body.
type scalar struct {
	kind scalarKind
	raw  []byte
}

// call reads one call's object into c: each member's last value counts, as
// in the tree huma validated, and the values then keep the schema's rules.
func (s *reportScanner) call(c *ReportedCall) bool {
	var members [memberCount]scalar
	if !s.take('{') {
		return false
	}
	for first := true; !s.take('}'); first = false {
		if !first && !s.take(',') {
			return false
		}
		name, ok := s.name()
		if !ok {
			return false
		}
		slot, ok := memberOf(name)
		if !ok || !s.take(':') {
			return false
		}
		if members[slot], ok = s.value(); !ok {
			return false
		}
	}
	return fillReportedCall(c, &members)
}

// fillReportedCall sets c from the values of its members if they keep the
// schema's rules: every required one present, each of its type and within
// its bounds.
func fillReportedCall(c *ReportedCall, m *[memberCount]scalar) bool {
	var ok [memberCount]bool
	c.ConnectionID, ok[memberConnectionID] = nonEmptyText(m[memberConnectionID], math.MaxInt)
	c.Method, ok[memberMethod] = nonEmptyText(m[memberMethod], maxMethodLength)
	c.Path, ok[memberPath] = nonEmptyText(m[memberPath], maxPathLength)
	c.StatusCode, ok[memberStatusCode] = statusCode(m[memberStatusCode])
	c.DurationMS, ok[memberDurationMS] = integer(m[memberDurationMS], 0, math.MaxInt64)
	c.StartedAt, ok[memberStartedAt] = startTime(m[memberStartedAt])
	ok[memberResource], ok[memberError] = true, true // optional
	if m[memberResource].kind != absent {
		c.Resource, ok[memberResource] = text(m[memberResource], math.MaxInt)
	}
	if m[memberError].kind != absent {
		c.Error, ok[memberError] = text(m[memberError], maxErrorLength)
	}
	for _, good := range ok {
		if !good {
			return false
		}
	}
	return true
}

// text is v's text if it is a string of at most maxLen characters.
func text(v scalar, maxLen int) (string, bool) {
	// n bytes hold at most n characters: count them only past maxLen bytes.
	if v.kind != jsonString || len(v.raw) > maxLen && utf8.RuneCount(v.raw) > maxLen {
		return "", false
	}
	return string(v.raw), true
}

// nonEmptyText is v's text if it is a string of 1 to maxLen characters.
func nonEmptyText(v scalar, maxLen int) (string, bool) {
	s, ok := text(v, maxLen)
	return s, ok && s != ""
}

// integer is v's value if it is an integer from lo to hi.
func integer(v scalar, lo, hi int64) (int64, bool) {
	if v.kind != jsonInteger {
		return 0, false
	}
	digits, negative := v.raw, v.raw[0] == '-'
	if negative {
		digits = digits[1:]
	}
	var n uint64
	for _, d := range digits {
		if n > (math.MaxInt64-9)/10 {
			return 0, false // past int64, as strconv.ParseInt would say
		}
		n = n*10 + uint64(d-'0')
	}
	value := int64(n)
	if negative {
		value = -value
	}
	return value, value >= lo && value <= hi
}

// statusCode is v as a status code, nil for null (no answer came).
func statusCode(v scalar) (*int, bool) {
	if v.kind == jsonNull {
		return nil, true
	}
	n, ok := integer(v, minStatusCode, maxStatusCode)
	if !ok {
		return nil, false
	}
	code := int(n)
	return &code, true
}

// startTime is v as tether.Time reads it (RFC 3339).
func startTime(v scalar) (tether.Time, bool) {
	if v.kind != jsonString {
		return tether.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(v.raw))
	if err != nil {
		return tether.Time{}, false
	}
	return tether.NewTime(t), true
}

// member reads `"name":`.
func (s *reportScanner) member(name string) bool {
	got, ok := s.name()
	return ok && string(got) == name && s.take(':')
}

// take skips white space and then the byte b, if it is next.
func (s *reportScanner) take(b byte) bool {
	s.skipSpace()
	if s.pos < len(s.body) && s.body[s.pos] == b {
		s.pos++
		return true
	}
	return false
}

// skipSpace skips JSON's white space.
func (s *reportScanner) skipSpace() {
	for s.pos < len(s.body) {
		switch s.body[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value reads a member's value. Strings without escapes in valid UTF-8,
// integer literals, null and booleans are read; any other value (an escaped
// string, another number, an object, an array) is valid JSON that no
// member may hold as the scanner reads it: it counts only if a later value
// of the member replaces it, otherwise the body is declined.
func (s *reportScanner) value() (scalar, bool) {
	s.skipSpace()
	if s.pos == len(s.body) {
		return scalar{}, false
	}
	switch c := s.body[s.pos]; {
	case c == '"':
		return s.stringValue()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == '{' || c == '[':
		return scalar{kind: jsonOther}, s.skipComposite()
	case s.literal("null"):
		return scalar{kind: jsonNull}, true
	case s.literal("true"), s.literal("false"):
		return scalar{kind: jsonBool}, true
	}
	return scalar{}, false
}

// name reads a member's name: a string without escapes.
func (s *reportScanner) name() ([]byte, bool) {
	s.skipSpace()
	if s.pos == len(s.body) || s.body[s.pos] != '"' {
		return nil, false
	}
	v, ok := s.stringValue()
	return v.raw, ok && v.kind == jsonString
}

// stringValue reads the string at s.pos: a jsonString of its text if it has
// no escape and is valid UTF-8 (encoding/json would turn invalid bytes into
// U+FFFD), a jsonOther otherwise; false if it is not valid JSON.
func (s *reportScanner) stringValue() (scalar, bool) {
	s.pos++ // the opening quote
	start, escaped := s.pos, false
	for ; s.pos < len(s.body); s.pos++ {
		switch b := s.body[s.pos]; {
		case b == '"':
			raw := s.body[start:s.pos]
			s.pos++
			if escaped { // valid only if every escape is
				return scalar{kind: jsonOther}, json.Valid(s.body[start-1 : s.pos])
			}
			if !utf8.Valid(raw) {
				return scalar{kind: jsonOther}, true
			}
			return scalar{kind: jsonString, raw: raw}, true
		case b == '\\':
			escaped = true
			s.pos++ // the escaped byte: \" does not end the string
		case b < 0x20:
			return scalar{}, false
		}
	}
	return scalar{}, false
}

// number reads a JSON number: a jsonInteger if it is an integer literal, a
// jsonOther if it has a fraction or an exponent (200.0 and 2e2 are
// integers to the schema but not to the typed decoding).
func (s *reportScanner) number() (scalar, bool) {
	start := s.pos
	if s.body[s.pos] == '-' {
		s.pos++
	}
	if n := s.digits(); n == 0 || n > 1 && s.body[s.pos-n] == '0' {
		return scalar{}, false
	}
	kind := jsonInteger
	if s.pos < len(s.body) && s.body[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return scalar{}, false
		}
		kind = jsonOther
	}
	if s.pos < len(s.body) && (s.body[s.pos] == 'e' || s.body[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.body) && (s.body[s.pos] == '+' || s.body[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return scalar{}, false
		}
		kind = jsonOther
	}
	return scalar{kind: kind, raw: s.body[start:s.pos]}, true
}

// digits skips decimal digits and returns how many there were.
func (s *reportScanner) digits() int {
	start := s.pos
	for s.pos < len(s.body) && s.body[s.pos] >= '0' && s.body[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

// skipComposite skips the object or array at s.pos, if it is valid JSON.
func (s *reportScanner) skipComposite() bool {
	dec := json.NewDecoder(bytes.NewReader(s.body[s.pos:]))
	var skipped json.RawMessage
	if err := dec.Decode(&skipped); err != nil {
		return false
	}
	s.pos += int(dec.InputOffset())
	return true
}

// literal reads word if it is next.
func (s *reportScanner) literal(word string) bool {
	end := s.pos + len(word)
	if end <= len(s.body) && string(s.body[s.pos:end]) == word {
		s.pos = end
		return true
	}
	return false
}
