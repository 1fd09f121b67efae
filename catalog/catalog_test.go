package catalog

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetherhq/tether"
)

func TestEveryBuiltinParses(t *testing.T) {
	paths, err := fs.Glob(builtinFiles, "builtin/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no built-in files: %v", err)
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			data, err := builtinFiles.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			def, err := Parse(path, data)
			if err != nil {
				t.Fatal(err)
			}
			// One file per provider, named after it, so operators find the
			// one to copy when they override it.
			if want := "builtin/" + def.Name + ".yaml"; path != want {
				t.Errorf("%s defines %q: name the file %s", path, def.Name, want)
			}
			for _, r := range def.Resources {
				if r.Probe == nil {
					t.Errorf("resource %s has no probe: a 403 on it could never be confirmed", r.Name)
				}
			}
		})
	}
}

func TestBuiltinCatalog(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	categories, authTypes := map[string]bool{}, map[string]bool{}
	for _, def := range c.Providers() {
		names = append(names, def.Name)
		categories[def.Category] = true
		authTypes[def.Auth.Type] = true
		if def.Source != "builtin/"+def.Name+".yaml" {
			t.Errorf("%s: source = %q", def.Name, def.Source)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("Providers() not sorted: %v", names)
	}
	for _, want := range []string{"acme_wms", "github", "hubspot", "shopify", "slack", "stripe", "zendesk"} {
		if !slices.Contains(names, want) {
			t.Errorf("no built-in %s (have %v)", want, names)
		}
	}
	for _, typ := range []string{tether.AuthAPIKey, tether.AuthBasic, tether.AuthBearer, tether.AuthOAuth2} {
		if !authTypes[typ] {
			t.Errorf("no built-in uses auth type %s", typ)
		}
	}
	if !categories[tether.CategoryEnrichment] {
		t.Errorf("no built-in of category %s", tether.CategoryEnrichment)
	}
}

// TestAcmeWMS pins the sandbox definition: package sandbox serves exactly
// this API, and the demo and end-to-end tests rely on it.
func TestAcmeWMS(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	def, err := c.Provider("acme_wms")
	if err != nil {
		t.Fatal(err)
	}
	want := &tether.ProviderDefinition{
		Name: "acme_wms", DisplayName: "Acme WMS", Category: "wms", BaseURL: "{server}/api",
		Auth: tether.AuthSpec{
			Type: tether.AuthAPIKey,
			Fields: []tether.FieldSpec{
				{Name: "server", Label: "Server URL"},
				{Name: "api_key", Label: "API key", Secret: true},
			},
			Header: &tether.InjectSpec{Name: "X-Api-Key", Value: "{api_key}"},
		},
		Verify:    tether.VerifySpec{Method: "GET", Path: "/me", AccountID: "account.id"},
		RateLimit: &tether.RateLimitSpec{Requests: 50, Per: time.Second},
		Resources: []tether.ResourceSpec{
			acmeResource("orders", "/orders?limit=1", "data", "id",
				tether.PaginationSpec{Type: "cursor", Param: "cursor", Next: "meta.next_cursor"}),
			acmeResource("inventory", "/inventory?per_page=1", "items", "sku",
				tether.PaginationSpec{Type: "page", Param: "page", SizeParam: "per_page", Size: 100}),
			acmeResource("returns", "/returns?limit=1", "data", "id",
				tether.PaginationSpec{Type: "offset", Param: "offset", SizeParam: "limit", Size: 100}),
		},
		Rules:  []tether.RuleSpec{{Status: "200", BodyPath: "error", Equals: "invalid_auth", Signal: tether.SignalAuthFailure}},
		Source: "builtin/acme_wms.yaml",
	}
	if !reflect.DeepEqual(def, want) {
		t.Errorf("acme_wms:\n got %s\nwant %s", asJSON(def), asJSON(want))
	}
}

func acmeResource(name, probe, records, id string, p tether.PaginationSpec) tether.ResourceSpec {
	return tether.ResourceSpec{
		Name:  name,
		Paths: []string{"/" + name, "/" + name + "/*"},
		Probe: &tether.ProbeSpec{Method: "GET", Path: probe},
		Sync: &tether.SyncSpec{
			Path: "/" + name, Records: records, ID: id, UpdatedAt: "updated_at", Pagination: p,
			Incremental: &tether.IncrementalSpec{Param: "updated_since"},
		},
	}
}

// asJSON renders a definition with its pointers followed, for messages.
func asJSON(def *tether.ProviderDefinition) string {
	b, _ := json.MarshalIndent(def, "", "  ")
	return string(b)
}

// minimal is a valid definition named name.
func minimal(name, baseURL string) string {
	return "name: " + name + "\nbase_url: " + baseURL + `
auth:
  type: bearer
  fields: [{name: token, secret: true}]
verify: {path: /me}
resources:
  things: {paths: [/things]}
`
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadWithoutDirIsBuiltins(t *testing.T) {
	loaded, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Providers()) != len(builtin.Providers()) {
		t.Errorf("Load(\"\") has %d providers, Builtin %d", len(loaded.Providers()), len(builtin.Providers()))
	}
}

func TestLoadAddsAndOverrides(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"extra.yaml":       minimal("extra", "https://extra.example"),
		"acme.yml":         minimal("acme_wms", "https://wms.internal.example"),
		"notes.txt":        "not a definition",
		".#extra.yaml":     "editor lock file",
		"sub/ignored.yaml": "name: [not even valid",
		"README.md":        "# providers",
		"also_extra.yaml":  minimal("also_extra", "https://also.example"),
	})
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := c.Provider("extra")
	if err != nil {
		t.Fatal(err)
	}
	if extra.Source != filepath.Join(dir, "extra.yaml") {
		t.Errorf("extra source = %q", extra.Source)
	}
	acme, err := c.Provider("acme_wms")
	if err != nil {
		t.Fatal(err)
	}
	if acme.BaseURL != "https://wms.internal.example" || acme.Source != filepath.Join(dir, "acme.yml") {
		t.Errorf("acme_wms not overridden: base_url %q from %s", acme.BaseURL, acme.Source)
	}
	if _, err := c.Provider("github"); err != nil {
		t.Errorf("other built-ins must stay: %v", err)
	}
	builtin, _ := Builtin()
	if got, want := len(c.Providers()), len(builtin.Providers())+2; got != want {
		t.Errorf("%d providers, want %d", got, want)
	}
}

func TestLoadRejectsTwoFilesWithOneName(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": minimal("extra", "https://a.example"),
		"b.yaml": minimal("extra", "https://b.example"),
	})
	_, err := Load(dir)
	var invalid *ValidationError
	if !errors.As(err, &invalid) || len(invalid.Problems) != 1 {
		t.Fatalf("error = %v, want one problem", err)
	}
	p := invalid.Problems[0]
	if p.File != filepath.Join(dir, "b.yaml") || p.Line != 1 ||
		p.Reason != `provider "extra" is already defined at `+filepath.Join(dir, "a.yaml")+":1" {
		t.Errorf("problem = %v", p)
	}
}

func TestValidateDirReportsEveryFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"good.yaml":   minimal("good", "https://good.example"),
		"bad.yaml":    strings.Replace(minimal("bad", "https://bad.example"), "type: bearer", "type: apikey", 1),
		"broken.yaml": "name: broken\nbase_url: [unclosed\nauth: {}\n",
	})
	defs, err := ValidateDir(dir)
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("error = %v, want a *ValidationError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		filepath.Join(dir, "bad.yaml") + `:4: auth.type "apikey" is not one of api_key, basic, bearer, oauth2`,
		filepath.Join(dir, "broken.yaml") + ":2: invalid YAML",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(defs) != 1 || defs[0].Name != "good" {
		t.Errorf("valid definitions = %v, want [good]", defs)
	}
	if _, err := Load(dir); !errors.As(err, &invalid) {
		t.Errorf("Load must fail like ValidateDir: %v", err)
	}
}

func TestValidateDirMissing(t *testing.T) {
	_, err := ValidateDir(filepath.Join(t.TempDir(), "nope"))
	var invalid *ValidationError
	if err == nil || errors.As(err, &invalid) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("error = %v, want a read error naming the dir", err)
	}
}

func TestProviderNotFound(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Provider("acme")
	if !tether.IsNotFound(err) {
		t.Fatalf("error = %v, want ENOTFOUND", err)
	}
	if msg := tether.ErrorMessage(err); !strings.Contains(msg, `integration "acme" not found`) || !strings.Contains(msg, "acme_wms") {
		t.Errorf("message = %q", msg)
	}
}

func TestNewRejectsDuplicates(t *testing.T) {
	def := &tether.ProviderDefinition{Name: "x"}
	if _, err := New(def, def); err == nil {
		t.Error("no error for a name given twice")
	}
}

func TestProvidersReturnsACopy(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	list := c.Providers()
	list[0] = nil
	if c.Providers()[0] == nil {
		t.Error("Providers exposes the catalog's own slice")
	}
}
