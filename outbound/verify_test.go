package outbound_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

func TestVerifyExtractsAccountID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/me" || r.Header.Get("X-Api-Key") != "Key "+apiKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"account": {"id": 12345678901234567890, "name": "Acme"}}`)
	}))
	defer srv.Close()

	res, err := newClient().Verify(context.Background(), definition(srv.URL+"/api", headerAuth()), tether.Credentials{"api_key": apiKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d, err %v", res.StatusCode, res.Err)
	}
	// json.Number keeps every digit of a large numeric id.
	if res.AccountID != "12345678901234567890" {
		t.Fatalf("account id = %q", res.AccountID)
	}
	if res.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(res.Body), "Acme") || res.Duration <= 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestVerifyAccountIDOnlyFrom2xxJSON(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"unauthorized": {401, `{"account": {"id": "a1"}}`},
		"not json":     {200, `<html>account</html>`},
		"missing":      {200, `{"user": {"id": "a1"}}`},
		"object":       {200, `{"account": {"id": {"x": 1}}}`},
	}
	for name, a := range answers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(a.status)
			io.WriteString(w, a.body)
		}))
		res, err := newClient().Verify(context.Background(), definition(srv.URL, headerAuth()), tether.Credentials{"api_key": apiKey})
		srv.Close()
		if err != nil || res.Err != nil {
			t.Fatalf("%s: %v, %v", name, err, res.Err)
		}
		if res.StatusCode != a.status || res.AccountID != "" {
			t.Errorf("%s: status %d, account id %q", name, res.StatusCode, res.AccountID)
		}
	}
}

func TestVerifyNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Close()

	res, err := newClient().Verify(context.Background(), definition(srv.URL, queryAuth()), tether.Credentials{"api_key": apiKey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || res.StatusCode != 0 || res.Header != nil || res.AccountID != "" {
		t.Fatalf("result = %+v", res)
	}
	if strings.Contains(res.Err.Error(), apiKey) || strings.Contains(res.Err.Error(), "sk_live") {
		t.Fatalf("error %q leaks the key", res.Err)
	}
}

func TestVerifyRefusedByTheSSRFGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the request reached the server")
	}))
	defer srv.Close()

	c := outbound.New(outbound.Config{})
	res, err := c.Verify(context.Background(), definition(srv.URL, headerAuth()), tether.Credentials{"api_key": apiKey})
	if err != nil {
		t.Fatal(err)
	}
	if !outbound.IsBlocked(res.Err) || res.StatusCode != 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestVerifyMissingFieldIsAnError(t *testing.T) {
	res, err := newClient().Verify(context.Background(), definition("https://api.acme.example", headerAuth()), tether.Credentials{})
	if res != nil {
		t.Fatalf("result = %+v, want none", res)
	}
	wantFieldError(t, err, "api_key")
}
