package outbound

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/tetherhq/tether"
)

// placeholder is one {field} of a template.
type placeholder struct {
	field string
	start int // byte offset of "{" in the template
}

// renderFunc checks and encodes a credential value for its place in a template.
type renderFunc func(p placeholder, value string) (string, error)

// expand replaces every {field} of tmpl with the rendered credential value. A
// missing or empty field is an error naming it.
func expand(tmpl string, creds tether.Credentials, render renderFunc) (string, error) {
	var b strings.Builder
	last := 0
	for p, end, ok := nextPlaceholder(tmpl, 0); ok; p, end, ok = nextPlaceholder(tmpl, end) {
		value, err := requiredField(creds, p.field)
		if err != nil {
			return "", err
		}
		rendered, err := render(p, value)
		if err != nil {
			return "", err
		}
		b.WriteString(tmpl[last:p.start])
		b.WriteString(rendered)
		last = end
	}
	if last == 0 {
		return tmpl, nil // no placeholder: most base URLs
	}
	b.WriteString(tmpl[last:])
	return b.String(), nil
}

// nextPlaceholder finds the first {field} of tmpl at or after from (a field
// is one or more of A-Z, a-z, 0-9 and _), and the offset just after it. It
// runs for every outgoing request (the auth header's template), where a
// regular expression cost more than the rest of the template's work.
func nextPlaceholder(tmpl string, from int) (placeholder, int, bool) {
	for i := from; i < len(tmpl); i++ {
		if tmpl[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(tmpl) && isFieldByte(tmpl[j]) {
			j++
		}
		if j > i+1 && j < len(tmpl) && tmpl[j] == '}' {
			return placeholder{field: tmpl[i+1 : j], start: i}, j + 1, true
		}
	}
	return placeholder{}, 0, false
}

func isFieldByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// BaseURL fills the {field} placeholders of def.BaseURL from creds. Where a
// placeholder stands decides what its value may be, so that a credential can
// never point calls (and the credentials they carry) at a host the definition
// did not mean:
//   - starting the base_url ("{server}/api"): the whole origin comes from the
//     field, which must be an absolute http(s) URL without query, fragment or
//     userinfo (the SSRF guard still applies to it);
//   - elsewhere in the host ("https://{shop}.myshopify.com"): letters, digits,
//     hyphens and dots only;
//   - in the path: path-escaped; in a query: query-escaped.
func BaseURL(def *tether.ProviderDefinition, creds tether.Credentials) (*url.URL, error) {
	raw, err := expand(def.BaseURL, creds, baseURLRenderer(def.BaseURL))
	if err != nil {
		return nil, err
	}
	// Never quote raw in these errors: it holds credential values.
	u, err := url.Parse(raw)
	if err != nil || !isHTTP(u) || u.Host == "" {
		return nil, fmt.Errorf("provider %s: base_url does not make an absolute http(s) URL", def.Name)
	}
	if u.User != nil {
		return nil, fmt.Errorf("provider %s: base_url must not carry a user or password", def.Name)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func baseURLRenderer(tmpl string) renderFunc {
	hostStart, hostEnd := hostSpan(tmpl)
	queryStart := strings.IndexByte(tmpl, '?')
	return func(p placeholder, value string) (string, error) {
		switch {
		case p.start == 0:
			return originValue(p.field, value)
		case p.start >= hostStart && p.start < hostEnd:
			return hostValue(p.field, value)
		case queryStart >= 0 && p.start > queryStart:
			return url.QueryEscape(value), nil
		default:
			return url.PathEscape(value), nil
		}
	}
}

// hostSpan returns where the host (with its port) of a URL template starts and
// ends: after "://", up to the next "/", "?" or "#". It returns -1, -1 when the
// template has no "://".
func hostSpan(tmpl string) (start, end int) {
	i := strings.Index(tmpl, "://")
	if i < 0 {
		return -1, -1
	}
	start = i + len("://")
	end = len(tmpl)
	if j := strings.IndexAny(tmpl[start:], "/?#"); j >= 0 {
		end = start + j
	}
	return start, end
}

func originValue(field, value string) (string, error) {
	u, err := url.Parse(value)
	if err != nil || !isHTTP(u) || u.Host == "" || u.User != nil || strings.ContainsAny(value, "?# ") {
		return "", invalidField(field, "must be an absolute http(s) URL without query, fragment or credentials, such as https://erp.example.com")
	}
	return strings.TrimRight(value, "/"), nil
}

func hostValue(field, value string) (string, error) {
	if strings.ContainsFunc(value, notHostChar) ||
		strings.HasPrefix(value, ".") || strings.HasSuffix(value, ".") || strings.Contains(value, "..") {
		return "", invalidField(field, "may contain only letters, digits, hyphens and dots (it is part of a host name)")
	}
	return value, nil
}

func notHostChar(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '.'

}

func isHTTP(u *url.URL) bool { return u.Scheme == "http" || u.Scheme == "https" }

// joinPath appends p, which may carry a query string, to the path of base:
// "https://x/api" + "/orders?limit=1" is "https://x/api/orders?limit=1". A
// fragment of p is dropped. The result always stays on base's host, and dot
// segments are refused so that a caller cannot climb out of base's path.
func joinPath(base *url.URL, p string) (*url.URL, error) {
	p, _, _ = strings.Cut(p, "#")
	pathPart, query, _ := strings.Cut(p, "?")

	path, slash := strings.TrimRight(base.EscapedPath(), "/"), ""
	if pathPart != "" {
		slash, pathPart = "/", strings.TrimLeft(pathPart, "/")
	}
	question, q := "", joinQueries(base.RawQuery, query)
	if q != "" {
		question = "?"
	}
	// One concatenation, one string: this runs for every proxied call.
	u, err := url.Parse(base.Scheme + "://" + base.Host + path + slash + pathPart + question + q)
	if err != nil || u.Host != base.Host {
		return nil, tether.Errorf(tether.EINVALID, "path is not a valid URL path")
	}
	if hasDotSegment(u.Path) {
		return nil, tether.Errorf(tether.EINVALID, `path must not contain "." or ".." segments`)
	}
	return u, nil
}

func joinQueries(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}

// hasDotSegment checks the decoded path, so "%2e%2e" counts as "..".
func hasDotSegment(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
