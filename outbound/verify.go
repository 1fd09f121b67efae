package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tetherhq/tether"
)

// Result is what happened when Tether sent a request of its own (the
// verification, a probe, a sync page). It reports; the health package decides
// what it means.
type Result struct {
	// Request is the request as sent (credentials injected: redact before
	// logging anything of it).
	Request *http.Request
	// StatusCode is 0 when no answer came.
	StatusCode int
	// Header holds the response headers (nil when no answer came).
	Header http.Header
	// Body is the response body, up to Config.MaxResponseBytes; callers keep
	// at most 4 KiB of it.
	Body      []byte
	StartedAt time.Time
	Duration  time.Duration
	// Err is a network error, a timeout or an SSRF refusal (see IsBlocked),
	// or a failure to read the whole body (StatusCode is set then). Its
	// message never carries credentials.
	Err error
}

// VerifyResult is the outcome of the definition's verify request.
type VerifyResult struct {
	Result
	// AccountID is the value at def.Verify.AccountID in a 2xx JSON answer,
	// or "".
	AccountID string
}

// Call sends method and path (relative to the definition's base URL) with
// creds and reads the whole answer. It is not rate-limited (call Wait first).
// The error return is for a request that could not be built, such as a
// missing credential field (a tether.Error); what happened on the wire is in
// the Result.
func (c *Client) Call(ctx context.Context, def *tether.ProviderDefinition, creds tether.Credentials, method, path string) (*Result, error) {
	req, err := c.NewRequest(ctx, def, creds, method, path, nil)
	if err != nil {
		return nil, err
	}
	res := &Result{Request: req, StartedAt: time.Now()}
	res.read(c.Do(req))
	res.Duration = time.Since(res.StartedAt)
	return res, nil
}

// Verify runs def's verify request with creds and reports the outcome, with
// the account id when the definition says where it is.
func (c *Client) Verify(ctx context.Context, def *tether.ProviderDefinition, creds tether.Credentials) (*VerifyResult, error) {
	res, err := c.Call(ctx, def, creds, def.Verify.Method, def.Verify.Path)
	if err != nil {
		return nil, err
	}
	out := &VerifyResult{Result: *res}
	if res.Err == nil {
		out.AccountID = accountID(def.Verify.AccountID, res.StatusCode, res.Body)
	}
	return out, nil
}

func (r *Result) read(resp *http.Response, err error) {
	if err != nil {
		r.Err = err
		return
	}
	defer resp.Body.Close()
	r.StatusCode, r.Header = resp.StatusCode, resp.Header
	r.Body, err = io.ReadAll(resp.Body)
	if err != nil {
		r.Err = fmt.Errorf("read the answer: %w", err)
	}
}

// accountID finds the account id at a dotted path of a 2xx JSON answer.
// Numbers are decoded as json.Number so that large ids keep every digit.
func accountID(path string, status int, body []byte) string {
	if path == "" || status < 200 || status > 299 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return ""
	}
	v, ok := tether.LookupPath(doc, path)
	if !ok {
		return ""
	}
	s, _ := tether.ScalarString(v)
	return s
}
