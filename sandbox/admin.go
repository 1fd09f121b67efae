package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The admin API mirrors the Go methods for tools that drive the sandbox over
// HTTP (the demo, black-box tests). It needs no authentication: the sandbox
// is a test tool and must never face the internet.

// keyJSON is a key as the admin API shows it.
type keyJSON struct {
	Key       string   `json:"key"`
	AccountID string   `json:"account_id"`
	Scopes    []string `json:"scopes"`
}

// adminCreateKey takes {"account_id", "scopes"}, both optional, like CreateKey.
func (s *Sandbox) adminCreateKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountID string   `json:"account_id"`
		Scopes    []string `json:"scopes"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Scopes) == 0 {
		req.Scopes = allScopes()
	}
	scopes, err := normalizeScopes(req.Scopes)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	secret := s.createKey(req.AccountID, scopes)
	writeJSON(w, http.StatusCreated, keyJSON{secret, accountOrDefault(req.AccountID), scopes})
}

func (s *Sandbox) adminRevokeKey(w http.ResponseWriter, r *http.Request) {
	if !s.revokeKey(r.PathValue("key")) {
		writeError(w, http.StatusNotFound, "not_found", "No such key.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminSetScopes takes {"scopes": [...]}; an empty list removes every scope.
func (s *Sandbox) adminSetScopes(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Scopes []string `json:"scopes"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	scopes, err := normalizeScopes(req.Scopes)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	secret := r.PathValue("key")
	key, ok := s.setScopes(secret, scopes)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "No such key.")
		return
	}
	writeJSON(w, http.StatusOK, keyJSON{secret, key.accountID, key.scopes})
}

func (s *Sandbox) adminAddFault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PathPrefix string `json:"path_prefix"`
		Status     int    `json:"status"`
		RetryAfter int    `json:"retry_after"`
		LatencyMS  int64  `json:"latency_ms"`
		Count      int    `json:"count"`
		Body       string `json:"body"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	f := Fault{
		PathPrefix: req.PathPrefix,
		Status:     req.Status,
		RetryAfter: req.RetryAfter,
		Latency:    time.Duration(req.LatencyMS) * time.Millisecond,
		Count:      req.Count,
		Body:       req.Body,
	}
	if err := f.validate(); err != nil {
		writeBadRequest(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		FaultID string `json:"fault_id"`
	}{s.faults.add(f)})
}

func (s *Sandbox) adminClearFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

// adminTouch takes {"account_id", "resource", "count"} like TouchRecords.
func (s *Sandbox) adminTouch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountID string `json:"account_id"`
		Resource  string `json:"resource"`
		Count     int    `json:"count"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Count < 0 {
		writeBadRequest(w, errors.New("count must not be negative"))
		return
	}
	if err := s.account(req.AccountID).touch(req.Resource, req.Count, time.Now()); err != nil {
		writeBadRequest(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// maxAdminBody bounds admin request bodies; real ones are a few hundred bytes.
const maxAdminBody = 1 << 20

// decodeBody reads a JSON object into v. An empty body leaves v as it is
// (every admin field is optional); anything else that is not exactly one
// object with known fields gets a 400, and decodeBody reports false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	switch {
	case errors.Is(err, io.EOF):
		return true
	case err == nil && dec.Decode(&json.RawMessage{}) != io.EOF:
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		writeBadRequest(w, fmt.Errorf("invalid JSON body: %w", err))
		return false
	}
	return true
}
