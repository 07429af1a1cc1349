// Package decisioncache keeps recently read access decisions in process, so
// that a decision read costs no Redis round trip. It is only as good as the
// invalidations it hears: the resolver publishes, in the script that writes
// decision records, which users of which tenant it wrote, and every replica
// drops them (Changed). While that subscription is not known to be live
// the cache is bypassed, so that an answer is never staler than Window;
// and no entry is used past MaxAge, whatever it heard.
//
// Memory is bounded by a byte cap shared by all tenants; when it is reached
// the tenant holding the most bytes gives up its least recently read entry,
// so a busy tenant can shrink others no further than to its own size.
package decisioncache

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// Options size the cache.
type Options struct {
	// Bytes caps the memory the entries account for; 0 (or less) disables
	// the cache.
	Bytes int64
	// Window is how long after the last proof of a live subscription (see
	// Heard) the cache is still used; 0 means DefaultWindow.
	Window time.Duration
	// MaxAge is how long an entry is used at most; 0 means DefaultMaxAge.
	// It bounds what a writer that publishes nothing leaves stale: a
	// replica of an older release during an upgrade, Redis restored from a
	// backup or edited by hand.
	MaxAge time.Duration
}

// DefaultWindow and DefaultMaxAge are Options.Window and MaxAge when unset.
const (
	DefaultWindow = 3 * time.Second
	DefaultMaxAge = time.Minute
)

// entryOverhead is what an entry costs beyond its value's size: the map
// slot, the list links, the id's header.
const entryOverhead = 160

// tenantOverhead is what a tenant costs while it holds an entry: its
// struct, its map's header and first bucket, its slot in the cache's map
// and heap. Without it, many tenants of one small entry each held 1.5-2x
// the cap.
const tenantOverhead = 400

// Stats are the cache's counters since it was made.
type Stats struct {
	Hits, Misses  uint64 // reads answered here, reads that went to Redis while usable
	Bypassed      uint64 // reads that went to Redis because the cache was not usable
	Evictions     uint64 // entries dropped for room
	Invalidations uint64 // change notices applied
	Drops         uint64 // times everything was dropped (subscription lost or renewed)
	Bytes         int64  // accounted bytes held now
	Entries       int    // entries held now
}

// Cache holds values by tenant and id. Safe for concurrent use.
type Cache[V any] struct {
	max    int64
	window int64 // ns
	maxAge int64 // ns
	base   time.Time
	// heard is when (ns since base) every change published before it was
	// known applied; 0 while no subscription is live.
	heard atomic.Int64
	// gen moves on every invalidation and drop: a value read from Redis
	// under an older ticket may predate the change and is not kept.
	gen atomic.Uint64

	hits, misses, bypassed atomic.Uint64

	mu       sync.Mutex
	tenants  map[string]*tenantEntries[V]
	bySize   tenantHeap[V]
	bytes    int64
	entries  int
	evicted  uint64
	applied  uint64
	dropped  uint64
	disabled bool
}

type tenantEntries[V any] struct {
	name  string
	byID  map[string]*entry[V]
	head  *entry[V] // most recently read
	tail  *entry[V] // least recently read
	bytes int64
	index int // in the heap
}

type entry[V any] struct {
	id         string
	value      V
	size       int64
	at         int64 // when put, ns since the cache's base
	prev, next *entry[V]
}

// New returns a cache sized by opts (a disabled one when opts.Bytes <= 0).
func New[V any](opts Options) *Cache[V] {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	return &Cache[V]{max: opts.Bytes, window: int64(opts.Window), maxAge: int64(opts.MaxAge), base: time.Now(), tenants: map[string]*tenantEntries[V]{}, disabled: opts.Bytes <= 0}
}

// Enabled says whether the cache can hold anything at all.
func (c *Cache[V]) Enabled() bool { return c != nil && !c.disabled }

// Window is how long the cache outlives its last proof of a live
// subscription.
func (c *Cache[V]) Window() time.Duration { return time.Duration(c.window) }

// usable: a live subscription heard within the window before now (ns
// since base).
func (c *Cache[V]) usable(now int64) bool {
	h := c.heard.Load()
	return h != 0 && now-h < c.window
}

func (c *Cache[V]) now() int64 { return int64(time.Since(c.base)) }

// Get returns tenant's value for id, if held and the cache is usable.
func (c *Cache[V]) Get(tenant, id string) (V, bool) {
	var zero V
	if !c.Enabled() {
		return zero, false
	}
	now := c.now()
	if !c.usable(now) {
		c.bypassed.Add(1)
		return zero, false
	}
	c.mu.Lock()
	t := c.tenants[tenant]
	var e *entry[V]
	if t != nil {
		e = t.byID[id]
	}
	if e != nil && now-e.at > c.maxAge {
		c.remove(t, e)
		e = nil
	}
	if e == nil {
		c.mu.Unlock()
		c.misses.Add(1)
		return zero, false
	}
	t.toFront(e)
	v := e.value
	c.mu.Unlock()
	c.hits.Add(1)
	return v, true
}

// Ticket is taken before reading a value from Redis and handed to Put, which
// keeps the value only if no change was heard in between.
type Ticket struct {
	gen    uint64
	usable bool
}

// Ticket returns the ticket of a read about to start.
func (c *Cache[V]) Ticket() Ticket {
	if !c.Enabled() {
		return Ticket{}
	}
	return Ticket{gen: c.gen.Load(), usable: c.usable(c.now())}
}

// Put keeps v, of size bytes, as tenant's value for id, read from Redis
// under tk, unless a change was heard since tk, the cache is not usable, or
// v alone would take more than a sixteenth of the cap.
func (c *Cache[V]) Put(tk Ticket, tenant, id string, v V, size int) {
	if !c.Enabled() || !tk.usable {
		return
	}
	cost := int64(size+len(id)) + entryOverhead
	if cost > c.max/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.gen.Load() != tk.gen || !c.usable(now) {
		return
	}
	t := c.tenants[tenant]
	if t == nil {
		cost := int64(tenantOverhead + len(tenant))
		t = &tenantEntries[V]{name: tenant, byID: map[string]*entry[V]{}, bytes: cost}
		c.tenants[tenant] = t
		c.bytes += cost
		heap.Push(&c.bySize, t)
	}
	if e := t.byID[id]; e != nil {
		t.toFront(e)
		t.bytes += cost - e.size
		c.bytes += cost - e.size
		e.value, e.size, e.at = v, cost, now
	} else {
		e = &entry[V]{id: id, value: v, size: cost, at: now}
		t.byID[id] = e
		t.pushFront(e)
		t.bytes += cost
		c.bytes += cost
		c.entries++
	}
	heap.Fix(&c.bySize, t.index)
	for c.bytes > c.max && len(c.bySize) > 0 {
		big := c.bySize[0]
		c.remove(big, big.tail)
		c.evicted++
	}
}

// remove drops e from t (and t from the cache when it is left empty).
func (c *Cache[V]) remove(t *tenantEntries[V], e *entry[V]) {
	t.unlink(e)
	delete(t.byID, e.id)
	t.bytes -= e.size
	c.bytes -= e.size
	c.entries--
	if len(t.byID) == 0 {
		c.bytes -= t.bytes // the tenant's own overhead
		heap.Remove(&c.bySize, t.index)
		delete(c.tenants, t.name)
		return
	}
	heap.Fix(&c.bySize, t.index)
}

// Changed drops tenant's values for ids, or all of tenant's when ids is
// empty, and refuses values read before it.
func (c *Cache[V]) Changed(tenant string, ids []string) {
	if !c.Enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.applied++
	t := c.tenants[tenant]
	if t == nil {
		return
	}
	if len(ids) == 0 {
		for t.head != nil {
			c.remove(t, t.head)
		}
		return
	}
	for _, id := range ids {
		if e := t.byID[id]; e != nil {
			c.remove(t, e)
			if len(t.byID) == 0 {
				return
			}
		}
	}
}

// Lost says the subscription broke: changes may be missed from now on, so
// everything is dropped and the cache bypassed until Subscribed.
func (c *Cache[V]) Lost() {
	if !c.Enabled() {
		return
	}
	c.heard.Store(0)
	c.dropAll()
}

// Subscribed says the subscription is (again) confirmed: changes published
// before it may have been missed, so everything is dropped, and the cache
// is used from now on.
func (c *Cache[V]) Subscribed() {
	if !c.Enabled() {
		return
	}
	c.dropAll()
	c.heard.Store(max(1, c.now()))
}

// Heard says every change published before at has been applied (a ping
// sent at at was answered on the subscription's connection, after them).
func (c *Cache[V]) Heard(at time.Time) {
	if !c.Enabled() {
		return
	}
	ns := max(1, int64(at.Sub(c.base)))
	for {
		h := c.heard.Load()
		if h == 0 || h >= ns || c.heard.CompareAndSwap(h, ns) {
			return
		}
	}
}

// HeardAt returns when, at the latest, a change had to be published to be
// applied here now; zero while no subscription is live.
func (c *Cache[V]) HeardAt() time.Time {
	if !c.Enabled() {
		return time.Time{}
	}
	h := c.heard.Load()
	if h == 0 {
		return time.Time{}
	}
	return c.base.Add(time.Duration(h))
}

func (c *Cache[V]) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.tenants = map[string]*tenantEntries[V]{}
	c.bySize = c.bySize[:0]
	c.bytes, c.entries = 0, 0
	c.dropped++
}

// Stats returns the counters.
func (c *Cache[V]) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypassed: c.bypassed.Load(), Evictions: c.evicted,
		Invalidations: c.applied, Drops: c.dropped, Bytes: c.bytes, Entries: c.entries}
}

// TenantBytes returns the bytes tenant's entries account for (for tests of
// the fairness).
func (c *Cache[V]) TenantBytes(tenant string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tenants[tenant]; t != nil {
		return t.bytes
	}
	return 0
}

func (t *tenantEntries[V]) pushFront(e *entry[V]) {
	e.prev, e.next = nil, t.head
	if t.head != nil {
		t.head.prev = e
	}
	t.head = e
	if t.tail == nil {
		t.tail = e
	}
}

func (t *tenantEntries[V]) unlink(e *entry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *tenantEntries[V]) toFront(e *entry[V]) {
	if t.head == e {
		return
	}
	t.unlink(e)
	t.pushFront(e)
}

// tenantHeap orders tenants by bytes held, most first.
type tenantHeap[V any] []*tenantEntries[V]

func (h tenantHeap[V]) Len() int           { return len(h) }
func (h tenantHeap[V]) Less(i, j int) bool { return h[i].bytes > h[j].bytes }
func (h tenantHeap[V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *tenantHeap[V]) Push(x any) {
	t := x.(*tenantEntries[V])
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *tenantHeap[V]) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
