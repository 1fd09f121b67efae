package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

// authenticate requires a valid API key on every operation that declares
// security (all of /v1). Keys are compared by their SHA-256 hash, in the
// database, so no secret is held in memory.
func (h *handlers) authenticate(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if isPublic(ctx.Operation()) {
			next(ctx)
			return
		}
		if status, msg := h.checkKey(ctx.Context(), ctx.Header("Authorization")); status != 0 {
			if status == http.StatusUnauthorized {
				ctx.SetHeader("WWW-Authenticate", `Bearer realm="tether"`)
			}
			_ = huma.WriteErr(api, ctx, status, msg)
			return
		}
		next(ctx)
	}
}

// requireKey is authenticate for plain net/http handlers (the proxy).
func (h *handlers) requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := h.checkKey(r.Context(), r.Header.Get("Authorization")); status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tether"`)
			}
			writeProblem(w, newProblem(status, msg))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkKey returns 0 for a valid key, otherwise the status and message to
// answer with.
func (h *handlers) checkKey(ctx context.Context, authorization string) (int, string) {
	secret, ok := bearerToken(authorization)
	if !ok {
		return http.StatusUnauthorized, "missing API key: send Authorization: Bearer <api key>"
	}
	hash := tether.HashAPIKey(secret)
	if h.keys.valid(hash) {
		return 0, ""
	}
	_, err := h.Store.APIKeyByHash(ctx, hash)
	if tether.IsNotFound(err) {
		return http.StatusUnauthorized, "invalid or revoked API key"
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "look up api key", "error", err)
		return http.StatusInternalServerError, "internal error"
	}
	h.keys.remember(hash)
	return 0, ""
}

// keyCacheTTL is how long a valid key is taken on trust: a busy client
// costs one lookup a second instead of one per request, and a revoked key
// stops working within a second (on every instance, as each asks the
// database again by then).
const keyCacheTTL = time.Second

// keyCache remembers the hashes of recently valid API keys. Only hashes:
// it holds no secret.
type keyCache struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (c *keyCache) valid(hash []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Before(c.until[string(hash)])
}

func (c *keyCache) remember(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.until == nil || len(c.until) > 10000 { // bounded: start afresh
		c.until = map[string]time.Time{}
	}
	c.until[string(hash)] = time.Now().Add(keyCacheTTL)
}

func isPublic(op *huma.Operation) bool {
	return op != nil && op.Security != nil && len(op.Security) == 0
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
