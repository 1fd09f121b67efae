package catalog

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder reads one definition file's YAML nodes and collects every problem
// it meets instead of stopping at the first, so one validation run shows them
// all.
type decoder struct {
	file     string
	problems []Problem
}

func (d *decoder) problem(line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// object is a YAML mapping whose keys were checked against the ones its
// section allows. A nil *object stands for a section that is absent or
// malformed (and already reported): its getters return zero values and report
// nothing, so decoding code need not test for it at every step.
type object struct {
	d        *decoder
	where    string // dotted location used in messages: "auth", "resources.orders.sync"
	line     int    // where the section starts, for problems about missing keys
	keys     []string
	values   map[string]*yaml.Node
	keyLines map[string]int
}

// newObject checks that n is a mapping without repeated keys and, unless known
// is nil, without keys outside known (typos would otherwise be ignored silently).
func (d *decoder) newObject(n *yaml.Node, where string, line int, known []string) *object {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.problem(n.Line, "%s must be a mapping (key: value), not a %s", where, kindName(n))
		return nil
	}
	o := &object{d: d, where: where, line: line, values: map[string]*yaml.Node{}, keyLines: map[string]int{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		o.add(n.Content[i], resolve(n.Content[i+1]), known)
	}
	return o
}

func (o *object) add(k, v *yaml.Node, known []string) {
	key := k.Value
	switch {
	case k.Kind != yaml.ScalarNode:
		o.d.problem(k.Line, "%s: keys must be plain names", o.whereOr("definition"))
	case k.Tag == "!!merge":
		o.d.problem(k.Line, "%s: merge keys (<<) are not supported", o.whereOr("definition"))
	case known != nil && !slices.Contains(known, key):
		o.d.problem(k.Line, "unknown key %q%s (known: %s)", key, o.in(), strings.Join(known, ", "))
	case o.keyLines[key] != 0:
		o.d.problem(k.Line, "%s is set twice (first at line %d)", o.at(key), o.keyLines[key])
	default:
		o.keys = append(o.keys, key)
		o.values[key] = v
		o.keyLines[key] = k.Line
	}
}

// resolve follows YAML aliases (*anchor) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "single value"
	}
}

// in is " in LOCATION" for messages, or nothing at the top level.
func (o *object) in() string {
	if o.where == "" {
		return ""
	}
	return " in " + o.where
}

func (o *object) whereOr(top string) string {
	if o.where == "" {
		return top
	}
	return o.where
}

// at is the location of key in messages: "auth.type", "rules[1].signal".
func (o *object) at(key string) string {
	if o.where == "" {
		return key
	}
	return o.where + "." + key
}

// lineOf is the line of key's value, or of the section when key is absent.
func (o *object) lineOf(key string) int {
	if n, ok := o.values[key]; ok {
		return n.Line
	}
	return o.line
}

// node returns key's value; nil when it is absent or null, which the format
// treats alike ("key:" with nothing after it sets nothing).
func (o *object) node(key string) *yaml.Node {
	if o == nil {
		return nil
	}
	n := o.values[key]
	if n == nil || isNull(n) {
		return nil
	}
	return n
}

func (o *object) has(key string) bool { return o.node(key) != nil }

// errorf reports a problem with key, prefixed by its location.
func (o *object) errorf(key, format string, args ...any) {
	if o == nil {
		return
	}
	o.d.problem(o.lineOf(key), "%s %s", o.at(key), fmt.Sprintf(format, args...))
}

// missing reports a required key that is absent or empty.
func (o *object) missing(key string) {
	if o == nil {
		return
	}
	if _, present := o.values[key]; present {
		o.errorf(key, "is empty")
		return
	}
	o.errorf(key, "is required")
}

// str returns key's value as text ("" when absent). Numbers and booleans are
// taken as written, so `status: 200` and `equals: false` read naturally.
func (o *object) str(key string) string {
	n := o.node(key)
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		o.errorf(key, "must be a single value, not a %s", kindName(n))
		return ""
	}
	return n.Value
}

// required is str that reports an absent or empty value.
func (o *object) required(key string) string {
	if o == nil {
		return ""
	}
	if n := o.node(key); n == nil || (n.Kind == yaml.ScalarNode && n.Value == "") {
		o.missing(key)
		return ""
	}
	return o.str(key)
}

// integer returns key's value and true when it is a whole number.
func (o *object) integer(key string) (int, bool) {
	n := o.node(key)
	if n == nil {
		return 0, false
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		o.errorf(key, "must be a whole number, not %q", n.Value)
		return 0, false
	}
	return v, true
}

// boolean returns key's value, false when absent.
func (o *object) boolean(key string) bool {
	n := o.node(key)
	if n == nil {
		return false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		o.errorf(key, "must be true or false, not %q", n.Value)
		return false
	}
	return v
}

// object returns the mapping at key, nil when absent. Its keys must be among
// known.
func (o *object) object(key string, known ...string) *object {
	n := o.node(key)
	if n == nil {
		return nil
	}
	return o.d.newObject(n, o.at(key), o.keyLines[key], known)
}

// requiredObject is object that reports an absent section.
func (o *object) requiredObject(key string, known ...string) *object {
	if o != nil && !o.has(key) {
		o.missing(key)
	}
	return o.object(key, known...)
}

// mapping returns the mapping at key whose keys are names chosen by the
// author (resources), nil when absent.
func (o *object) mapping(key string) *object {
	n := o.node(key)
	if n == nil {
		return nil
	}
	return o.d.newObject(n, o.at(key), o.keyLines[key], nil)
}

// list returns the items of the list at key, nil when absent.
func (o *object) list(key string) []*yaml.Node {
	n := o.node(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.errorf(key, "must be a list, not a %s", kindName(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = resolve(item)
	}
	return items
}

// objects returns the list at key as mappings whose keys must be among known;
// malformed items are reported and come back nil.
func (o *object) objects(key string, known ...string) []*object {
	var out []*object
	for i, n := range o.list(key) {
		out = append(out, o.d.newObject(n, fmt.Sprintf("%s[%d]", o.at(key), i), n.Line, known))
	}
	return out
}

// scalar is one value of a list, with its line for problems about it.
type scalar struct {
	value string
	line  int
}

// scalars returns the list at key as single values; other items are reported
// and skipped.
func (o *object) scalars(key string) []scalar {
	var out []scalar
	for i, n := range o.list(key) {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			o.d.problem(n.Line, "%s[%d] must be a single value, not a %s", o.at(key), i, kindName(n))
			continue
		}
		out = append(out, scalar{value: n.Value, line: n.Line})
	}
	return out
}
