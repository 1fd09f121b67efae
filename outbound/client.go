// Package outbound is the one HTTP client Tether uses to call providers (and,
// later, webhook endpoints). It builds provider requests with credentials
// injected, refuses private destinations unless allowed (checked on the
// resolved address at dial time), never follows redirects, bounds time and
// response size, paces Tether's own calls per connection, and redacts secrets
// for logs.
package outbound

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for a zero Config.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 10 << 20
	DefaultUserAgent        = "Tether/1.0"
)

// Transport limits. They are fixed: they protect Tether, not a provider's
// preferences.
const (
	dialTimeout         = 5 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	// A proxy under load talks to few hosts with many parallel calls, so the
	// per-host idle pool is large; the default of 2 would redial constantly.
	maxIdleConnsPerHost = 256
	maxIdleConns        = 1024
)

// Config configures a Client.
type Config struct {
	// AllowPrivateNetworks lets calls reach loopback, private, link-local and
	// other special-purpose addresses (TETHER_ALLOW_PRIVATE_NETWORKS).
	AllowPrivateNetworks bool
	// Timeout bounds a whole call Tether makes by itself (Do), body included,
	// and how long any call may wait for response headers. Default 30s.
	Timeout time.Duration
	// MaxResponseBytes bounds the response body of Do. Default 10 MiB.
	MaxResponseBytes int64
	// UserAgent is sent when a request sets none. Default "Tether/1.0".
	UserAgent string
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c
}

// Client sends provider calls. It is safe for concurrent use; make one and
// share it, so connections are pooled.
type Client struct {
	cfg       Config
	transport *http.Transport
	// bounded is for Tether's own calls: whole-call timeout. The proxy's
	// calls go to the transport itself (DoStream).
	bounded  *http.Client
	limiters *limiterSet
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	cfg = cfg.withDefaults()
	transport := newTransport(cfg)
	return &Client{
		cfg:       cfg,
		transport: transport,
		bounded:   newHTTPClient(transport, cfg.Timeout),
		limiters:  newLimiterSet(),
	}
}

func newTransport(cfg Config) *http.Transport {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivateNetworks {
		dialer.Control = guardPrivateAddresses()
	}
	return &http.Transport{
		// Never a proxy from the environment: it would see the credentials,
		// and the SSRF guard would check the proxy's address, not the
		// provider's.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true, // a custom DialContext turns HTTP/2 off otherwise
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       idleConnTimeout,
	}
}

func newHTTPClient(transport http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect is returned as is: following one to another host would
		// hand it the credentials (and skip the caller's view of the answer).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Do sends a call Tether makes by itself (verify, probe, sync). The whole call,
// body included, is bounded by Config.Timeout, and reading more than
// Config.MaxResponseBytes of the body fails with ErrResponseTooLarge.
// Redirects are not followed: a 3xx comes back as is.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.send(c.bounded, req)
	if err != nil {
		return nil, err
	}
	resp.Body = limitBody(resp.Body, c.cfg.MaxResponseBytes)
	return resp, nil
}

// DoStream sends a proxied call: the body streams through without a size
// limit or buffering, and only the request's context bounds the call's
// length (headers must still arrive within Config.Timeout). Everything else
// is as Do: the SSRF guard, no redirects.
func (c *Client) DoStream(req *http.Request) (*http.Response, error) {
	c.setUserAgent(req)
	// The transport itself: an http.Client would only add what the proxy
	// has no use for (no redirect is followed, no deadline of its own), at
	// the price of a copy of the headers per call, kept for redirects: 3 %
	// of the proxy path's allocations. A 3xx comes back as is either way.
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return nil, describeError(req, &url.Error{Op: urlErrorOp(req.Method), URL: req.URL.String(), Err: err})
	}
	return resp, nil
}

func (c *Client) send(hc *http.Client, req *http.Request) (*http.Response, error) {
	c.setUserAgent(req)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, describeError(req, err)
	}
	return resp, nil
}

func (c *Client) setUserAgent(req *http.Request) {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
}

// urlErrorOp names a method as http.Client's errors do ("Get", "Post"), so
// that the proxy's errors read like Tether's other calls'.
func urlErrorOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}

// describeError makes a transport error fit for logs and users: an SSRF
// refusal names the host it refused, and the URL in the message is cut to its
// origin, since the path and query may carry credentials (an api_key query
// parameter, a token in the path).
func describeError(req *http.Request, err error) error {
	var blocked *blockedError
	if errors.As(err, &blocked) {
		return blocked.forHost(req.URL.Hostname())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: origin(req.URL), Err: ue.Err}
	}
	return err
}

// origin returns scheme://host of u, without userinfo, path or query.
func origin(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
