package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

// Integration is a provider of the catalog, as the API shows it.
type Integration struct {
	Name        string                `json:"name" example:"acme_wms"`
	DisplayName string                `json:"display_name" example:"Acme WMS"`
	Category    string                `json:"category" example:"wms"`
	Auth        IntegrationAuth       `json:"auth"`
	Resources   []IntegrationResource `json:"resources"`
}

// IntegrationAuth is how an integration authenticates.
type IntegrationAuth struct {
	Type   string             `json:"type" enum:"api_key,basic,bearer,oauth2"`
	Fields []tether.FieldSpec `json:"fields"`
	Scopes []string           `json:"scopes,omitempty" doc:"OAuth2 scopes requested"`
}

// IntegrationResource is one resource of an integration.
type IntegrationResource struct {
	Name  string   `json:"name" example:"orders"`
	Paths []string `json:"paths"`
	Sync  bool     `json:"sync" doc:"Whether Tether syncs its records"`
}

func integrationOf(def *tether.ProviderDefinition) Integration {
	in := Integration{
		Name:        def.Name,
		DisplayName: def.DisplayName,
		Category:    def.Category,
		Auth:        IntegrationAuth{Type: def.Auth.Type, Fields: def.Auth.Fields, Scopes: def.Auth.Scopes},
		Resources:   make([]IntegrationResource, 0, len(def.Resources)),
	}
	if in.Auth.Fields == nil {
		in.Auth.Fields = []tether.FieldSpec{}
	}
	for _, r := range def.Resources {
		in.Resources = append(in.Resources, IntegrationResource{Name: r.Name, Paths: r.Paths, Sync: r.Sync != nil})
	}
	return in
}

func (h *handlers) registerIntegrations(api huma.API) {
	huma.Register(api, op("listIntegrations", http.MethodGet, "/v1/integrations", "List the provider catalog", "integrations"),
		func(ctx context.Context, _ *struct{}) (*many[Integration], error) {
			var out []Integration
			for _, def := range h.Catalog.Providers() {
				out = append(out, integrationOf(def))
			}
			return list(out, nil), nil
		})
	huma.Register(api, op("getIntegration", http.MethodGet, "/v1/integrations/{name}", "Get one integration", "integrations"),
		func(ctx context.Context, in *struct {
			Name string `path:"name"`
		}) (*one[Integration], error) {
			def, err := h.Catalog.Provider(in.Name)
			if err != nil {
				return nil, h.problem(ctx, err)
			}
			return single(integrationOf(def)), nil
		})
}
