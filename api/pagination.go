package api

import (
	"encoding/base64"
	"strings"

	tether "github.com/tetherhq/tether"
)

// PageParams are the page parameters shared by every list (API.md "Conventions").
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string `query:"cursor" doc:"Opaque cursor from next_cursor of the previous page"`
}

const cursorPrefix = "c1:"

// encodeCursor makes an opaque cursor from the last id of a page, or nil when
// no page follows.
func encodeCursor(lastID string, more bool) *string {
	if !more {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + lastID))
	return &c
}

// decodeCursor returns the id a cursor continues after.
func decodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(raw), cursorPrefix) {
		return "", &tether.Error{Code: tether.EINVALID, Message: "invalid cursor: pass next_cursor from the previous page unchanged",
			Fields: []tether.FieldError{{Location: "query.cursor", Message: "invalid cursor", Value: cursor}}}
	}
	return strings.TrimPrefix(string(raw), cursorPrefix), nil
}

// one wraps a single object: {"data": {...}}.
type one[T any] struct {
	Body struct {
		Data T `json:"data"`
	}
}

func single[T any](v T) *one[T] {
	out := &one[T]{}
	out.Body.Data = v
	return out
}

// many wraps a list: {"data": [...], "next_cursor": "..."}.
type many[T any] struct {
	Body struct {
		Data       []T     `json:"data"`
		NextCursor *string `json:"next_cursor" doc:"Cursor of the next page; null on the last page"`
	}
}

func list[T any](items []T, next *string) *many[T] {
	out := &many[T]{}
	out.Body.Data = items
	if out.Body.Data == nil {
		out.Body.Data = []T{}
	}
	out.Body.NextCursor = next
	return out
}
