// Package catalog reads provider definitions: the YAML files that describe
// everything Tether does with a provider (API.md "Provider definitions").
// Built-in definitions are embedded in the binary; operators add or replace
// them with files in TETHER_PROVIDERS_DIR. Every problem is reported as
// FILE:LINE: reason, all of a file's problems at once.
package catalog

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherhq/tether"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// Catalog is a fixed set of definitions. The definitions it returns are
// shared: treat them as read-only.
type Catalog struct {
	byName map[string]*tether.ProviderDefinition
	sorted []*tether.ProviderDefinition
}

var _ tether.Catalog = (*Catalog)(nil)

// New returns a catalog of defs, which must have distinct names. Tests in
// other packages use it with definitions from Parse.
func New(defs ...*tether.ProviderDefinition) (*Catalog, error) {
	c := &Catalog{byName: make(map[string]*tether.ProviderDefinition, len(defs))}
	for _, def := range defs {
		if _, dup := c.byName[def.Name]; dup {
			return nil, fmt.Errorf("new catalog: provider %q is given twice", def.Name)
		}
		c.byName[def.Name] = def
		c.sorted = append(c.sorted, def)
	}
	slices.SortFunc(c.sorted, func(a, b *tether.ProviderDefinition) int { return strings.Compare(a.Name, b.Name) })
	return c, nil
}

// Builtin returns the definitions embedded in the binary.
func Builtin() (*Catalog, error) {
	defs, err := builtinDefinitions()
	if err != nil {
		return nil, err
	}
	return New(defs...)
}

// Load returns the built-in definitions plus every *.yaml and *.yml file in
// dir (dir "" means built-ins only). A definition in dir with the name of a
// built-in replaces it, so operators can point a built-in elsewhere; two
// files in dir with one name are an error.
func Load(dir string) (*Catalog, error) {
	builtins, err := builtinDefinitions()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return New(builtins...)
	}
	extra, err := ValidateDir(dir)
	if err != nil {
		return nil, err
	}
	byName := map[string]*tether.ProviderDefinition{}
	for _, def := range slices.Concat(builtins, extra) {
		byName[def.Name] = def // dir comes last, so it wins
	}
	return New(slices.Collect(maps.Values(byName))...)
}

// ValidateDir validates every *.yaml and *.yml file in dir (not its
// subfolders; hidden files are skipped) and returns the definitions that
// passed. Its error lists the problems of all files (a *ValidationError), or
// says why dir could not be read.
func ValidateDir(dir string) ([]*tether.ProviderDefinition, error) {
	return parseFiles(os.DirFS(dir), dir)
}

func builtinDefinitions() ([]*tether.ProviderDefinition, error) {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		return nil, fmt.Errorf("open built-in definitions: %w", err)
	}
	return parseFiles(sub, "builtin")
}

// parseFiles parses the definition files at the top of fsys, naming them
// dir/FILE in problems, and checks that no two define one name.
func parseFiles(fsys fs.FS, dir string) ([]*tether.ProviderDefinition, error) {
	names, err := definitionFiles(fsys)
	if err != nil {
		return nil, fmt.Errorf("read providers dir %s: %w", dir, err)
	}
	var (
		defs     []*tether.ProviderDefinition
		problems []Problem
		firstAt  = map[string]Problem{} // name → where it was first defined
	)
	for _, name := range names {
		source := filepath.Join(dir, name)
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read provider definition: %w", err)
		}
		def, line, err := parse(source, data)
		if err != nil {
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				return nil, err
			}
			problems = append(problems, invalid.Problems...)
			continue
		}
		if first, dup := firstAt[def.Name]; dup {
			problems = append(problems, Problem{File: source, Line: line,
				Reason: fmt.Sprintf("provider %q is already defined at %s:%d", def.Name, first.File, first.Line)})
			continue
		}
		firstAt[def.Name] = Problem{File: source, Line: line}
		defs = append(defs, def)
	}
	return defs, validationError(problems)
}

// definitionFiles lists the *.yaml and *.yml files at the top of fsys, in
// name order so that problems come out in a stable order. Hidden files are
// skipped: editors leave lock and swap files there.
func definitionFiles(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		names = append(names, name)
	}
	return names, nil
}

// Provider returns the named definition, or an ENOTFOUND error that lists
// the known names.
func (c *Catalog) Provider(name string) (*tether.ProviderDefinition, error) {
	if def, ok := c.byName[name]; ok {
		return def, nil
	}
	known := make([]string, len(c.sorted))
	for i, def := range c.sorted {
		known[i] = def.Name
	}
	return nil, tether.Errorf(tether.ENOTFOUND, "integration %q not found (available: %s)", name, strings.Join(known, ", "))
}

// Providers returns every definition, sorted by name.
func (c *Catalog) Providers() []*tether.ProviderDefinition {
	return slices.Clone(c.sorted)
}
