package catalog

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tetherhq/tether"
)

// identifierPattern is the shape of integration, resource and credential field
// names: they appear in URLs, form inputs and database rows alike.
var identifierPattern = tether.ProviderNamePattern

var topLevelKeys = []string{"name", "display_name", "category", "base_url", "auth", "verify", "rate_limit", "resources", "rules"}

// Parse parses and validates one definition. source names it in errors (a
// file path, or "builtin/acme_wms.yaml"). A validation failure is a
// *ValidationError listing every problem of the file.
func Parse(source string, data []byte) (*tether.ProviderDefinition, error) {
	def, _, err := parse(source, data)
	return def, err
}

// parse is Parse that also returns the line of the definition's name, which
// a problem about two files defining one name points at.
func parse(source string, data []byte) (*tether.ProviderDefinition, int, error) {
	d := &decoder{file: source}
	root := d.document(data)
	if root == nil {
		return nil, 0, validationError(d.problems)
	}
	top := d.newObject(root, "", root.Line, topLevelKeys)
	def := decodeDefinition(top)
	// Sections are checked in dependency order, not file order: sort so the
	// report reads top to bottom.
	slices.SortStableFunc(d.problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	if err := validationError(d.problems); err != nil {
		return nil, 0, err
	}
	def.Source = source
	return def, top.lineOf("name"), nil
}

// document returns the file's top-level mapping, or nil after reporting why
// there is none.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.problem(0, "the file is empty: a definition needs at least name, base_url, auth, verify and resources")
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.problem(extra.Line, "a second YAML document: put one definition per file")
	} else if !errors.Is(err, io.EOF) {
		d.syntaxError(err)
	}
	if len(doc.Content) == 0 || resolve(doc.Content[0]).Kind != yaml.MappingNode {
		d.problem(doc.Line, "a definition must be a YAML mapping (name: ..., base_url: ..., ...)")
		return nil
	}
	return resolve(doc.Content[0])
}

// yamlLineError matches yaml.v3's syntax errors, which carry the line only
// inside their text.
var yamlLineError = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError reports a YAML syntax error at its line. yaml.v3 (archived, so
// this will not change) counts lines from 1 in scanner errors but from 0 in
// parser errors ("did not find expected ..."), leaving "line 0" out; those
// are shifted so that every problem points at the line an editor shows.
func (d *decoder) syntaxError(err error) {
	m := yamlLineError.FindStringSubmatch(err.Error())
	if m == nil {
		d.problem(0, "invalid YAML: %s", err)
		return
	}
	line, _ := strconv.Atoi(m[1]) // 0 when absent
	if strings.HasPrefix(m[2], "did not find expected") {
		line++
	}
	d.problem(line, "invalid YAML: %s", m[2])
}

func decodeDefinition(top *object) *tether.ProviderDefinition {
	def := &tether.ProviderDefinition{
		Name:        decodeName(top),
		DisplayName: top.str("display_name"),
		Category:    top.str("category"),
	}
	if def.DisplayName == "" {
		def.DisplayName = def.Name
	}
	// Auth comes first: base_url and the auth values refer to its fields.
	var fields *credentialFields
	def.Auth, fields = decodeAuth(top.requiredObject("auth", authKeys...))
	def.BaseURL = decodeBaseURL(top, fields)
	def.Verify = decodeVerify(top.requiredObject("verify", "method", "path", "account_id"))
	def.RateLimit = decodeRateLimit(top.object("rate_limit", "requests", "per"))
	def.Resources = decodeResources(top)
	def.Rules = decodeRules(top.objects("rules", "status", "body_path", "equals", "signal"))
	if slices.Contains(authTypes, def.Auth.Type) { // otherwise which fields it uses is unknown
		fields.reportUnused(top)
	}
	return def
}

func decodeName(top *object) string {
	name := top.required("name")
	if name != "" && !identifierPattern.MatchString(name) {
		top.errorf("name", "%q must match [a-z0-9_]+ (lower case, digits, underscores)", name)
	}
	return name
}

// decodeBaseURL checks base_url and drops a trailing slash: request paths
// start with one, and "api//orders" would reach a different URL.
func decodeBaseURL(top *object, fields *credentialFields) string {
	raw := top.required("base_url")
	if raw == "" {
		return ""
	}
	// A base URL that starts with a field ("{server}/api") takes its scheme
	// and host from the credentials, so only the connection can check them.
	u := checkURL(top, "base_url", raw, fields, true)
	if u != nil && (u.RawQuery != "" || u.Fragment != "") {
		top.errorf("base_url", "%q must not have a query or fragment (credentials go in auth.header or auth.query)", raw)
	}
	return strings.TrimSuffix(raw, "/")
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// decodeMethod returns the request method at o.method, GET by default.
func decodeMethod(o *object) string {
	raw := o.str("method")
	if raw == "" {
		return "GET"
	}
	m := strings.ToUpper(raw)
	if !slices.Contains(httpMethods, m) {
		o.errorf("method", "%q is not one of %s", raw, strings.Join(httpMethods, ", "))
	}
	return m
}

// decodeRequestPath checks a path Tether requests as written (verify, probe,
// sync): relative to base_url, optionally with a fixed query string.
func decodeRequestPath(o *object, key string) string {
	p := o.required(key)
	switch {
	case p == "":
	case !strings.HasPrefix(p, "/"):
		o.errorf(key, "%q must start with \"/\" (it is relative to base_url)", p)
	case strings.ContainsAny(p, "{}"):
		o.errorf(key, "%q must not contain {placeholders}: only base_url and auth values are filled from credentials", p)
	}
	return p
}

// decodeDottedPath checks a place in a JSON answer, as tether.LookupPath
// follows it ("account.id", "data.0.id").
func decodeDottedPath(o *object, key string, required bool) string {
	var p string
	if required {
		p = o.required(key)
	} else {
		p = o.str(key)
	}
	if p != "" && slices.Contains(strings.Split(p, "."), "") {
		o.errorf(key, "%q is not a dotted path like account.id", p)
	}
	return p
}

func decodeVerify(o *object) tether.VerifySpec {
	if o == nil {
		return tether.VerifySpec{}
	}
	return tether.VerifySpec{
		Method:    decodeMethod(o),
		Path:      decodeRequestPath(o, "path"),
		AccountID: decodeDottedPath(o, "account_id", false),
	}
}

func decodeRateLimit(o *object) *tether.RateLimitSpec {
	if o == nil {
		return nil
	}
	spec := &tether.RateLimitSpec{Requests: positiveInt(o, "requests", true)}
	raw := o.required("per")
	if raw == "" {
		return spec
	}
	per, err := tether.ParseDuration(raw)
	switch {
	case err != nil:
		o.errorf("per", "%q is not a duration: use e.g. 1s, 10m, 1h or 1d", raw)
	case per <= 0:
		o.errorf("per", "%q must be longer than 0", raw)
	}
	spec.Per = per
	return spec
}

// positiveInt returns the whole number at key, reporting one below 1.
func positiveInt(o *object, key string, required bool) int {
	if !o.has(key) {
		if required {
			o.missing(key)
		}
		return 0
	}
	n, ok := o.integer(key)
	if ok && n <= 0 {
		o.errorf(key, "must be greater than 0, not %d", n)
	}
	return n
}

var signalNames = []string{tether.SignalSuccess, tether.SignalAuthFailure, tether.SignalPermissionFailure, tether.SignalTransient, tether.SignalRequestError}

func decodeRules(items []*object) []tether.RuleSpec {
	var rules []tether.RuleSpec
	for _, o := range items {
		if o == nil {
			continue
		}
		rules = append(rules, decodeRule(o))
	}
	return rules
}

func decodeRule(o *object) tether.RuleSpec {
	rule := tether.RuleSpec{
		Status:   decodeStatus(o),
		BodyPath: decodeDottedPath(o, "body_path", false),
		Equals:   o.str("equals"),
		Signal:   o.required("signal"),
	}
	// equals is compared with the value at body_path: one without the other
	// would silently match every answer with that status.
	switch {
	case o.has("equals") && !o.has("body_path"):
		o.errorf("equals", "needs body_path (the dotted path of the value to compare)")
	case o.has("body_path") && !o.has("equals"):
		o.errorf("body_path", "needs equals (the value to compare with)")
	}
	if rule.Signal != "" && !tether.ValidSignal(rule.Signal) {
		o.errorf("signal", "%q is not one of %s", rule.Signal, strings.Join(signalNames, ", "))
	}
	return rule
}

var statusClass = regexp.MustCompile(`^[1-5]xx$`)

// decodeStatus returns a rule's status as a code ("200") or a class ("4xx").
func decodeStatus(o *object) string {
	s := o.required("status")
	if s == "" || statusClass.MatchString(s) {
		return s
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		o.errorf("status", "%q is not a status code (100-599) or class (1xx-5xx)", s)
		return s
	}
	return strconv.Itoa(code)
}
