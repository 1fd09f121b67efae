package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

type apiKeyContextKey struct{}

// authenticate requires a valid API key on every operation that declares
// security (all of /v1). Keys are compared by their SHA-256 hash, in the
// database, so no secret is held in memory.
func (h *handlers) authenticate(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if isPublic(ctx.Operation()) {
			next(ctx)
			return
		}
		secret, ok := bearerToken(ctx.Header("Authorization"))
		if !ok {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="tether"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "missing API key: send Authorization: Bearer <api key>")
			return
		}
		key, err := h.Store.APIKeyByHash(ctx.Context(), tether.HashAPIKey(secret))
		if tether.IsNotFound(err) {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="tether", error="invalid_token"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "invalid or revoked API key")
			return
		}
		if err != nil {
			_ = huma.WriteErr(api, ctx, http.StatusInternalServerError, "internal error")
			h.Log.ErrorContext(ctx.Context(), "look up api key", "error", err)
			return
		}
		next(huma.WithValue(ctx, apiKeyContextKey{}, key))
	}
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

// apiKeyFrom returns the key that authenticated the request.
func apiKeyFrom(ctx context.Context) *tether.APIKey {
	k, _ := ctx.Value(apiKeyContextKey{}).(*tether.APIKey)
	return k
}
