package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// authServer is a test OAuth2 authorization server (refresh_token grant) and
// the API it guards: the API accepts only the access token issued last.
type authServer struct {
	mu           sync.Mutex
	access       string // the one access token the API accepts
	refresh      string // the one refresh token the token endpoint accepts
	issued       int
	refreshCalls int
	api, token   *httptest.Server
}

func newAuthServer(t *testing.T) *authServer {
	s := &authServer{access: "access-0", refresh: "refresh-0"}
	s.token = httptest.NewServer(http.HandlerFunc(s.serveToken))
	s.api = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	t.Cleanup(s.token.Close)
	t.Cleanup(s.api.Close)
	return s
}

func (s *authServer) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshCalls++
	id, secret, _ := r.BasicAuth()
	if r.FormValue("client_id") != "" {
		id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
	}
	w.Header().Set("Content-Type", "application/json")
	if id != "test-client" || secret != "test-secret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	if r.FormValue("grant_type") != "refresh_token" || r.FormValue("refresh_token") != s.refresh {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"the refresh token is revoked"}`)
		return
	}
	s.issued++
	s.access = fmt.Sprintf("access-%d", s.issued)
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, s.access)
}

func (s *authServer) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ok := r.Header.Get("Authorization") == "Bearer "+s.access
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fmt.Fprint(w, `{"id": "acct-1"}`)
}

// expireAccessToken makes the API refuse the current access token, as when
// it expires or the provider rotates it.
func (s *authServer) expireAccessToken() {
	s.mu.Lock()
	s.access = "expired-" + s.access
	s.mu.Unlock()
}

func (s *authServer) revokeRefreshToken() {
	s.mu.Lock()
	s.refresh = "revoked"
	s.mu.Unlock()
}

func newOAuthEnv(t *testing.T, as *authServer) *testEnv {
	t.Setenv("TEST_OAUTH_CLIENT_ID", "test-client")
	t.Setenv("TEST_OAUTH_CLIENT_SECRET", "test-secret")
	dir := t.TempDir()
	def := fmt.Sprintf(`name: oauth_api
display_name: OAuth API
base_url: "{server}"
auth:
  type: oauth2
  authorize_url: %[1]s/authorize
  token_url: %[1]s/token
  scopes: [read]
  client_id_env: TEST_OAUTH_CLIENT_ID
  client_secret_env: TEST_OAUTH_CLIENT_SECRET
  fields: [{name: server, label: Server}]
verify: {path: /me, account_id: id}
resources:
  items: {paths: ["/items"]}
`, as.token.URL)
	if err := os.WriteFile(filepath.Join(dir, "oauth.yaml"), []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	return newTestEnv(t, "", func(c *Config) { c.ProvidersDir = dir })
}

func (e *testEnv) createOAuthConnection(as *authServer, expiresAt string) string {
	e.t.Helper()
	creds := map[string]string{"server": as.api.URL, "access_token": "access-0", "refresh_token": "refresh-0"}
	if expiresAt != "" {
		creds["expires_at"] = expiresAt
	}
	res := e.do("POST", "/v1/connections", map[string]any{"integration_name": "oauth_api", "customer_id": "c", "credentials": creds})
	expectStatus(e.t, res, http.StatusCreated)
	return res.data(e.t)["connection_id"].(string)
}

// A refused access token is refreshed and the verification retried before
// anything opens: the connection stays healthy, and the new token is used.
func TestOAuth2RefreshHealsARefusedToken(t *testing.T) {
	as := newAuthServer(t)
	e := newOAuthEnv(t, as)
	id := e.createOAuthConnection(as, "")
	as.expireAccessToken()
	expectStatus(t, e.proxy("GET", id, "/me"), http.StatusUnauthorized)
	calls := e.waitCalls("connection_id="+id+"&source=refresh", 1)
	if calls[0].(map[string]any)["outcome"] != "success" {
		t.Fatalf("refresh call = %v", calls[0])
	}
	eventually(t, "the retried verification", func() bool {
		return len(e.do("GET", "/v1/calls?source=probe&outcome=success&connection_id="+id, nil).json(t)["data"].([]any)) == 1
	})
	e.flushCalls()
	if c := e.connection(id); c["status"] != "healthy" || len(c["errors"].([]any)) != 0 {
		t.Errorf("after a successful refresh: %v %v", c["status"], c["errors"])
	}
	if created := e.events("type=connection-error.created&connection_id=" + id); len(created) != 0 {
		t.Errorf("an error opened despite the refresh: %v", created)
	}
	expectStatus(t, e.proxy("GET", id, "/me"), http.StatusOK) // the refreshed token is stored and injected
	assertNoSecretInCalls(t, e, "access-1")
}

// A refresh token the authorization server refuses confirms the auth
// failure: invalid_credentials opens.
func TestOAuth2RefusedRefreshOpensInvalidCredentials(t *testing.T) {
	as := newAuthServer(t)
	e := newOAuthEnv(t, as)
	id := e.createOAuthConnection(as, "")
	as.expireAccessToken()
	as.revokeRefreshToken()
	expectStatus(t, e.proxy("GET", id, "/me"), http.StatusUnauthorized)
	eventually(t, "invalid_credentials", e.statusIs(id, tether.StatusUnhealthy, tether.ErrorInvalidCredentials))
	calls := e.waitCalls("connection_id="+id+"&source=refresh", 1)
	if c := calls[0].(map[string]any); c["signal"] != "auth_failure" || c["status_code"] != float64(400) {
		t.Errorf("refresh call = %v", c)
	}
	assertNoSecretInCalls(t, e, "refresh-0")
}

// An access token past its expiry is refreshed before the verification.
func TestOAuth2ExpiredTokenIsRefreshedFirst(t *testing.T) {
	as := newAuthServer(t)
	e := newOAuthEnv(t, as)
	id := e.createOAuthConnection(as, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	c := e.do("POST", "/v1/connections/"+id+"/check", nil).data(t)
	if c["status"] != "healthy" {
		t.Errorf("after check: %v %v", c["status"], c["errors"])
	}
	as.mu.Lock()
	refreshes := as.refreshCalls
	as.mu.Unlock()
	if refreshes != 1 {
		t.Errorf("%d refreshes, want 1 (before the verification)", refreshes)
	}
	expectStatus(t, e.proxy("GET", id, "/me"), http.StatusOK)
}
