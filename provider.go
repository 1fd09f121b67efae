package tether

import (
	"regexp"
	"slices"
	"time"
)

// Auth types a provider definition may name.
const (
	AuthAPIKey = "api_key"
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthOAuth2 = "oauth2"
)

// CategoryEnrichment makes a 404 a success: "not found" is a normal answer for a
// lookup API.
const CategoryEnrichment = "enrichment"

// ProviderNamePattern is the shape of an integration name.
var ProviderNamePattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// ProviderDefinition is one provider, as its YAML file describes it (API.md
// "Provider definitions"). Everything Tether does with a provider comes from
// here: a provider has no code of its own.
type ProviderDefinition struct {
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Category    string         `json:"category"`
	BaseURL     string         `json:"base_url"`
	Auth        AuthSpec       `json:"auth"`
	Verify      VerifySpec     `json:"verify"`
	RateLimit   *RateLimitSpec `json:"rate_limit,omitempty"`
	// Resources keeps the order of the YAML file (see ResourceNames).
	Resources []ResourceSpec `json:"resources"`
	Rules     []RuleSpec     `json:"rules,omitempty"`

	// Source is where the definition came from ("builtin/acme_wms.yaml" or a
	// file path), for error messages.
	Source string `json:"-"`
}

// AuthSpec says how credentials are asked for and injected.
type AuthSpec struct {
	Type   string      `json:"type"`
	Fields []FieldSpec `json:"fields"`
	Header *InjectSpec `json:"header,omitempty"`
	Query  *InjectSpec `json:"query,omitempty"`

	// OAuth2 only: authorization code with PKCE; the app's client id and
	// secret are read from the named environment variables.
	AuthorizeURL    string   `json:"authorize_url,omitempty"`
	TokenURL        string   `json:"token_url,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
	ClientIDEnv     string   `json:"client_id_env,omitempty"`
	ClientSecretEnv string   `json:"client_secret_env,omitempty"`
}

// FieldSpec is one credential field the Link page asks for.
type FieldSpec struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Secret bool   `json:"secret"`
}

// InjectSpec names a header or query parameter and its value template, in
// which {field} placeholders are replaced by credential fields.
type InjectSpec struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// VerifySpec is the credential test.
type VerifySpec struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// AccountID is a dotted path into the answer; when set, a reinstall must
	// present the same account.
	AccountID string `json:"account_id,omitempty"`
}

// RateLimitSpec caps the calls Tether makes by itself per connection.
type RateLimitSpec struct {
	Requests int           `json:"requests"`
	Per      time.Duration `json:"per"`
}

// ResourceSpec is one resource of a provider.
type ResourceSpec struct {
	Name  string     `json:"name"`
	Paths []string   `json:"paths"`
	Probe *ProbeSpec `json:"probe,omitempty"`
	Sync  *SyncSpec  `json:"sync,omitempty"`
}

// ProbeSpec is the request that tests access to one resource.
type ProbeSpec struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// SyncSpec says how a resource's records are fetched.
type SyncSpec struct {
	Path        string           `json:"path"`
	Records     string           `json:"records"`
	ID          string           `json:"id"`
	UpdatedAt   string           `json:"updated_at"`
	Pagination  PaginationSpec   `json:"pagination"`
	Incremental *IncrementalSpec `json:"incremental,omitempty"`
}

// Pagination types.
const (
	PaginateCursor     = "cursor"
	PaginatePage       = "page"
	PaginateOffset     = "offset"
	PaginateLinkHeader = "link_header"
	PaginateNone       = "none"
)

// PaginationSpec describes how to walk the pages of a sync.
type PaginationSpec struct {
	Type      string `json:"type"`
	Param     string `json:"param,omitempty"`
	Next      string `json:"next,omitempty"`
	SizeParam string `json:"size_param,omitempty"`
	Size      int    `json:"size,omitempty"`
}

// IncrementalSpec names the parameter that asks for records updated since the
// last checkpoint.
type IncrementalSpec struct {
	Param string `json:"param"`
}

// Signals a classification (or a provider rule) can produce.
const (
	SignalSuccess           = "success"
	SignalAuthFailure       = "auth_failure"
	SignalPermissionFailure = "permission_failure"
	SignalTransient         = "transient"
	SignalRequestError      = "request_error"
)

// ValidSignal reports whether s names a signal.
func ValidSignal(s string) bool {
	switch s {
	case SignalSuccess, SignalAuthFailure, SignalPermissionFailure, SignalTransient, SignalRequestError:
		return true
	}
	return false
}

// RuleSpec overrides the status-code table for matching answers.
type RuleSpec struct {
	// Status is a code ("200") or a class ("4xx", "5xx").
	Status   string `json:"status"`
	BodyPath string `json:"body_path,omitempty"`
	Equals   string `json:"equals,omitempty"`
	Signal   string `json:"signal"`
}

// Resource returns the named resource, or nil.
func (p *ProviderDefinition) Resource(name string) *ResourceSpec {
	for i := range p.Resources {
		if p.Resources[i].Name == name {
			return &p.Resources[i]
		}
	}
	return nil
}

// SecretFields returns the names of the credential fields marked secret.
func (p *ProviderDefinition) SecretFields() []string {
	var names []string
	for _, f := range p.Auth.Fields {
		if f.Secret {
			names = append(names, f.Name)
		}
	}
	return names
}

// Catalog is the set of provider definitions Tether knows.
type Catalog interface {
	// Provider returns the named definition, or an ENOTFOUND error.
	Provider(name string) (*ProviderDefinition, error)
	// Providers returns every definition, sorted by name.
	Providers() []*ProviderDefinition
}

// OAuth2 token fields: the credentials of an oauth2 connection, besides the
// definition's own fields.
const (
	FieldAccessToken  = "access_token"
	FieldRefreshToken = "refresh_token"
	FieldExpiresAt    = "expires_at"
)

// CheckCredentials lists what is wrong with creds for this provider: each
// missing field and each field the definition does not know, so the caller can
// fix all of them at once. Values are never echoed back: they may be secrets.
func (p *ProviderDefinition) CheckCredentials(creds Credentials) []FieldError {
	allowed := map[string]bool{}
	var problems []FieldError
	require := func(name string) {
		allowed[name] = true
		if creds[name] == "" {
			problems = append(problems, FieldError{Location: "body.credentials." + name, Message: "missing required credential field"})
		}
	}
	for _, f := range p.Auth.Fields {
		require(f.Name)
	}
	if p.Auth.Type == AuthOAuth2 {
		require(FieldAccessToken)
		allowed[FieldRefreshToken] = true
		allowed[FieldExpiresAt] = true
		if v := creds[FieldExpiresAt]; v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				problems = append(problems, FieldError{Location: "body.credentials." + FieldExpiresAt, Message: "must be an RFC 3339 time", Value: v})
			}
		}
	}
	for _, name := range sortedKeys(creds) {
		if !allowed[name] {
			problems = append(problems, FieldError{Location: "body.credentials." + name, Message: "unknown credential field for integration " + p.Name})
		}
	}
	return problems
}

func sortedKeys(m Credentials) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
