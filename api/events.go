package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	tether "github.com/tetherhq/tether"
)

func (h *handlers) registerEvents(api huma.API) {
	huma.Register(api, op("listEvents", http.MethodGet, "/v1/events", "The event feed, oldest first", "events"),
		func(ctx context.Context, in *struct {
			After        string `query:"after" doc:"An event id: only later events are listed"`
			Type         string `query:"type" doc:"Only events of this type"`
			ConnectionID string `query:"connection_id" doc:"Only events about this connection"`
			PageParams
		}) (*many[tether.Event], error) {
			after := in.After
			if in.Cursor != "" {
				id, err := decodeCursor(in.Cursor)
				if err != nil {
					return nil, h.problem(ctx, err)
				}
				after = id
			}
			events, more, err := h.Store.Events(ctx, tether.EventFilter{
				After: after, Type: in.Type, ConnectionID: in.ConnectionID, Limit: in.Limit,
			})
			if err != nil {
				return nil, h.problem(ctx, err)
			}
			var next *string
			if len(events) > 0 {
				next = encodeCursor(events[len(events)-1].ID, more)
			}
			return list(events, next), nil
		})
}
