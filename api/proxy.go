package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tetherhq/tether/proxy"
)

// registerProxy mounts the proxy on mux as a plain handler (answers stream
// through; huma would buffer them) and documents it in the OpenAPI document.
func (h *handlers) registerProxy(mux *http.ServeMux, api huma.API) {
	if h.Proxy == nil {
		return
	}
	forward := h.requireKey(http.HandlerFunc(h.forward))
	mux.Handle("/v1/proxy/{connection_id}/{path...}", forward)
	mux.Handle("/v1/proxy/{connection_id}", forward)
	api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "proxy",
		Method:      http.MethodGet,
		Path:        "/v1/proxy/{connection_id}/{path}",
		Summary:     "Forward a call to the provider (any method) with the connection's credentials injected",
		Description: "Any method. The answer streams back with the provider's status and headers, plus " +
			proxy.CallIDHeader + ". Unknown connection: 404; paused: 423; disabled: 424 (the provider is not called); provider unreachable: 502.",
		Tags: []string{"proxy"},
		Parameters: []*huma.Param{
			{Name: "connection_id", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}},
			{Name: "path", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}, Description: "The provider path, relative to its base URL"},
		},
		Responses: map[string]*huma.Response{"default": {Description: "The provider's answer"}},
	})
}

func (h *handlers) forward(w http.ResponseWriter, r *http.Request) {
	err := h.Proxy.Forward(w, r, r.PathValue("connection_id"), "/"+r.PathValue("path"))
	if err == nil {
		return
	}
	var unreachable *proxy.UnreachableError
	if errors.As(err, &unreachable) {
		writeProblem(w, newProblem(http.StatusBadGateway, "the provider could not be reached: "+unreachable.Reason))
		return
	}
	var p huma.StatusError
	if !errors.As(h.problem(r.Context(), err), &p) {
		p = newProblem(http.StatusInternalServerError, "internal error")
	}
	writeProblem(w, p)
}

// writeProblem writes a problem+json answer outside huma.
func writeProblem(w http.ResponseWriter, p huma.StatusError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.GetStatus())
	_ = json.NewEncoder(w).Encode(p)
}
