// Package feed serves the change feed to its followers: the hub that long
// polls and Server-Sent Events wait on (one reader of Redis per tenant per
// process, fanned out to every subscriber), and the webhooks that push the
// feed to an operator's URL. It sits beside the provisioning service and,
// like it, imports no HTTP framework.
package feed

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/scimd/scimd/storage"
)

// Errors the edges map to statuses.
var (
	// ErrCursorExpired: the cursor fell out of the feed's retention (410:
	// re-export, then follow from the export's cursor).
	ErrCursorExpired = storage.ErrCursorExpired
	// ErrBadCursor: the cursor is not a feed cursor (400).
	ErrBadCursor = storage.ErrBadCursor
	// ErrUnavailable: Redis could not be read (503).
	ErrUnavailable = storage.ErrUnavailable
	// ErrTooManyStreams: the tenant holds its cap of open streams (429).
	ErrTooManyStreams = errors.New("feed: too many open streams for this tenant")
	// ErrBusy: the process holds its cap of open streams (503).
	ErrBusy = errors.New("feed: too many open streams on this server")
	// ErrStopped: the hub is shutting down (503).
	ErrStopped = errors.New("feed: shutting down")
)

// ValidCursor reports whether s is a feed cursor (a stream id).
func ValidCursor(s string) bool {
	_, err := storage.ParseFeedID(s)
	return err == nil
}

// Entry is one change: its cursor and its JSON.
type Entry = storage.FeedEntry

// feedStore is what the hub reads from storage.
type feedStore interface {
	FeedRange(ctx context.Context, tenant, after string, count int) ([]storage.FeedEntry, string, error)
	FeedLast(ctx context.Context, tenant string) (string, error)
}

// blockingReader waits for new entries (storage.FeedReader).
type blockingReader interface {
	Read(ctx context.Context, tenant, after string, count int, block time.Duration) ([]storage.FeedEntry, error)
	Close() error
}

// DefaultReaders is HubOptions.Readers when unset.
const DefaultReaders = 32

// HubOptions bound the hub.
type HubOptions struct {
	// Readers is how many tenants may have a blocking reader at once in this
	// process, each holding one Redis connection of the hub's own client; the
	// feeds of more tenants are polled every PollInterval instead. 0 means 32.
	Readers int
	// PollInterval is how often a tenant beyond Readers is polled; 0 means 1s.
	PollInterval time.Duration
	// Block is how long one blocking read waits before it checks whether
	// anyone still listens; 0 means 5s.
	Block time.Duration
	// Ring is how many recent entries the hub keeps per tenant, so that
	// subscribers that follow closely read them without Redis; 0 means 512.
	Ring int
	// StreamsPerTenant and Streams cap the open event streams of one tenant
	// and of the process; 0 means 16 and 512.
	StreamsPerTenant int
	Streams          int
}

// Hub fans each tenant's change feed out to the requests waiting on it:
// one goroutine per tenant with subscribers reads Redis (a blocking XREAD
// on a connection of the hub's own, or a poll beyond Readers), started by
// the first subscriber and ended after the last leaves.
type Hub struct {
	st    feedStore
	br    blockingReader
	opts  HubOptions
	slots chan struct{} // a token per blocking reader
	ctx   context.Context
	stop  context.CancelFunc
	// stopOnce makes Stop safe to call twice (serve's wait and close).
	stopOnce sync.Once

	mu      sync.Mutex
	tenants map[string]*tenantFeed
	streams map[string]int // open event streams by tenant
	open    int            // open event streams in all
	wg      sync.WaitGroup
}

type tenantFeed struct {
	tenant string
	subs   map[*Sub]struct{}
	ready  chan struct{} // closed once base is known (or err set)
	err    error
	// ring holds the entries after base, oldest first, as the reader read them.
	base storage.FeedID
	ring []storage.FeedEntry
}

// NewHub returns a hub reading st, with its blocking reads on br (closed by
// Stop).
func NewHub(st feedStore, br blockingReader, opts HubOptions) *Hub {
	if opts.Readers <= 0 {
		opts.Readers = DefaultReaders
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Block <= 0 {
		opts.Block = 5 * time.Second
	}
	if opts.Ring <= 0 {
		opts.Ring = 512
	}
	if opts.StreamsPerTenant <= 0 {
		opts.StreamsPerTenant = 16
	}
	if opts.Streams <= 0 {
		opts.Streams = 512
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Hub{st: st, br: br, opts: opts, slots: make(chan struct{}, opts.Readers), ctx: ctx, stop: stop,
		tenants: map[string]*tenantFeed{}, streams: map[string]int{}}
}

// Stop ends every wait and stream at once (their requests answer what they
// have) and the readers; it returns when the readers are gone.
func (h *Hub) Stop() {
	h.stopOnce.Do(func() {
		// Under mu: Subscribe checks for the stop and starts a reader
		// (wg.Add) under mu, never after Wait began.
		h.mu.Lock()
		h.stop()
		h.mu.Unlock()
		if h.br != nil {
			if err := h.br.Close(); err != nil {
				slog.Warn("feed: closing the blocking reader's client", "err", err)
			}
		}
	})
	h.wg.Wait()
}

// Done is closed when the hub stops.
func (h *Hub) Done() <-chan struct{} { return h.ctx.Done() }

// Range reads up to limit entries after the cursor after (empty: from the
// oldest retained) straight from Redis, and the floor. Returns
// ErrBadCursor, ErrCursorExpired and ErrUnavailable.
func (h *Hub) Range(ctx context.Context, tenant, after string, limit int) ([]Entry, string, error) {
	return h.st.FeedRange(ctx, tenant, after, limit)
}

// OpenStream counts an event stream of tenant against the caps; release
// must be called when it ends. Returns ErrTooManyStreams, ErrBusy and
// ErrStopped.
func (h *Hub) OpenStream(tenant string) (release func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.ctx.Err() != nil:
		return nil, ErrStopped
	case h.streams[tenant] >= h.opts.StreamsPerTenant:
		return nil, ErrTooManyStreams
	case h.open >= h.opts.Streams:
		return nil, ErrBusy
	}
	h.streams[tenant]++
	h.open++
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.open--
			if h.streams[tenant]--; h.streams[tenant] <= 0 {
				delete(h.streams, tenant)
			}
		})
	}, nil
}

// Sub is one waiter on a tenant's feed. It is woken (Wake) whenever the
// tenant's reader sees new entries; it reads them with Read.
type Sub struct {
	h    *Hub
	tf   *tenantFeed
	wake chan struct{}
}

// Subscribe registers a waiter on tenant's feed, starting its reader if it
// is the first. Entries appended after Subscribe returns wake it. Close it
// when done. Returns ErrStopped, ErrUnavailable (the reader could not
// start) or ctx's error.
func (h *Hub) Subscribe(ctx context.Context, tenant string) (*Sub, error) {
	s := &Sub{h: h, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.ctx.Err() != nil {
		h.mu.Unlock()
		return nil, ErrStopped
	}
	tf := h.tenants[tenant]
	if tf == nil {
		tf = &tenantFeed{tenant: tenant, subs: map[*Sub]struct{}{}, ready: make(chan struct{})}
		h.tenants[tenant] = tf
		h.wg.Add(1)
		go h.read(tf)
	}
	tf.subs[s] = struct{}{}
	s.tf = tf
	h.mu.Unlock()
	select {
	case <-tf.ready:
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	if tf.err != nil {
		s.Close()
		return nil, tf.err
	}
	return s, nil
}

// Subscribers returns how many waiters tenant's feed has in this process,
// once its reader has started (0 before): entries appended from then on
// wake them.
func (h *Hub) Subscribers(tenant string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	tf := h.tenants[tenant]
	if tf == nil {
		return 0
	}
	select {
	case <-tf.ready:
		return len(tf.subs)
	default:
		return 0
	}
}

// Wake receives when new entries may be there to Read.
func (s *Sub) Wake() <-chan struct{} { return s.wake }

// Close unregisters the waiter; its tenant's reader ends after the last.
func (s *Sub) Close() {
	s.h.mu.Lock()
	delete(s.tf.subs, s)
	s.h.mu.Unlock()
}

// Read returns up to limit entries after the cursor after (empty: from the
// oldest retained): from the hub's recent entries when they cover the
// cursor, from Redis otherwise. Returns ErrBadCursor, ErrCursorExpired and
// ErrUnavailable.
func (s *Sub) Read(ctx context.Context, after string, limit int) ([]Entry, error) {
	if after != "" {
		c, err := storage.ParseFeedID(after)
		if err != nil {
			return nil, err
		}
		s.h.mu.Lock()
		es, ok := s.tf.since(c, limit)
		s.h.mu.Unlock()
		if ok {
			return es, nil
		}
	}
	es, _, err := s.h.st.FeedRange(ctx, s.tf.tenant, after, limit)
	return es, err
}

// since returns up to limit ring entries after c, and whether the ring
// covers c (holds every entry after it that the reader has seen).
func (tf *tenantFeed) since(c storage.FeedID, limit int) ([]Entry, bool) {
	if c.Less(tf.base) {
		return nil, false
	}
	var out []Entry
	for _, e := range tf.ring {
		id, err := storage.ParseFeedID(e.ID)
		if err != nil || !c.Less(id) {
			continue
		}
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, true
}

// readBatch is how many entries one read of the tenant's reader takes.
const readBatch = 256

// read is a tenant's reader: it follows the feed from its end when the
// first subscriber came, keeps the newest entries and wakes every
// subscriber, until none is left or the hub stops.
func (h *Hub) read(tf *tenantFeed) {
	defer h.wg.Done()
	last, err := h.firstPosition(tf.tenant)
	h.mu.Lock()
	if err != nil {
		tf.err = err
		if h.tenants[tf.tenant] == tf {
			delete(h.tenants, tf.tenant)
		}
		h.mu.Unlock()
		close(tf.ready)
		return
	}
	tf.base = last
	h.mu.Unlock()
	close(tf.ready)

	blocking := false
	select {
	case h.slots <- struct{}{}:
		blocking = true
		defer func() { <-h.slots }()
	default:
		slog.Info("feed: tenant polled: every blocking reader is taken (raise --feed-readers)", "tenant", tf.tenant, "readers", h.opts.Readers)
	}
	pos := last.String()
	failing := false
	for {
		h.mu.Lock()
		if len(tf.subs) == 0 || h.ctx.Err() != nil {
			delete(h.tenants, tf.tenant)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		var es []Entry
		var err error
		if blocking {
			es, err = h.br.Read(h.ctx, tf.tenant, pos, readBatch, h.opts.Block)
		} else {
			es, _, err = h.st.FeedRange(h.ctx, tf.tenant, pos, readBatch)
		}
		if errors.Is(err, ErrCursorExpired) {
			// Trimmed past the reader (a poll that fell behind): start
			// over from the end; subscribers below the floor learn it
			// from Redis.
			var id storage.FeedID
			if id, err = h.firstPosition(tf.tenant); err == nil {
				h.mu.Lock()
				tf.base, tf.ring, pos = id, nil, id.String()
				h.mu.Unlock()
				continue
			}
		}
		if err != nil {
			if h.ctx.Err() != nil {
				continue
			}
			if !failing {
				slog.Warn("feed: cannot read a tenant's feed; retrying", "tenant", tf.tenant, "err", err)
			}
			failing = true
			h.pause(time.Second)
			continue
		}
		failing = false
		if len(es) == 0 {
			if !blocking {
				h.pause(h.opts.PollInterval)
			}
			continue
		}
		pos = es[len(es)-1].ID
		h.mu.Lock()
		tf.ring = append(tf.ring, es...)
		if over := len(tf.ring) - h.opts.Ring; over > 0 {
			if id, err := storage.ParseFeedID(tf.ring[over-1].ID); err == nil {
				tf.base = id
			}
			tf.ring = append([]Entry(nil), tf.ring[over:]...)
		}
		for s := range tf.subs {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
		h.mu.Unlock()
	}
}

// firstPosition is where a tenant's reader starts: the feed's newest entry.
func (h *Hub) firstPosition(tenant string) (storage.FeedID, error) {
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	last, err := h.st.FeedLast(ctx, tenant)
	if err != nil {
		return storage.FeedID{}, err
	}
	id, err := storage.ParseFeedID(last)
	if err != nil {
		return storage.FeedID{}, ErrUnavailable
	}
	return id, nil
}

// pause waits d or until the hub stops.
func (h *Hub) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-h.ctx.Done():
	}
}

// EntryJSON is the entry's JSON object with its cursor spliced in first as
// "id", as the long poll and the webhooks carry each change. An entry that
// is not an object is carried whole under "entry".
func EntryJSON(e Entry) []byte {
	body := bytes.TrimSpace(e.Entry)
	out := make([]byte, 0, len(body)+len(e.ID)+12)
	out = append(out, `{"id":`...)
	out = strconv.AppendQuote(out, e.ID)
	if len(body) == 0 || body[0] != '{' {
		out = append(out, `,"entry":`...)
		if len(body) == 0 {
			body = []byte("null")
		}
		return append(append(out, body...), '}')
	}
	rest := bytes.TrimSpace(body[1:])
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}
