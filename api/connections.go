package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/connections"
)

// ConnectionPath is the {id} of connection routes.
type ConnectionPath struct {
	ID string `path:"id" doc:"The connection id (conn_...)"`
}

type createConnectionInput struct {
	Body struct {
		IntegrationName string            `json:"integration_name" minLength:"1" example:"acme_wms"`
		CustomerID      string            `json:"customer_id" minLength:"1" maxLength:"255" example:"cust-42"`
		DisplayName     string            `json:"display_name,omitempty" maxLength:"255"`
		Credentials     map[string]string `json:"credentials" doc:"The integration's credential fields (GET /v1/integrations/{name}); for oauth2, access_token, refresh_token?, expires_at?"`
		Metadata        map[string]any    `json:"metadata,omitempty" doc:"Any JSON object"`
	}
}

type createdConnection struct {
	Status int
	Body   struct {
		Data *tether.Connection `json:"data"`
	}
}

type listConnectionsInput struct {
	IntegrationName string `query:"integration_name"`
	CustomerID      string `query:"customer_id"`
	Status          string `query:"status" enum:"new,healthy,unhealthy_now,unhealthy"`
	State           string `query:"state" enum:"active,paused,disabled"`
	HasErrors       string `query:"has_errors" enum:"true,false"`
	ErrorType       string `query:"error_type" enum:"invalid_credentials,missing_permission,sync_error,system_error"`
	PageParams
}

type patchConnectionInput struct {
	ConnectionPath
	Body struct {
		DisplayName *string        `json:"display_name,omitempty" maxLength:"255"`
		Metadata    map[string]any `json:"metadata,omitempty" doc:"Replaces the metadata whole"`
	}
}

func (h *handlers) registerConnections(api huma.API) {
	create := op("createConnection", http.MethodPost, "/v1/connections",
		"Create a connection from credentials (tested first; nothing is saved unless the test passes)", "connections")
	create.DefaultStatus = http.StatusCreated
	create.Errors = []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge}
	huma.Register(api, create, func(ctx context.Context, in *createConnectionInput) (*createdConnection, error) {
		c, err := h.Connections.Create(ctx, connections.CreateInput{
			IntegrationName: in.Body.IntegrationName,
			CustomerID:      in.Body.CustomerID,
			DisplayName:     in.Body.DisplayName,
			Credentials:     in.Body.Credentials,
			Metadata:        in.Body.Metadata,
		})
		if err != nil {
			return nil, h.problem(ctx, err)
		}
		out := &createdConnection{Status: http.StatusCreated}
		out.Body.Data = c
		return out, nil
	})

	huma.Register(api, op("listConnections", http.MethodGet, "/v1/connections", "List connections", "connections"),
		func(ctx context.Context, in *listConnectionsInput) (*many[*tether.Connection], error) {
			after, err := decodeCursor(in.Cursor)
			if err != nil {
				return nil, h.problem(ctx, err)
			}
			f := tether.ConnectionFilter{
				IntegrationName: in.IntegrationName,
				CustomerID:      in.CustomerID,
				Status:          tether.HealthStatus(in.Status),
				State:           tether.ConnectionState(in.State),
				ErrorType:       in.ErrorType,
				After:           after,
				Limit:           in.Limit,
			}
			if in.HasErrors != "" {
				has := in.HasErrors == "true"
				f.HasErrors = &has
			}
			page, more, err := h.Connections.Connections(ctx, f)
			if err != nil {
				return nil, h.problem(ctx, err)
			}
			var next *string
			if len(page) > 0 {
				next = encodeCursor(page[len(page)-1].ID, more)
			}
			return list(page, next), nil
		})

	huma.Register(api, op("getConnection", http.MethodGet, "/v1/connections/{id}", "Get one connection", "connections"),
		func(ctx context.Context, in *ConnectionPath) (*one[*tether.Connection], error) {
			return h.renderConnection(h.Connections.Connection(ctx, in.ID))
		})

	huma.Register(api, op("updateConnection", http.MethodPatch, "/v1/connections/{id}", "Change display_name or metadata", "connections"),
		func(ctx context.Context, in *patchConnectionInput) (*one[*tether.Connection], error) {
			return h.renderConnection(h.Connections.Update(ctx, in.ID, connections.UpdateInput{
				DisplayName: in.Body.DisplayName, Metadata: in.Body.Metadata,
			}))
		})

	del := op("deleteConnection", http.MethodDelete, "/v1/connections/{id}",
		"Delete a connection and all its data (credentials, records, checkpoints, call logs)", "connections")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, func(ctx context.Context, in *ConnectionPath) (*struct{}, error) {
		if err := h.Connections.Delete(ctx, in.ID); err != nil {
			return nil, h.problem(ctx, err)
		}
		return nil, nil
	})

	huma.Register(api, op("pauseConnection", http.MethodPost, "/v1/connections/{id}/pause", "Pause probes and syncs", "connections"),
		func(ctx context.Context, in *ConnectionPath) (*one[*tether.Connection], error) {
			return h.renderConnection(h.Connections.Pause(ctx, in.ID))
		})
	huma.Register(api, op("resumeConnection", http.MethodPost, "/v1/connections/{id}/resume", "Resume a paused or disabled connection", "connections"),
		func(ctx context.Context, in *ConnectionPath) (*one[*tether.Connection], error) {
			return h.renderConnection(h.Connections.Resume(ctx, in.ID))
		})
}

func (h *handlers) renderConnection(c *tether.Connection, err error) (*one[*tether.Connection], error) {
	if err != nil {
		return nil, h.problem(context.Background(), err)
	}
	return single(c), nil
}

func (h *handlers) registerCheck(api huma.API) {
	if h.Monitor == nil {
		return
	}
	huma.Register(api, op("checkConnection", http.MethodPost, "/v1/connections/{id}/check",
		"Run the credential verification and every resource probe now; answers with the updated connection", "connections"),
		func(ctx context.Context, in *ConnectionPath) (*one[*tether.Connection], error) {
			if err := h.Monitor.CheckNow(ctx, in.ID); err != nil {
				return nil, h.problem(ctx, err)
			}
			return h.renderConnection(h.Connections.Connection(ctx, in.ID))
		})
}
