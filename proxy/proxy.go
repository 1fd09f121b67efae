// Package proxy forwards an app's calls to providers with the connection's
// credentials injected, streaming both ways, and logs and classifies every
// call through the call log (and so the health engine).
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/health"
	"github.com/tetherhq/tether/observe"
	"github.com/tetherhq/tether/outbound"
)

// CallIDHeader carries the call log id on every proxied answer.
const CallIDHeader = "X-Tether-Call-Id"

// capturedBody bounds what is kept of an answer's body for provider rules and
// the call log; the rest streams through untouched.
const capturedBody = 64 << 10

// Recorder queues calls for the call log.
type Recorder interface {
	AddMany(ctx context.Context, calls []*tether.Call) error
}

// Forwarder is the proxy.
type Forwarder struct {
	store    tether.ConnectionStore
	catalog  tether.Catalog
	vault    tether.Vault
	client   *outbound.Client
	recorder Recorder
	log      *slog.Logger
	opened   openedCache
}

// New returns a Forwarder.
func New(store tether.ConnectionStore, catalog tether.Catalog, vault tether.Vault, client *outbound.Client, recorder Recorder, log *slog.Logger) *Forwarder {
	return &Forwarder{store: store, catalog: catalog, vault: vault, client: client, recorder: recorder, log: log}
}

// Forward sends r to the provider of connectionID at path (with r's query)
// and streams the answer to w. An error is returned only when nothing was
// written yet: an unknown connection (ENOTFOUND), a paused (ELOCKED) or
// disabled (EDISABLED) one, which are never forwarded, or an unreachable
// provider (ErrProviderUnreachable).
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, connectionID, path string) error {
	ctx := r.Context()
	c, err := f.store.CallTarget(ctx, connectionID)
	if err != nil {
		return err
	}
	switch c.State {
	case tether.StatePaused:
		return tether.Errorf(tether.ELOCKED, "connection %s is paused: resume it to call the provider", c.ConnectionID)
	case tether.StateDisabled:
		return tether.Errorf(tether.EDISABLED, "connection %s is disabled: reinstall or resume it to call the provider", c.ConnectionID)
	}
	def, o, err := f.credentials(c)
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	out, err := f.outgoing(r, def, o.creds, path)
	if err != nil {
		return err
	}
	// The caller's body streams to the provider while the provider's answer
	// may already stream back. Without full duplex, net/http's server
	// discards and closes the request body when the answer's header is
	// written; the transport, still reading that body (to check that nothing
	// follows its Content-Length), then failed and dropped the provider's
	// connection, cutting the answer short.
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		f.log.Debug("full duplex unavailable", "error", err)
	}
	x := observe.Exchange{
		Def: def, Creds: o.creds, Redactor: o.redactor, ConnectionID: c.ConnectionID, Source: tether.SourceProxy,
		Method: r.Method, Path: path, URL: out.URL, RequestHeader: out.Header, StartedAt: time.Now(),
	}
	resp, err := f.client.DoStream(out)
	if err != nil {
		x.Err, x.Duration = err, time.Since(x.StartedAt)
		call := f.record(ctx, x)
		w.Header().Set(CallIDHeader, call.ID)
		return &UnreachableError{Reason: *call.Error, CallID: call.ID}
	}
	defer resp.Body.Close()
	x.StatusCode, x.ResponseHeader = resp.StatusCode, resp.Header
	capture := &bytes.Buffer{}
	x.CallID = tether.NewID(tether.PrefixCall) // on the answer before the call is logged
	copyHeaders(w.Header(), resp.Header)
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.Header().Set(CallIDHeader, x.CallID)
	w.WriteHeader(resp.StatusCode)
	copyErr := stream(w, resp.Body, capture, needsBody(def, resp.StatusCode))
	x.Body, x.Duration = capture.Bytes(), time.Since(x.StartedAt)
	if copyErr != nil && !errors.Is(copyErr, context.Canceled) {
		x.Err = fmt.Errorf("answer cut short: %w", copyErr)
	}
	f.enqueue(ctx, observe.Call(x))
	return nil
}

// UnreachableError is a provider that gave no answer.
type UnreachableError struct {
	Reason string
	CallID string
}

func (e *UnreachableError) Error() string { return "provider unreachable: " + e.Reason }

// credentials returns the definition of c's integration and c's opened
// credentials, with their redactor: kept from a request a moment ago, or
// opened now (see opened.go).
func (f *Forwarder) credentials(c *tether.CallTarget) (*tether.ProviderDefinition, opened, error) {
	def, err := f.catalog.Provider(c.IntegrationName)
	if err != nil {
		return nil, opened{}, err
	}
	now := time.Now()
	if o, ok := f.opened.get(c.ConnectionID, c.Credentials, now); ok {
		return def, o, nil
	}
	creds, err := f.vault.Open(c.ConnectionID, c.Credentials)
	if err != nil {
		return nil, opened{}, fmt.Errorf("open credentials of %s: %w", c.ConnectionID, err)
	}
	o := opened{sealed: c.Credentials, creds: creds, redactor: outbound.NewRedactor(def, creds)}
	f.opened.put(c.ConnectionID, o, now)
	return def, o, nil
}

// outgoing builds the provider request: the caller's method, body and
// end-to-end headers, with the connection's credentials injected last so the
// caller cannot override them (and Tether's own API key never leaves).
func (f *Forwarder) outgoing(r *http.Request, def *tether.ProviderDefinition, creds tether.Credentials, path string) (*http.Request, error) {
	out, err := f.client.NewRequest(r.Context(), def, creds, r.Method, path, r.Body)
	if err != nil {
		return nil, err
	}
	out.ContentLength = r.ContentLength
	if r.ContentLength == 0 {
		out.Body = http.NoBody
	}
	copyHeaders(out.Header, r.Header)
	out.Header.Del("Authorization")
	out.Header.Del("Cookie")
	if err := outbound.Authorize(out, def, creds); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *Forwarder) record(ctx context.Context, x observe.Exchange) *tether.Call {
	call := observe.Call(x)
	f.enqueue(ctx, call)
	return call
}

// enqueue logs the call even if the caller has gone away meanwhile.
func (f *Forwarder) enqueue(ctx context.Context, call *tether.Call) {
	if err := f.recorder.AddMany(context.WithoutCancel(ctx), []*tether.Call{call}); err != nil {
		f.log.Error("log proxied call", "call_id", call.ID, "error", err)
	}
}

// needsBody reports whether the answer's body can matter: for the log (a
// failure) or for a provider rule on this status.
func needsBody(def *tether.ProviderDefinition, status int) bool {
	if status >= 400 {
		return true
	}
	for _, rule := range def.Rules {
		if rule.BodyPath != "" && health.StatusMatches(rule.Status, status) {
			return true
		}
	}
	return false
}

// streamBuffers recycles stream's copy buffers: a fresh 32 KiB per request
// was half of all the bytes the proxy path allocated, and the garbage
// collector's work grew with it.
var streamBuffers = sync.Pool{New: func() any {
	buf := make([]byte, 32<<10)
	return &buf
}}

// stream copies the answer to the caller as it arrives, flushing each chunk
// so streamed answers (server-sent events, long downloads) are not held
// back, and keeps the first capturedBody bytes when capture is wanted.
func stream(w http.ResponseWriter, body io.Reader, capture *bytes.Buffer, keep bool) error {
	rc := http.NewResponseController(w)
	bufp := streamBuffers.Get().(*[]byte)
	defer streamBuffers.Put(bufp)
	buf := *bufp
	for {
		n, readErr := body.Read(buf)
		if n > 0 {
			if keep && capture.Len() < capturedBody {
				capture.Write(buf[:min(n, capturedBody-capture.Len())])
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			_ = rc.Flush()
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			return readErr
		}
	}
}

// hopByHop are the headers that belong to one connection, not the message
// (RFC 9110 section 7.6.1), by canonical name.
var hopByHop = map[string]bool{"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true}

// copyHeaders copies the end-to-end headers of src into dst: neither the
// hop-by-hop ones nor those the Connection header names.
func copyHeaders(dst, src http.Header) {
	connection := src.Values("Connection")
	for name, values := range src {
		if hopByHop[name] || namedIn(connection, name) {
			continue
		}
		dst[name] = append([]string(nil), values...)
	}
}

// namedIn reports whether the comma-separated lists of header names hold
// name (canonical).
func namedIn(lists []string, name string) bool {
	for _, list := range lists {
		for listed := range strings.SplitSeq(list, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(listed)) == name {
				return true
			}
		}
	}
	return false
}
