// Package api is Tether's management REST API: huma on net/http, for request
// validation and the OpenAPI 3.1 document. Handlers are thin: parse, call one
// service, render. Errors are mapped to problem+json in one place (errors.go).
package api

import (
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/connections"
	"github.com/tetherhq/tether/monitor"
	"github.com/tetherhq/tether/proxy"
)

// Deps are what the API serves from.
type Deps struct {
	Store       tether.Store
	Catalog     tether.Catalog
	Connections *connections.Service
	Proxy       *proxy.Forwarder
	Monitor     *monitor.Monitor
	Log         *slog.Logger
	Version     string
}

// maxBodyBytes bounds every request body; larger ones get 413.
const maxBodyBytes = 1 << 20

// Register adds the API's routes to mux.
func Register(mux *http.ServeMux, d Deps) huma.API {
	config := huma.DefaultConfig("Tether API", d.Version)
	config.Info.Description = "Keeps the third-party connections of a SaaS product healthy. See docs/api.md."
	config.OpenAPIPath = "/openapi"
	config.CreateHooks = nil // no "$schema" members or Link headers in answers: the contract fixes the shapes
	config.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API key (`tether keys create`)."},
	}
	config.Security = []map[string][]string{{"bearer": {}}}
	config.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[tether.Time](), reflect.TypeFor[timeSchema]())
	api := humago.New(jsonByDefault{mux}, config)
	h := &handlers{Deps: d}
	api.UseMiddleware(h.authenticate(api))
	h.registerHealth(api)
	h.registerIntegrations(api)
	h.registerConnections(api)
	h.registerEvents(api)
	h.registerCalls(api)
	h.registerProxy(mux, api)
	h.registerReports(api)
	h.registerCheck(api)
	return api
}

// jsonByDefault reads request bodies without a JSON content type as JSON:
// the API speaks nothing else, and curl's -d sends a form content type.
type jsonByDefault struct{ *http.ServeMux }

func (m jsonByDefault) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.ServeMux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			r.Header.Set("Content-Type", "application/json")
		}
		handler(w, r)
	})
}

// timeSchema documents tether.Time: an RFC 3339 string in UTC with
// millisecond precision.
type timeSchema string

type handlers struct {
	Deps
	keys keyCache
}

// public marks operations that need no API key.
var public = []map[string][]string{}

func op(id, method, path, summary string, tags ...string) huma.Operation {
	return huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         path,
		Summary:      summary,
		Tags:         tags,
		MaxBodyBytes: maxBodyBytes,
	}
}
