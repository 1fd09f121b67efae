package catalog

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/tetherhq/tether"
)

var (
	authKeys   = []string{"type", "fields", "header", "query", "authorize_url", "token_url", "scopes", "client_id_env", "client_secret_env"}
	oauth2Keys = []string{"authorize_url", "token_url", "scopes", "client_id_env", "client_secret_env"}
	authTypes  = []string{tether.AuthAPIKey, tether.AuthBasic, tether.AuthBearer, tether.AuthOAuth2}

	// reservedFields are where an oauth2 connection keeps its tokens, in the
	// same credential map as the fields: a field of that name would clash.
	reservedFields = []string{"access_token", "refresh_token", "expires_at"}

	// headerNamePattern is an RFC 9110 token, what a header name may be.
	headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	envNamePattern    = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

func decodeAuth(o *object) (tether.AuthSpec, *credentialFields) {
	fields := decodeFields(o)
	auth := tether.AuthSpec{Type: o.required("type"), Fields: fields.specs()}
	switch auth.Type {
	case tether.AuthAPIKey:
		auth.Header, auth.Query = decodeInjection(o, fields)
	case tether.AuthBasic:
		fields.requireBuiltIn(o, auth.Type, "username", false)
		fields.requireBuiltIn(o, auth.Type, "password", true)
	case tether.AuthBearer:
		fields.requireBuiltIn(o, auth.Type, "token", true)
	case tether.AuthOAuth2:
		decodeOAuth2(o, &auth, fields)
	case "":
		// reported by required
	default:
		o.errorf("type", "%q is not one of %s", auth.Type, strings.Join(authTypes, ", "))
	}
	rejectForeignAuthKeys(o, auth.Type)
	return auth, fields
}

// rejectForeignAuthKeys reports keys another auth type uses: they would be
// ignored, which is never what the author meant.
func rejectForeignAuthKeys(o *object, typ string) {
	if typ == "" || !slices.Contains(authTypes, typ) {
		return
	}
	if typ != tether.AuthAPIKey {
		for _, key := range []string{"header", "query"} {
			if o.has(key) {
				o.errorf(key, "is only used by type api_key (type %s sends its own Authorization header)", typ)
			}
		}
	}
	if typ != tether.AuthOAuth2 {
		for _, key := range oauth2Keys {
			if o.has(key) {
				o.errorf(key, "is only used by type oauth2")
			}
		}
	}
}

func decodeFields(o *object) *credentialFields {
	fields := &credentialFields{byName: map[string]tether.FieldSpec{}, lines: map[string]int{}, used: map[string]bool{}}
	for _, f := range o.objects("fields", "name", "label", "secret") {
		if f == nil {
			continue
		}
		name := f.required("name")
		switch {
		case name == "":
		case !identifierPattern.MatchString(name):
			f.errorf("name", "%q must match [a-z0-9_]+ (it names a form input and a {placeholder})", name)
		case slices.Contains(reservedFields, name):
			f.errorf("name", "%q is reserved for OAuth2 tokens", name)
		case fields.lines[name] != 0:
			f.errorf("name", "%q is declared twice (first at line %d)", name, fields.lines[name])
		default:
			fields.add(tether.FieldSpec{Name: name, Label: labelOf(f, name), Secret: f.boolean("secret")}, f.lineOf("name"))
		}
	}
	return fields
}

func labelOf(f *object, name string) string {
	if label := f.str("label"); label != "" {
		return label
	}
	return humanize(name)
}

// acronyms keep their capitals when a field name becomes a label.
var acronyms = map[string]string{"api": "API", "id": "ID", "url": "URL", "oauth": "OAuth", "ip": "IP"}

// humanize turns a field name into a label: "api_key" → "API key".
func humanize(name string) string {
	var words []string
	for w := range strings.SplitSeq(name, "_") {
		switch {
		case w == "":
			continue
		case acronyms[w] != "":
			w = acronyms[w]
		case len(words) == 0:
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// decodeInjection reads where an api_key credential goes: exactly one of a
// header or a query parameter.
func decodeInjection(o *object, fields *credentialFields) (header, query *tether.InjectSpec) {
	switch {
	case !o.has("header") && !o.has("query"):
		o.d.problem(o.line, "auth: type api_key needs header or query (where the key is sent)")
	case o.has("header") && o.has("query"):
		o.errorf("query", "cannot be used together with auth.header: type api_key needs exactly one")
	}
	header = decodeInject(o.object("header", "name", "value"), fields, true)
	query = decodeInject(o.object("query", "name", "value"), fields, false)
	return header, query
}

func decodeInject(o *object, fields *credentialFields, isHeader bool) *tether.InjectSpec {
	if o == nil {
		return nil
	}
	spec := &tether.InjectSpec{Name: o.required("name"), Value: o.required("value")}
	if isHeader && spec.Name != "" && !headerNamePattern.MatchString(spec.Name) {
		o.errorf("name", "%q is not a valid header name", spec.Name)
	}
	if spec.Value == "" {
		return spec
	}
	// The value must carry a secret field: a constant, or a non-secret field,
	// would mean the key itself is logged and shown unredacted.
	if refs := fields.useTemplate(o, "value", spec.Value); !fields.anySecret(refs) {
		o.errorf("value", "%q uses no secret field: reference the key as {field} and mark that field secret: true", spec.Value)
	}
	return spec
}

func decodeOAuth2(o *object, auth *tether.AuthSpec, fields *credentialFields) {
	auth.AuthorizeURL = decodeOAuth2URL(o, "authorize_url", fields)
	auth.TokenURL = decodeOAuth2URL(o, "token_url", fields)
	for _, s := range o.scalars("scopes") {
		if s.value == "" || strings.ContainsAny(s.value, " \t") {
			o.d.problem(s.line, "%s: scope %q must be one word (list each scope separately)", o.at("scopes"), s.value)
			continue
		}
		auth.Scopes = append(auth.Scopes, s.value)
	}
	auth.ClientIDEnv = decodeEnvName(o, "client_id_env")
	auth.ClientSecretEnv = decodeEnvName(o, "client_secret_env")
}

// decodeOAuth2URL checks an OAuth2 endpoint. It may hold {field} placeholders
// (e.g. a subdomain the Link page asks for before the redirect), but not in
// its scheme: the endpoint that receives the client secret must be fixed.
func decodeOAuth2URL(o *object, key string, fields *credentialFields) string {
	raw := o.required(key)
	if raw != "" {
		checkURL(o, key, raw, fields, false)
	}
	return raw
}

func decodeEnvName(o *object, key string) string {
	name := o.required(key)
	if name != "" && !envNamePattern.MatchString(name) {
		o.errorf(key, "%q is not an environment variable name like ACME_CLIENT_ID", name)
	}
	return name
}

// checkURL checks that raw, with its {placeholders} filled, is an absolute
// http(s) URL, and returns it parsed (nil when it is not checkable).
// schemeFromField lets raw start with a placeholder holding scheme and host.
func checkURL(o *object, key, raw string, fields *credentialFields, schemeFromField bool) *url.URL {
	fields.useTemplate(o, key, raw)
	if schemeFromField && strings.HasPrefix(raw, "{") {
		return nil
	}
	u, err := url.Parse(placeholderPattern.ReplaceAllString(raw, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		o.errorf(key, "%q must be an absolute http or https URL", raw)
		return nil
	}
	return u
}

// placeholderPattern finds the {field} placeholders of a template.
var placeholderPattern = regexp.MustCompile(`\{([^{}]*)\}`)

// credentialFields are the auth fields a definition declares, and which of
// them it uses, to catch placeholders naming no field and fields feeding
// nothing.
type credentialFields struct {
	order  []string
	byName map[string]tether.FieldSpec
	lines  map[string]int
	used   map[string]bool
}

func (f *credentialFields) add(spec tether.FieldSpec, line int) {
	f.order = append(f.order, spec.Name)
	f.byName[spec.Name] = spec
	f.lines[spec.Name] = line
}

func (f *credentialFields) specs() []tether.FieldSpec {
	specs := make([]tether.FieldSpec, len(f.order))
	for i, name := range f.order {
		specs[i] = f.byName[name]
	}
	return specs
}

func (f *credentialFields) anySecret(names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return f.byName[n].Secret })
}

// useTemplate checks that every {placeholder} in the value at o[key] names a
// declared field, marks those fields used and returns their names.
func (f *credentialFields) useTemplate(o *object, key, value string) []string {
	var names []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(value, -1) {
		name := m[1]
		if _, ok := f.byName[name]; !ok {
			o.errorf(key, "placeholder {%s} is not a declared auth field (declared: %s)", name, f.declared())
			continue
		}
		f.used[name] = true
		names = append(names, name)
	}
	if strings.ContainsAny(placeholderPattern.ReplaceAllString(value, ""), "{}") {
		o.errorf(key, "%q has an unmatched { or }", value)
	}
	return names
}

func (f *credentialFields) declared() string {
	if len(f.order) == 0 {
		return "none"
	}
	return strings.Join(f.order, ", ")
}

// requireBuiltIn checks a field the auth type itself sends (basic's username
// and password, bearer's token); the one carrying the credential must be
// secret, or it would be logged and shown.
func (f *credentialFields) requireBuiltIn(o *object, typ, name string, secret bool) {
	spec, ok := f.byName[name]
	if !ok {
		o.errorf("fields", "must declare a field named %q for type %s", name, typ)
		return
	}
	f.used[name] = true
	if secret && !spec.Secret {
		o.d.problem(f.lines[name], "%s: field %q must be secret: true", o.at("fields"), name)
	}
}

// reportUnused reports fields nothing refers to: the Link page would ask for
// a value that is then thrown away, usually a misspelt placeholder.
func (f *credentialFields) reportUnused(top *object) {
	for _, name := range f.order {
		if !f.used[name] {
			top.d.problem(f.lines[name], "auth.fields: field %q is not used: refer to it as {%s} in base_url or an auth value", name, name)
		}
	}
}
