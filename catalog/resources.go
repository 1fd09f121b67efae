package catalog

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tetherhq/tether"
)

var (
	syncKeys       = []string{"path", "records", "id", "updated_at", "pagination", "incremental"}
	paginationKeys = []string{"type", "param", "next", "size_param", "size"}
)

// paginationMembers lists, per pagination type, the members it needs and the
// ones it may have (API.md "Provider definitions"); any other member would be
// ignored, so it is reported.
var paginationMembers = map[string]struct{ required, optional []string }{
	tether.PaginateCursor:     {required: []string{"param", "next"}, optional: []string{"size_param", "size"}},
	tether.PaginatePage:       {required: []string{"param"}, optional: []string{"size_param", "size"}},
	tether.PaginateOffset:     {required: []string{"param", "size_param", "size"}},
	tether.PaginateLinkHeader: {optional: []string{"size_param", "size"}},
	tether.PaginateNone:       {},
}

var paginationTypes = []string{tether.PaginateCursor, tether.PaginatePage, tether.PaginateOffset, tether.PaginateLinkHeader, tether.PaginateNone}

// decodeResources keeps the file's order: the first resource whose paths
// match a call wins (MatchResource).
func decodeResources(top *object) []tether.ResourceSpec {
	if !top.has("resources") {
		top.missing("resources")
		return nil
	}
	o := top.mapping("resources")
	if o == nil {
		return nil
	}
	if len(o.keys) == 0 {
		o.d.problem(o.line, "resources must declare at least one resource")
	}
	claimed := map[string]string{} // path pattern → the resource that declared it
	var resources []tether.ResourceSpec
	for _, name := range o.keys {
		if !identifierPattern.MatchString(name) {
			o.d.problem(o.keyLines[name], "resource name %q must match [a-z0-9_]+", name)
		}
		if !o.has(name) {
			o.errorf(name, "is empty: a resource needs at least paths")
			continue
		}
		r := o.object(name, "paths", "probe", "sync")
		if r == nil {
			continue
		}
		resources = append(resources, tether.ResourceSpec{
			Name:  name,
			Paths: decodePatterns(r, name, claimed),
			Probe: decodeProbe(r.object("probe", "method", "path")),
			Sync:  decodeSync(r.object("sync", syncKeys...)),
		})
	}
	return resources
}

// decodePatterns checks a resource's path patterns (see MatchResource).
func decodePatterns(r *object, resource string, claimed map[string]string) []string {
	switch n := r.node("paths"); {
	case n == nil:
		r.missing("paths")
		return nil
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		r.errorf("paths", "must list at least one path, e.g. [\"/orders\", \"/orders/*\"]")
		return nil
	}
	items := r.scalars("paths")
	var paths []string
	for _, item := range items {
		if reason := patternProblem(item.value); reason != "" {
			r.d.problem(item.line, "%s: path %q %s", r.at("paths"), item.value, reason)
			continue
		}
		if other, ok := claimed[item.value]; ok {
			r.d.problem(item.line, "%s: path %q is already claimed by resource %q (the first match wins)", r.at("paths"), item.value, other)
			continue
		}
		claimed[item.value] = resource
		paths = append(paths, item.value)
	}
	return paths
}

func decodeProbe(o *object) *tether.ProbeSpec {
	if o == nil {
		return nil
	}
	return &tether.ProbeSpec{Method: decodeMethod(o), Path: decodeRequestPath(o, "path")}
}

func decodeSync(o *object) *tether.SyncSpec {
	if o == nil {
		return nil
	}
	spec := &tether.SyncSpec{
		Path: decodeRequestPath(o, "path"),
		// An absent or empty records means the answer's body is the array.
		Records:    decodeDottedPath(o, "records", false),
		ID:         decodeDottedPath(o, "id", true),
		UpdatedAt:  decodeDottedPath(o, "updated_at", false),
		Pagination: decodePagination(o.requiredObject("pagination", paginationKeys...)),
	}
	if inc := o.object("incremental", "param"); inc != nil {
		spec.Incremental = &tether.IncrementalSpec{Param: inc.required("param")}
	}
	return spec
}

func decodePagination(o *object) tether.PaginationSpec {
	if o == nil {
		return tether.PaginationSpec{}
	}
	spec := tether.PaginationSpec{
		Type:      o.required("type"),
		Param:     o.str("param"),
		Next:      decodeDottedPath(o, "next", false),
		SizeParam: o.str("size_param"),
		Size:      positiveInt(o, "size", false),
	}
	members, known := paginationMembers[spec.Type]
	if !known {
		if spec.Type != "" {
			o.errorf("type", "%q is not one of %s", spec.Type, strings.Join(paginationTypes, ", "))
		}
		return spec
	}
	for _, key := range members.required {
		if !o.has(key) {
			o.errorf(key, "is required for type %s", spec.Type)
		}
	}
	for _, key := range paginationKeys[1:] {
		if o.has(key) && !slices.Contains(members.required, key) && !slices.Contains(members.optional, key) {
			o.errorf(key, "is not used by type %s", spec.Type)
		}
	}
	// A page size without its parameter (or the reverse) cannot be sent.
	if slices.Contains(members.optional, "size") && o.has("size") != o.has("size_param") {
		o.errorf("size", "and size_param go together: name the parameter and the page size")
	}
	return spec
}
