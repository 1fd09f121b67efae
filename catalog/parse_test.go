package catalog

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetherhq/tether"
)

// base is a valid definition; the validation cases edit one of its lines, so
// the line numbers in their expectations refer to it.
const base = `name: acme
base_url: "https://{subdomain}.acme.example/api"
auth:
  type: api_key
  fields:
    - {name: subdomain}
    - {name: api_key, secret: true}
  header: {name: X-Api-Key, value: "{api_key}"}
verify: {path: /me}
rate_limit: {requests: 10, per: 1s}
resources:
  orders:
    paths: ["/orders", "/orders/*"]
    probe: {path: "/orders?limit=1"}
    sync:
      path: /orders
      records: data
      id: id
      pagination: {type: cursor, param: cursor, next: meta.next}
      incremental: {param: updated_since}
rules:
  - {status: 200, body_path: error, equals: invalid_auth, signal: auth_failure}
`

// edit returns base with old replaced by new; old must occur in base, so a
// case cannot silently test the unedited definition.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("base has no %q", old)
	}
	return strings.Replace(base, old, new, 1)
}

// problemsOf parses doc and returns its problems, failing if it is valid.
func problemsOf(t *testing.T, doc string) []Problem {
	t.Helper()
	_, err := Parse("test.yaml", []byte(doc))
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("Parse error = %v, want a *ValidationError", err)
	}
	return invalid.Problems
}

// wantProblem checks that some problem is at line and mentions reason.
func wantProblem(t *testing.T, problems []Problem, line int, reason string) {
	t.Helper()
	for _, p := range problems {
		if p.Line == line && strings.Contains(p.Reason, reason) {
			if p.File != "test.yaml" {
				t.Errorf("problem file = %q, want test.yaml", p.File)
			}
			return
		}
	}
	t.Errorf("no problem at line %d containing %q; got:\n%v", line, reason, (&ValidationError{problems}).Error())
}

func TestBaseIsValid(t *testing.T) {
	if _, err := Parse("test.yaml", []byte(base)); err != nil {
		t.Fatal(err)
	}
}

func TestParseFillsDefinition(t *testing.T) {
	def, err := Parse("test.yaml", []byte(`name: acme
base_url: "https://{subdomain}.acme.example/api/"
auth:
  type: api_key
  fields:
    - {name: subdomain}
    - {name: api_key, secret: true}
  query: {name: key, value: "{api_key}"}
verify: {method: post, path: /me, account_id: account.id}
rate_limit: {requests: 10, per: 1d12h}
resources:
  zeta:
    paths: [/zeta]
  orders:
    paths: ["/orders", "/orders/**"]
    probe: {path: "/orders?limit=1"}
    sync:
      path: /orders
      id: id
      pagination: {type: page, param: page}
  alpha:
    paths: [/alpha]
rules:
  - {status: 4xx, signal: request_error}
  - {status: "200", body_path: ok, equals: false, signal: auth_failure}
`))
	if err != nil {
		t.Fatal(err)
	}
	orders := def.Resource("orders")
	checks := []struct {
		name      string
		got, want any
	}{
		{"display name defaults to name", def.DisplayName, "acme"},
		{"base_url loses its trailing slash", def.BaseURL, "https://{subdomain}.acme.example/api"},
		{"source", def.Source, "test.yaml"},
		{"label from a name with an acronym", def.Auth.Fields[1].Label, "API key"},
		{"label from a plain name", def.Auth.Fields[0].Label, "Subdomain"},
		{"secret", def.Auth.Fields[1].Secret, true},
		{"query injection", *def.Auth.Query, tether.InjectSpec{Name: "key", Value: "{api_key}"}},
		{"no header", def.Auth.Header == nil, true},
		{"method upper-cased", def.Verify.Method, "POST"},
		{"account id", def.Verify.AccountID, "account.id"},
		{"rate limit with days", *def.RateLimit, tether.RateLimitSpec{Requests: 10, Per: 36 * time.Hour}},
		{"resources keep the file's order", strings.Join(resourceNames(def), ","), "zeta,orders,alpha"},
		{"no probe", def.Resource("zeta").Probe == nil, true},
		{"no sync", def.Resource("zeta").Sync == nil, true},
		{"probe method defaults to GET", *orders.Probe, tether.ProbeSpec{Method: "GET", Path: "/orders?limit=1"}},
		{"absent records means the body", orders.Sync.Records, ""},
		{"pagination", orders.Sync.Pagination, tether.PaginationSpec{Type: "page", Param: "page"}},
		{"no incremental", orders.Sync.Incremental == nil, true},
		{"status class", def.Rules[0], tether.RuleSpec{Status: "4xx", Signal: "request_error"}},
		{"quoted status, boolean equals", def.Rules[1], tether.RuleSpec{Status: "200", BodyPath: "ok", Equals: "false", Signal: "auth_failure"}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func resourceNames(def *tether.ProviderDefinition) []string {
	var names []string
	for _, r := range def.Resources {
		names = append(names, r.Name)
	}
	return names
}

func TestValidationProblems(t *testing.T) {
	// Each case replaces old by new in base and expects a problem at line
	// (counted in the edited file) whose reason contains reason.
	cases := []struct {
		name, old, new string
		line           int
		reason         string
	}{
		{"name shape", "name: acme", "name: Acme-WMS", 1, `name "Acme-WMS" must match [a-z0-9_]+`},
		{"name missing", "name: acme\n", "", 1, "name is required"},
		{"name empty", "name: acme", `name: ""`, 1, "name is empty"},

		{"base_url scheme", `base_url: "https://{subdomain}.acme.example/api"`, `base_url: "ftp://{subdomain}.acme.example"`, 2, `base_url "ftp://{subdomain}.acme.example" must be an absolute http or https URL`},
		{"base_url relative", `base_url: "https://{subdomain}.acme.example/api"`, `base_url: "/api/{subdomain}"`, 2, "must be an absolute http or https URL"},
		{"base_url placeholder", `{subdomain}.acme.example/api"`, `{tenant}.acme.example/api"`, 2, "base_url placeholder {tenant} is not a declared auth field (declared: subdomain, api_key)"},
		{"base_url query", `/api"`, `/api?v=2"`, 2, "must not have a query or fragment"},
		{"base_url brace", `{subdomain}.acme`, `{subdomain.acme`, 2, "has an unmatched { or }"},
		{"base_url missing", "base_url: \"https://{subdomain}.acme.example/api\"\n", "", 1, "base_url is required"},

		{"auth type", "type: api_key", "type: apikey", 4, `auth.type "apikey" is not one of api_key, basic, bearer, oauth2`},
		{"api_key without header or query", "  header: {name: X-Api-Key, value: \"{api_key}\"}\n", "", 3, "type api_key needs header or query"},
		{"api_key with header and query", "  header: {name: X-Api-Key, value: \"{api_key}\"}\n", "  header: {name: X-Api-Key, value: \"{api_key}\"}\n  query: {name: key, value: \"{api_key}\"}\n", 9, "auth.query cannot be used together with auth.header"},
		{"header value without secret", `value: "{api_key}"`, `value: "{subdomain}"`, 8, "auth.header.value \"{subdomain}\" uses no secret field"},
		{"header value placeholder", `value: "{api_key}"`, `value: "Token {apikey}"`, 8, "auth.header.value placeholder {apikey} is not a declared auth field"},
		{"header name", "name: X-Api-Key", `name: "X Api Key"`, 8, `auth.header.name "X Api Key" is not a valid header name`},
		{"header name missing", "{name: X-Api-Key, value", "{value", 8, "auth.header.name is required"},
		{"oauth2 key on api_key", "  type: api_key\n", "  type: api_key\n  token_url: https://acme.example/token\n", 5, "auth.token_url is only used by type oauth2"},
		{"unknown auth key", "  type: api_key\n", "  type: api_key\n  hedaer: {}\n", 5, `unknown key "hedaer" in auth (known: type, fields, header`},

		{"field name shape", "- {name: subdomain}", "- {name: Sub-Domain}", 6, `auth.fields[0].name "Sub-Domain" must match [a-z0-9_]+`},
		{"field name twice", "- {name: subdomain}", "- {name: subdomain}\n    - {name: subdomain}", 7, `"subdomain" is declared twice (first at line 6)`},
		{"field name reserved", "- {name: subdomain}", "- {name: refresh_token}", 6, `"refresh_token" is reserved for OAuth2 tokens`},
		{"field unused", "- {name: api_key, secret: true}", "- {name: api_key, secret: true}\n    - {name: region}", 8, `field "region" is not used`},
		{"field secret not a boolean", "secret: true", "secret: yes", 7, `auth.fields[1].secret must be true or false, not "yes"`},
		{"field unknown key", "- {name: subdomain}", "- {name: subdomain, lable: Tenant}", 6, `unknown key "lable" in auth.fields[0]`},
		{"fields not a list", "  fields:\n    - {name: subdomain}\n    - {name: api_key, secret: true}\n", "  fields: api_key\n", 5, "auth.fields must be a list, not a single value"},

		{"verify method", "verify: {path: /me}", "verify: {method: FETCH, path: /me}", 9, `verify.method "FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS`},
		{"verify path missing", "verify: {path: /me}", "verify: {method: GET}", 9, "verify.path is required"},
		{"verify path relative", "verify: {path: /me}", "verify: {path: me}", 9, `verify.path "me" must start with "/"`},
		{"verify path placeholder", "verify: {path: /me}", `verify: {path: "/users/{id}"}`, 9, "must not contain {placeholders}"},
		{"verify account_id", "verify: {path: /me}", "verify: {path: /me, account_id: account..id}", 9, `verify.account_id "account..id" is not a dotted path`},
		{"verify unknown key", "verify: {path: /me}", "verify: {path: /me, acount_id: id}", 9, `unknown key "acount_id" in verify`},
		{"verify missing", "verify: {path: /me}\n", "", 1, "verify is required"},

		{"rate requests zero", "requests: 10", "requests: 0", 10, "rate_limit.requests must be greater than 0"},
		{"rate requests not a number", "requests: 10", "requests: ten", 10, `rate_limit.requests must be a whole number, not "ten"`},
		{"rate per invalid", "per: 1s", "per: soon", 10, `rate_limit.per "soon" is not a duration`},
		{"rate per zero", "per: 1s", "per: 0s", 10, `rate_limit.per "0s" must be longer than 0`},
		{"rate per missing", "rate_limit: {requests: 10, per: 1s}", "rate_limit: {requests: 10}", 10, "rate_limit.per is required"},

		{"resources empty", "resources:\n  orders:", "resources: {}\nold:\n  orders:", 11, "resources must declare at least one resource"},
		{"resource name", "  orders:", "  Orders:", 12, `resource name "Orders" must match [a-z0-9_]+`},
		{"resource unknown key", "    sync:", "    snyc:", 15, `unknown key "snyc" in resources.orders`},
		{"paths missing", "    paths: [\"/orders\", \"/orders/*\"]\n", "", 12, "resources.orders.paths is required"},
		{"paths empty", `paths: ["/orders", "/orders/*"]`, "paths: []", 13, "resources.orders.paths must list at least one path"},
		{"paths not a list", `paths: ["/orders", "/orders/*"]`, "paths: /orders", 13, "resources.orders.paths must be a list"},
		{"path relative", `paths: ["/orders", "/orders/*"]`, `paths: ["orders"]`, 13, `path "orders" must start with "/"`},
		{"path partial wildcard", `paths: ["/orders", "/orders/*"]`, `paths: ["/orders*"]`, 13, `may only use "*" as a whole segment`},
		{"path inner double star", `paths: ["/orders", "/orders/*"]`, `paths: ["/orders/**/lines"]`, 13, `may only use "**" as its last segment`},
		{"path placeholder", `paths: ["/orders", "/orders/*"]`, `paths: ["/orders/{id}"]`, 13, `must use "*" for a variable segment`},
		{"path query", `paths: ["/orders", "/orders/*"]`, `paths: ["/orders?limit=1"]`, 13, "must not have a query"},
		{"path claimed twice", "rules:", "  more:\n    paths: [\"/orders/*\"]\nrules:", 22, `path "/orders/*" is already claimed by resource "orders"`},
		{"probe path missing", `probe: {path: "/orders?limit=1"}`, "probe: {method: GET}", 14, "resources.orders.probe.path is required"},
		{"probe method", `probe: {path: "/orders?limit=1"}`, `probe: {method: got, path: /orders}`, 14, `resources.orders.probe.method "got" is not one of`},

		{"sync path missing", "      path: /orders\n", "", 15, "resources.orders.sync.path is required"},
		{"sync id missing", "      id: id\n", "", 15, "resources.orders.sync.id is required"},
		{"sync records path", "records: data", "records: data..items", 17, `resources.orders.sync.records "data..items" is not a dotted path`},
		{"sync pagination missing", "      pagination: {type: cursor, param: cursor, next: meta.next}\n", "", 15, "resources.orders.sync.pagination is required"},
		{"pagination type", "{type: cursor, param: cursor, next: meta.next}", "{type: cursors}", 19, `pagination.type "cursors" is not one of cursor, page, offset, link_header, none`},
		{"cursor needs next", "{type: cursor, param: cursor, next: meta.next}", "{type: cursor, param: cursor}", 19, "pagination.next is required for type cursor"},
		{"cursor needs param", "{type: cursor, param: cursor, next: meta.next}", "{type: cursor, next: meta.next}", 19, "pagination.param is required for type cursor"},
		{"page needs param", "{type: cursor, param: cursor, next: meta.next}", "{type: page}", 19, "pagination.param is required for type page"},
		{"offset needs size", "{type: cursor, param: cursor, next: meta.next}", "{type: offset, param: offset, size_param: limit}", 19, "pagination.size is required for type offset"},
		{"offset needs size_param", "{type: cursor, param: cursor, next: meta.next}", "{type: offset, param: offset, size: 10}", 19, "pagination.size_param is required for type offset"},
		{"member unused by type", "{type: cursor, param: cursor, next: meta.next}", "{type: none, param: page}", 19, "pagination.param is not used by type none"},
		{"next unused by page", "{type: cursor, param: cursor, next: meta.next}", "{type: page, param: page, next: meta.next}", 19, "pagination.next is not used by type page"},
		{"size without size_param", "{type: cursor, param: cursor, next: meta.next}", "{type: page, param: page, size: 10}", 19, "pagination.size and size_param go together"},
		{"size zero", "{type: cursor, param: cursor, next: meta.next}", "{type: link_header, size_param: per_page, size: 0}", 19, "pagination.size must be greater than 0"},
		{"incremental param", "incremental: {param: updated_since}", "incremental: {}", 20, "resources.orders.sync.incremental.param is required"},

		{"rule status range", "status: 200", "status: 600", 22, `rules[0].status "600" is not a status code (100-599) or class (1xx-5xx)`},
		{"rule status class", "status: 200", "status: 4XX", 22, `rules[0].status "4XX" is not a status code`},
		{"rule status missing", "status: 200, ", "", 22, "rules[0].status is required"},
		{"rule equals without body_path", "body_path: error, ", "", 22, "rules[0].equals needs body_path"},
		{"rule body_path without equals", ", equals: invalid_auth", "", 22, "rules[0].body_path needs equals"},
		{"rule signal", "signal: auth_failure", "signal: auth_fail", 22, `rules[0].signal "auth_fail" is not one of success, auth_failure, permission_failure, transient, request_error`},
		{"rule signal missing", ", signal: auth_failure", "", 22, "rules[0].signal is required"},
		{"rule not a mapping", "  - {status: 200, body_path: error, equals: invalid_auth, signal: auth_failure}", "  - auth_failure", 22, "rules[0] must be a mapping"},

		{"unknown top-level key", "auth_failure}\n", "auth_failure}\ncatgory: wms\n", 23, `unknown key "catgory" (known: name, display_name, category`},
		{"key set twice", "auth_failure}\n", "auth_failure}\nname: other\n", 23, "name is set twice (first at line 1)"},
		{"second document", "auth_failure}\n", "auth_failure}\n---\nname: other\n", 23, "a second YAML document"},
		{"merge key", "verify: {path: /me}", "verify: {<<: {path: /me}}", 9, "merge keys (<<) are not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, problemsOf(t, edit(t, c.old, c.new)), c.line, c.reason)
		})
	}
}

// withAuth is a definition around an auth block, which starts at line 4.
func withAuth(block string) string {
	return "name: acme\nbase_url: https://acme.example\nauth:\n" + block +
		"verify: {path: /me}\nresources: {orders: {paths: [/orders]}}\n"
}

const oauth2Block = `  type: oauth2
  authorize_url: https://acme.example/oauth/authorize
  token_url: https://acme.example/oauth/token
  scopes: [orders.read]
  client_id_env: ACME_CLIENT_ID
  client_secret_env: ACME_CLIENT_SECRET
`

func TestAuthTypeProblems(t *testing.T) {
	cases := []struct {
		name, doc string
		line      int
		reason    string
	}{
		{"auth missing", "name: acme\nbase_url: https://acme.example\nverify: {path: /me}\nresources: {orders: {paths: [/orders]}}\n", 1, "auth is required"},
		{"auth type missing", withAuth("  fields: []\n"), 3, "auth.type is required"},
		{"basic password not secret", withAuth("  type: basic\n  fields:\n    - {name: username}\n    - {name: password}\n"), 7, `auth.fields: field "password" must be secret: true`},
		{"basic without password", withAuth("  type: basic\n  fields: [{name: username}]\n"), 5, `auth.fields must declare a field named "password" for type basic`},
		{"bearer without token", withAuth("  type: bearer\n  fields: [{name: key, secret: true}]\n"), 5, `auth.fields must declare a field named "token" for type bearer`},
		{"bearer token not secret", withAuth("  type: bearer\n  fields: [{name: token}]\n"), 5, `field "token" must be secret: true`},
		{"bearer with header", withAuth("  type: bearer\n  fields: [{name: token, secret: true}]\n  header: {name: X-Key, value: \"{token}\"}\n"), 6, "auth.header is only used by type api_key"},
		{"oauth2 without token_url", withAuth(strings.Replace(oauth2Block, "  token_url: https://acme.example/oauth/token\n", "", 1)), 3, "auth.token_url is required"},
		{"oauth2 relative authorize_url", withAuth(strings.Replace(oauth2Block, "https://acme.example/oauth/authorize", "/oauth/authorize", 1)), 5, `auth.authorize_url "/oauth/authorize" must be an absolute http or https URL`},
		{"oauth2 endpoint host from a field", withAuth(strings.Replace(oauth2Block, "https://acme.example/oauth/authorize", `"{tenant}/oauth/authorize"`, 1) + "  fields: [{name: tenant}]\n"), 5, "must be an absolute http or https URL"},
		{"oauth2 client id env", withAuth(strings.Replace(oauth2Block, "ACME_CLIENT_ID", "acme-client-id", 1)), 8, `auth.client_id_env "acme-client-id" is not an environment variable name`},
		{"oauth2 client secret env missing", withAuth(strings.Replace(oauth2Block, "  client_secret_env: ACME_CLIENT_SECRET\n", "", 1)), 3, "auth.client_secret_env is required"},
		{"oauth2 scope with a space", withAuth(strings.Replace(oauth2Block, "[orders.read]", `["orders read"]`, 1)), 7, `scope "orders read" must be one word`},
		{"oauth2 field unused", withAuth(oauth2Block + "  fields: [{name: tenant}]\n"), 10, `field "tenant" is not used`},
		{"oauth2 field reserved", withAuth(oauth2Block + "  fields: [{name: access_token}]\n"), 10, `"access_token" is reserved for OAuth2 tokens`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, problemsOf(t, c.doc), c.line, c.reason)
		})
	}
}

func TestOAuth2WithFieldInEndpoints(t *testing.T) {
	block := strings.ReplaceAll(oauth2Block, "https://acme.example/", "https://{tenant}.acme.example/") + "  fields: [{name: tenant, label: Tenant}]\n"
	def, err := Parse("test.yaml", []byte(withAuth(block)))
	if err != nil {
		t.Fatal(err)
	}
	if def.Auth.TokenURL != "https://{tenant}.acme.example/oauth/token" || !slices.Equal(def.Auth.Scopes, []string{"orders.read"}) ||
		def.Auth.ClientIDEnv != "ACME_CLIENT_ID" || def.Auth.ClientSecretEnv != "ACME_CLIENT_SECRET" {
		t.Errorf("auth = %+v", def.Auth)
	}
}

func TestAllProblemsOfAFileAreReported(t *testing.T) {
	doc := edit(t, "name: acme", "name: Acme")
	doc = strings.Replace(doc, "verify: {path: /me}", "verify: {method: FETCH, path: /me}", 1)
	doc = strings.Replace(doc, "signal: auth_failure", "signal: nope", 1)
	_, err := Parse("providers/acme.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 problems, one per line; got:\n%v", err)
	}
	for i, prefix := range []string{"providers/acme.yaml:1: ", "providers/acme.yaml:9: ", "providers/acme.yaml:22: "} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], prefix)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		want      string
	}{
		{"unclosed flow list", "name: acme\nbase_url: [unclosed\nauth: {}\n", "test.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		{"bad indentation", "name: acme\nauth:\n  type: basic\n fields: []\n", "test.yaml:4: invalid YAML: did not find expected key"},
		{"tab", "name: acme\nauth:\n\ttype: basic\n", "test.yaml:3: invalid YAML: found character that cannot start any token"},
		{"empty file", "# nothing yet\n", "test.yaml: the file is empty"},
		{"not a mapping", "- name: acme\n", "test.yaml:1: a definition must be a YAML mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(c.doc))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error = %v, want prefix %q", err, c.want)
			}
		})
	}
}

func TestProblemError(t *testing.T) {
	p := Problem{File: "providers/foo.yaml", Line: 12, Reason: `auth.type "apikey" is not one of api_key, basic, bearer, oauth2`}
	if got, want := p.Error(), `providers/foo.yaml:12: auth.type "apikey" is not one of api_key, basic, bearer, oauth2`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := (Problem{File: "a.yaml", Reason: "empty"}).Error(); got != "a.yaml: empty" {
		t.Errorf("without a line: got %q", got)
	}
}

func TestHumanize(t *testing.T) {
	for name, want := range map[string]string{
		"api_key": "API key", "subdomain": "Subdomain", "client_id": "Client ID",
		"server_url": "Server URL", "account__name_": "Account name",
	} {
		if got := humanize(name); got != want {
			t.Errorf("humanize(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestAPIExample parses the example of API.md "Provider definitions", the
// documented format.
func TestAPIExample(t *testing.T) {
	const example = `
name: acme_wms                  # [a-z0-9_]+, unique
display_name: Acme WMS
category: wms                   # free text; "enrichment" makes 404 a success
base_url: "https://{subdomain}.acme.example/api"   # {field} placeholders come from credential fields
auth:
  type: api_key                 # api_key | basic | bearer | oauth2
  fields:                       # what the Link page asks for
    - {name: subdomain, label: Subdomain}
    - {name: api_key, label: API key, secret: true}
  header: {name: X-Api-Key, value: "{api_key}"}      # or query: {name: ..., value: ...}
verify: {method: GET, path: /me, account_id: account.id}   # the credential test; account_id
rate_limit: {requests: 100, per: 10s}   # caps the calls Tether makes by itself (verify, probes, syncs) per connection
resources:
  orders:
    paths: ["/orders", "/orders/*"]                  # which calls belong to this resource
    probe: {method: GET, path: "/orders?limit=1"}
    sync:
      path: /orders
      records: data                                  # dotted path to the array in the body
      id: id
      updated_at: updated_at
      pagination: {type: cursor, param: cursor, next: meta.next_cursor}  # cursor | page | offset | link_header | none
      incremental: {param: updated_since}
rules:
  - {status: 200, body_path: error, equals: invalid_auth, signal: auth_failure}
`
	if _, err := Parse("API.md", []byte(example)); err != nil {
		t.Fatal(err)
	}
}
