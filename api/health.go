package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type statusBody struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func okStatus() *statusBody {
	out := &statusBody{}
	out.Body.Status = "ok"
	return out
}

func (h *handlers) registerHealth(api huma.API) {
	live := op("healthz", http.MethodGet, "/healthz", "Liveness: the process serves HTTP", "health")
	live.Security = public
	huma.Register(api, live, func(ctx context.Context, _ *struct{}) (*statusBody, error) {
		return okStatus(), nil
	})

	ready := op("readyz", http.MethodGet, "/readyz", "Readiness: the database answers and its migrations are applied", "health")
	ready.Security = public
	ready.Errors = []int{http.StatusServiceUnavailable}
	huma.Register(api, ready, func(ctx context.Context, _ *struct{}) (*statusBody, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := h.Store.Ping(ctx); err != nil {
			h.Log.WarnContext(ctx, "not ready", "error", err)
			return nil, newProblem(http.StatusServiceUnavailable, "the database is not ready")
		}
		return okStatus(), nil
	})
}
