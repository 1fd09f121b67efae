package outbound_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

func TestDoSendsInjectedCredentials(t *testing.T) {
	var gotKey, gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey, gotUA = r.Header.Get("X-Api-Key"), r.Header.Get("User-Agent")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	c := outbound.New(outbound.Config{AllowPrivateNetworks: true, UserAgent: "Tether-test"})
	req, err := c.NewRequest(context.Background(), definition(srv.URL, headerAuth()), tether.Credentials{"api_key": apiKey}, "GET", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || gotKey != "Key "+apiKey || gotUA != "Tether-test" {
		t.Fatalf("status %d, key %q, user agent %q", resp.StatusCode, gotKey, gotUA)
	}
}

func TestDoDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/stolen", http.StatusFound)
	}))
	defer srv.Close()

	c := newClient()
	for _, do := range []func(*http.Request) (*http.Response, error){c.Do, c.DoStream} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target.URL+"/stolen" {
			t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if followed.Load() {
		t.Fatal("the redirect was followed")
	}
}

func TestDoLimitsResponseBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100+len(r.URL.Query().Get("extra"))))
	}))
	defer srv.Close()
	c := outbound.New(outbound.Config{AllowPrivateNetworks: true, MaxResponseBytes: 100})

	// Exactly at the limit: read in full.
	body, err := readAll(c.Do, srv.URL)
	if err != nil || len(body) != 100 {
		t.Fatalf("at the limit: %d bytes, %v", len(body), err)
	}
	// One byte over: an error, never a silently truncated body.
	body, err = readAll(c.Do, srv.URL+"?extra=1")
	if !errors.Is(err, outbound.ErrResponseTooLarge) {
		t.Fatalf("over the limit: %d bytes, err %v", len(body), err)
	}
	// Streaming has no limit.
	body, err = readAll(c.DoStream, srv.URL+"?extra=123456")
	if err != nil || len(body) != 106 {
		t.Fatalf("streaming: %d bytes, %v", len(body), err)
	}
}

func readAll(do func(*http.Request) (*http.Response, error), url string) ([]byte, error) {
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func TestSSRFRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()

	c := outbound.New(outbound.Config{})
	req, _ := http.NewRequest("GET", srv.URL+"/me?api_key="+apiKey, nil)
	_, err := c.Do(req)
	if !outbound.IsBlocked(err) || !errors.Is(err, outbound.ErrPrivateAddress) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	want := "refused to connect to 127.0.0.1: private and loopback addresses are not allowed (TETHER_ALLOW_PRIVATE_NETWORKS)"
	if err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if hits.Load() != 0 {
		t.Fatal("the request reached the server")
	}
}

func TestSSRFRefusesNameResolvingToLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	req, _ := http.NewRequest("GET", url, nil)
	_, err := outbound.New(outbound.Config{}).Do(req)
	if !outbound.IsBlocked(err) || !strings.Contains(err.Error(), "refused to connect to localhost (") {
		t.Fatalf("err = %v, want a refusal naming localhost", err)
	}
}

// The guard runs in the dialer's Control hook, after the socket is made and
// before connect(2): a refusal means no packet left. A timeout or "network
// unreachable" here would mean the dial was attempted.
func TestSSRFRefusesPrivateNetworkBeforeConnecting(t *testing.T) {
	c := outbound.New(outbound.Config{})
	for _, url := range []string{"http://10.255.255.1/", "https://10.0.0.1:8443/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:80/"} {
		req, _ := http.NewRequest("GET", url, nil)
		_, err := c.Do(req)
		if !outbound.IsBlocked(err) {
			t.Fatalf("%s: err = %v, want a refusal", url, err)
		}
	}
}

func TestSSRFAllowedWhenConfigured(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	body, err := readAll(newClient().Do, srv.URL)
	if err != nil || string(body) != "ok" {
		t.Fatalf("body %q, err %v", body, err)
	}
}

func TestDoErrorDoesNotLeakURLSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Close() // nothing listens any more: the dial fails

	def := definition(srv.URL+"/bot{api_key}", queryAuth())
	c := newClient()
	for name, do := range map[string]func(*http.Request) (*http.Response, error){"Do": c.Do, "DoStream": c.DoStream} {
		req, err := c.NewRequest(context.Background(), def, tether.Credentials{"api_key": "s3cr3t"}, "GET", "/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = do(req)
		if err == nil {
			t.Fatalf("%s: no error from a closed server", name)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("%s: error %q leaks the secret", name, err)
		}
		if !strings.HasPrefix(err.Error(), `Get "`+srv.URL+`"`) {
			t.Fatalf("%s: error %q does not start with the method and the origin", name, err)
		}
	}
}

func TestDoStreamRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/me", nil)
	_, err := outbound.New(outbound.Config{}).DoStream(req)
	if !outbound.IsBlocked(err) || err.Error() != "refused to connect to 127.0.0.1: private and loopback addresses are not allowed (TETHER_ALLOW_PRIVATE_NETWORKS)" {
		t.Fatalf("err = %v, want a refusal", err)
	}
}
