package sandbox

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the list endpoints.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// The provider's JSON shapes.
type (
	orderJSON struct {
		ID        int     `json:"id"`
		Number    string  `json:"number"`
		Status    string  `json:"status"`
		Total     float64 `json:"total"`
		Currency  string  `json:"currency"`
		CreatedAt string  `json:"created_at"`
		UpdatedAt string  `json:"updated_at"`
	}
	inventoryJSON struct {
		SKU       string `json:"sku"`
		Quantity  int    `json:"quantity"`
		Warehouse string `json:"warehouse"`
		UpdatedAt string `json:"updated_at"`
	}
	returnJSON struct {
		ID        string `json:"id"`
		OrderID   int    `json:"order_id"`
		Reason    string `json:"reason"`
		UpdatedAt string `json:"updated_at"`
	}
	single[T any] struct {
		Data T `json:"data"`
	}
)

func (o *order) view() orderJSON {
	return orderJSON{
		ID:        o.seq,
		Number:    o.number,
		Status:    o.status,
		Total:     float64(o.totalCents) / 100,
		Currency:  o.currency,
		CreatedAt: formatTime(o.createdAt),
		UpdatedAt: formatTime(o.updatedAt),
	}
}

func (i *inventoryItem) view() inventoryJSON {
	return inventoryJSON{SKU: i.sku(), Quantity: i.quantity, Warehouse: i.warehouse, UpdatedAt: formatTime(i.updatedAt)}
}

func (r *returnRecord) view() returnJSON {
	return returnJSON{ID: r.id(), OrderID: r.orderID, Reason: r.reason, UpdatedAt: formatTime(r.updatedAt)}
}

// views copies records into their JSON shapes, so that they can be encoded
// after the account's lock is released. The result is never nil: an empty
// page encodes as [].
func views[R any, V any](records []R, view func(R) V) []V {
	out := make([]V, len(records))
	for i, record := range records {
		out[i] = view(record)
	}
	return out
}

// ping imitates APIs (Slack's, for one) that report bad credentials in a
// 200 answer, which Tether must classify with a provider rule.
func (s *Sandbox) ping(w http.ResponseWriter, r *http.Request) {
	type pingJSON struct {
		OK    bool   `json:"ok"`
		Error string `json:"error,omitempty"`
	}
	if _, ok := s.authenticate(r); !ok {
		writeJSON(w, http.StatusOK, pingJSON{OK: false, Error: "invalid_auth"})
		return
	}
	writeJSON(w, http.StatusOK, pingJSON{OK: true})
}

func (s *Sandbox) me(w http.ResponseWriter, r *http.Request, c caller) {
	type accountJSON struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	writeJSON(w, http.StatusOK, struct {
		Account accountJSON `json:"account"`
		Scopes  []string    `json:"scopes"`
	}{accountJSON{c.account.id, c.account.name}, c.key.scopes})
}

// listOrders pages with an opaque cursor that holds the position of the
// last record sent, so a walk stays correct while records change.
func (s *Sandbox) listOrders(w http.ResponseWriter, r *http.Request, c caller) {
	q := newQuery(r)
	limit := q.int("limit", defaultPageSize, 1, maxPageSize)
	since := q.time("updated_since")
	cursor, hasCursor := q.cursor("cursor")
	if q.err != nil {
		writeBadRequest(w, q.err)
		return
	}

	var page []orderJSON
	var next *string
	c.account.read(func() {
		rest := c.account.orders.updatedSince(since)
		if hasCursor {
			rest = after(rest, cursor)
		}
		records := window(rest, 0, limit)
		if len(records) < len(rest) {
			next = new(encodeCursor(records[len(records)-1].position))
		}
		page = views(records, (*order).view)
	})

	type meta struct {
		NextCursor *string `json:"next_cursor"`
	}
	writeJSON(w, http.StatusOK, struct {
		Data []orderJSON `json:"data"`
		Meta meta        `json:"meta"`
	}{page, meta{next}})
}

func (s *Sandbox) getOrder(w http.ResponseWriter, r *http.Request, c caller) {
	id := r.PathValue("id")
	seq, _ := strconv.Atoi(id)
	var data *orderJSON
	c.account.read(func() {
		// Compare the whole id, so that "007" does not find order 7.
		if o, ok := c.account.orders.get(seq); ok && strconv.Itoa(o.seq) == id {
			data = new(o.view())
		}
	})
	if data == nil {
		writeError(w, http.StatusNotFound, "not_found", "No order with id "+id+".")
		return
	}
	writeJSON(w, http.StatusOK, single[orderJSON]{*data})
}

// listInventory pages by page number; a page past the end is empty.
func (s *Sandbox) listInventory(w http.ResponseWriter, r *http.Request, c caller) {
	q := newQuery(r)
	page := q.int("page", 1, 1, math.MaxInt32)
	perPage := q.int("per_page", defaultPageSize, 1, maxPageSize)
	since := q.time("updated_since")
	if q.err != nil {
		writeBadRequest(w, q.err)
		return
	}

	var items []inventoryJSON
	c.account.read(func() {
		records := window(c.account.inventory.updatedSince(since), (page-1)*perPage, perPage)
		items = views(records, (*inventoryItem).view)
	})
	writeJSON(w, http.StatusOK, struct {
		Items []inventoryJSON `json:"items"`
	}{items})
}

// listReturns pages by offset and tells the total, like many older APIs.
func (s *Sandbox) listReturns(w http.ResponseWriter, r *http.Request, c caller) {
	q := newQuery(r)
	offset := q.int("offset", 0, 0, math.MaxInt32)
	limit := q.int("limit", defaultPageSize, 1, maxPageSize)
	since := q.time("updated_since")
	if q.err != nil {
		writeBadRequest(w, q.err)
		return
	}

	var data []returnJSON
	var total int
	c.account.read(func() {
		matching := c.account.returns.updatedSince(since)
		total = len(matching)
		data = views(window(matching, offset, limit), (*returnRecord).view)
	})
	writeJSON(w, http.StatusOK, struct {
		Data  []returnJSON `json:"data"`
		Total int          `json:"total"`
	}{data, total})
}

func (s *Sandbox) getReturn(w http.ResponseWriter, r *http.Request, c caller) {
	id := r.PathValue("id")
	seq, _ := strconv.Atoi(strings.TrimPrefix(id, "ret_"))
	var data *returnJSON
	c.account.read(func() {
		// Compare the whole id, so that "ret_1" does not find ret_0001.
		if ret, ok := c.account.returns.get(seq); ok && ret.id() == id {
			data = new(ret.view())
		}
	})
	if data == nil {
		writeError(w, http.StatusNotFound, "not_found", "No return with id "+id+".")
		return
	}
	writeJSON(w, http.StatusOK, single[returnJSON]{*data})
}

// query reads query parameters, keeping the first error so that a handler
// checks once after reading them all.
type query struct {
	values url.Values
	err    error
}

func newQuery(r *http.Request) *query {
	return &query{values: r.URL.Query()}
}

func (q *query) fail(err error) {
	if q.err == nil {
		q.err = err
	}
}

// int reads an optional integer that must lie in [lo, hi]. Out of range is
// an error rather than clamped: a client asking for 500 per page and
// getting 200 could take a short page for the last one and stop early.
func (q *query) int(name string, def, lo, hi int) int {
	raw := q.values.Get(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		q.fail(fmt.Errorf("%s must be an integer from %d to %d", name, lo, hi))
		return def
	}
	return n
}

// time reads an optional RFC 3339 time; absent is the zero time, which
// every record is at or after.
func (q *query) time(name string) time.Time {
	raw := q.values.Get(name)
	if raw == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		q.fail(fmt.Errorf("%s must be an RFC 3339 time such as 2026-01-01T00:00:00Z", name))
	}
	return t
}

// cursor reads an optional cursor made by encodeCursor.
func (q *query) cursor(name string) (position, bool) {
	raw := q.values.Get(name)
	if raw == "" {
		return position{}, false
	}
	p, err := decodeCursor(raw)
	if err != nil {
		q.fail(fmt.Errorf("%s is not a cursor this API returned", name))
		return position{}, false
	}
	return p, true
}

// encodeCursor makes an opaque cursor that resumes after p.
func encodeCursor(p position) string {
	plain := strconv.FormatInt(p.updatedAt.UnixMilli(), 10) + ":" + strconv.Itoa(p.seq)
	return base64.RawURLEncoding.EncodeToString([]byte(plain))
}

func decodeCursor(cursor string) (position, error) {
	plain, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return position{}, err
	}
	millis, seq, ok := strings.Cut(string(plain), ":")
	if !ok {
		return position{}, errors.New("no separator")
	}
	ms, err1 := strconv.ParseInt(millis, 10, 64)
	n, err2 := strconv.Atoi(seq)
	if err := errors.Join(err1, err2); err != nil {
		return position{}, err
	}
	return position{updatedAt: time.UnixMilli(ms).UTC(), seq: n}, nil
}
