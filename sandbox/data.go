package sandbox

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// seedEpoch is the fixed end of the 30 days in which seeded records were
// last updated. A fixed time (rather than the start time) keeps the data
// identical across runs and machines.
var seedEpoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

const seedWindow = 30 * 24 * time.Hour

// Values seeded records pick from.
var (
	orderStatuses  = []string{"pending", "processing", "shipped", "shipped", "delivered", "cancelled"}
	currencies     = []string{"EUR", "EUR", "EUR", "USD", "GBP"}
	warehouses     = []string{"AMS-1", "AMS-2", "BER-1", "LON-1"}
	returnReasons  = []string{"damaged", "wrong_item", "not_as_described", "no_longer_needed", "late_delivery"}
	warehouseNames = []string{"Northwind Fulfilment", "Harbour Logistics", "Polder Distribution", "Canal Street Warehouse", "Blue Dock Supply"}
)

// Resource names, as TouchRecords and the admin API take them.
const (
	resourceOrders    = "orders"
	resourceInventory = "inventory"
	resourceReturns   = "returns"
)

// account is one provider account with its seeded records.
type account struct {
	id, name string

	mu        sync.RWMutex // guards the records' positions and the tables' order
	orders    *table[*order]
	inventory *table[*inventoryItem]
	returns   *table[*returnRecord]
}

func newAccount(id string, opts Options) *account {
	return &account{
		id:        id,
		name:      accountName(opts.Seed, id),
		orders:    newTable(seedOrders(seedRand(opts.Seed, id, resourceOrders), opts.Orders)),
		inventory: newTable(seedInventory(seedRand(opts.Seed, id, resourceInventory), opts.Inventory)),
		returns:   newTable(seedReturns(seedRand(opts.Seed, id, resourceReturns), opts.Returns, opts.Orders)),
	}
}

// read runs fn with the records locked against TouchRecords.
func (a *account) read(fn func()) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	fn()
}

func (a *account) touch(resource string, n int, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch resource {
	case resourceOrders:
		a.orders.touchOldest(n, now)
	case resourceInventory:
		a.inventory.touchOldest(n, now)
	case resourceReturns:
		a.returns.touchOldest(n, now)
	default:
		return fmt.Errorf("unknown resource %q (known: orders, inventory, returns)", resource)
	}
	return nil
}

func accountName(seed int64, id string) string {
	if id == defaultAccountID {
		return "Demo Warehouse (" + id + ")"
	}
	return pick(seedRand(seed, id, "name"), warehouseNames) + " (" + id + ")"
}

// seedRand gives each (seed, account, resource) its own random stream, so
// changing how many orders are seeded leaves the inventory unchanged.
func seedRand(seed int64, accountID, stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(accountID))
	h.Write([]byte{0})
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

func pick[T any](rng *rand.Rand, from []T) T {
	return from[rng.IntN(len(from))]
}

// randomDuration is a duration in [0, max) with millisecond precision, the
// precision of the wire format.
func randomDuration(rng *rand.Rand, max time.Duration) time.Duration {
	return time.Duration(rng.Int64N(max.Milliseconds())) * time.Millisecond
}

// seededPosition places record seq somewhere in the seeding window.
func seededPosition(rng *rand.Rand, seq int) position {
	updated := seedEpoch.Add(-time.Millisecond - randomDuration(rng, seedWindow))
	return position{updatedAt: updated, seq: seq}
}

// position orders records the way list endpoints return them: by
// updatedAt, then by seq. seq is the record's 1-based seeding number, from
// which its id is made, so it is unique and never changes.
type position struct {
	updatedAt time.Time
	seq       int
}

func comparePositions(a, b position) int {
	if c := a.updatedAt.Compare(b.updatedAt); c != 0 {
		return c
	}
	return a.seq - b.seq
}

// positioned is a record that a table can order.
type positioned interface {
	pos() *position
}

// table holds one resource's records of one account.
type table[R positioned] struct {
	bySeq   []R // bySeq[i] has seq i+1, for lookups by id
	ordered []R // by position: the order list endpoints walk
}

func newTable[R positioned](records []R) *table[R] {
	ordered := slices.Clone(records)
	slices.SortFunc(ordered, byPosition)
	return &table[R]{bySeq: records, ordered: ordered}
}

func byPosition[R positioned](a, b R) int {
	return comparePositions(*a.pos(), *b.pos())
}

func (t *table[R]) get(seq int) (R, bool) {
	if seq < 1 || seq > len(t.bySeq) {
		var none R
		return none, false
	}
	return t.bySeq[seq-1], true
}

// updatedSince returns the records updated at or after since, in order.
// The result shares the table's memory: use it under the account's lock.
func (t *table[R]) updatedSince(since time.Time) []R {
	first := sort.Search(len(t.ordered), func(i int) bool {
		return !t.ordered[i].pos().updatedAt.Before(since)
	})
	return t.ordered[first:]
}

// after returns the records of an ordered slice that come after p.
func after[R positioned](records []R, p position) []R {
	first := sort.Search(len(records), func(i int) bool {
		return comparePositions(*records[i].pos(), p) > 0
	})
	return records[first:]
}

// touchOldest moves the n least recently updated records to the end, with
// updatedAt = now, or just after the newest record if now is not later
// (a clock that has not moved on, or one set before seedEpoch).
func (t *table[R]) touchOldest(n int, now time.Time) {
	n = min(n, len(t.ordered))
	if n <= 0 {
		return
	}
	touchedAt := now.UTC().Truncate(time.Millisecond)
	if newest := t.ordered[len(t.ordered)-1].pos().updatedAt; !touchedAt.After(newest) {
		touchedAt = newest.Add(time.Millisecond)
	}

	touched := slices.Clone(t.ordered[:n])
	for _, record := range touched {
		record.pos().updatedAt = touchedAt
	}
	slices.SortFunc(touched, byPosition) // now equal times: by seq

	// A fresh slice, so that no reader's view of the old order changes.
	t.ordered = append(slices.Clone(t.ordered[n:]), touched...)
}

// window returns up to n records starting at offset.
func window[R any](records []R, offset, n int) []R {
	if offset >= len(records) {
		return nil
	}
	return records[offset:min(offset+n, len(records))]
}

type order struct {
	position
	number     string
	status     string
	totalCents int64
	currency   string
	createdAt  time.Time
}

func (o *order) pos() *position { return &o.position }

type inventoryItem struct {
	position
	quantity  int
	warehouse string
}

func (i *inventoryItem) pos() *position { return &i.position }

func (i *inventoryItem) sku() string { return fmt.Sprintf("SKU-%04d", i.seq) }

type returnRecord struct {
	position
	orderID int
	reason  string
}

func (r *returnRecord) pos() *position { return &r.position }

func (r *returnRecord) id() string { return returnID(r.seq) }

func returnID(seq int) string { return fmt.Sprintf("ret_%04d", seq) }

func seedOrders(rng *rand.Rand, n int) []*order {
	orders := make([]*order, n)
	for i := range orders {
		pos := seededPosition(rng, i+1)
		orders[i] = &order{
			position:   pos,
			number:     fmt.Sprintf("SO-%04d", pos.seq),
			status:     pick(rng, orderStatuses),
			totalCents: 500 + rng.Int64N(99500),
			currency:   pick(rng, currencies),
			createdAt:  pos.updatedAt.Add(-randomDuration(rng, 14*24*time.Hour)),
		}
	}
	return orders
}

func seedInventory(rng *rand.Rand, n int) []*inventoryItem {
	items := make([]*inventoryItem, n)
	for i := range items {
		items[i] = &inventoryItem{
			position:  seededPosition(rng, i+1),
			quantity:  rng.IntN(500),
			warehouse: pick(rng, warehouses),
		}
	}
	return items
}

// seedReturns makes n returns of orders among the first orderCount.
func seedReturns(rng *rand.Rand, n, orderCount int) []*returnRecord {
	returns := make([]*returnRecord, n)
	for i := range returns {
		returns[i] = &returnRecord{
			position: seededPosition(rng, i+1),
			orderID:  1 + rng.IntN(max(orderCount, 1)),
			reason:   pick(rng, returnReasons),
		}
	}
	return returns
}
