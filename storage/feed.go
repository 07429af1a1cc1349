package storage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The change feed is written by the resolver (the decision and its entry in
// one script) and trimmed by it, which records the floor; this file reads
// it. A cursor is a stream entry id.

// feedField is the field of a feed entry holding its JSON.
const feedField = "e"

// ErrCursorExpired: the cursor is older than the feed's retention (below
// the floor): entries after it were trimmed, so the reader must re-export.
var ErrCursorExpired = errors.New("storage: feed cursor older than the feed's retention")

// ErrBadCursor: the cursor is not a stream id ("<ms>-<seq>").
var ErrBadCursor = errors.New("storage: malformed feed cursor")

// FeedEntry is one change of the feed: its id (the cursor after it) and the
// entry's JSON as the resolver wrote it.
type FeedEntry struct {
	ID    string
	Entry []byte
}

// FeedID is a parsed stream id, ordered as Redis orders them.
type FeedID struct{ MS, Seq uint64 }

// ParseFeedID parses "<ms>-<seq>" (both parts required, digits only).
// Returns ErrBadCursor.
func ParseFeedID(s string) (FeedID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || !digits(ms) || !digits(seq) {
		return FeedID{}, ErrBadCursor
	}
	m, err1 := strconv.ParseUint(ms, 10, 64)
	q, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return FeedID{}, ErrBadCursor
	}
	return FeedID{m, q}, nil
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Less reports whether id comes before o in the stream.
func (id FeedID) Less(o FeedID) bool {
	return id.MS < o.MS || id.MS == o.MS && id.Seq < o.Seq
}

func (id FeedID) String() string {
	return strconv.FormatUint(id.MS, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// FeedRange returns up to count entries after the cursor after (empty: from
// the oldest retained entry), oldest first, and the feed's floor (the
// newest trimmed id, "" when nothing was ever trimmed). Returns
// ErrBadCursor, ErrCursorExpired when after is below the floor, and
// ErrUnavailable.
func (s *Store) FeedRange(ctx context.Context, tenant, after string, count int) ([]FeedEntry, string, error) {
	start := "-"
	if after != "" {
		id, err := ParseFeedID(after)
		if err != nil {
			return nil, "", err
		}
		if id.MS == ^uint64(0) && id.Seq == ^uint64(0) {
			return nil, "", nil // nothing comes after the last possible id (and Redis refuses "(" on it)
		}
		start = "(" + id.String()
	}
	if count <= 0 {
		count = 1
	}
	var floorCmd *redis.StringCmd
	var rangeCmd *redis.XMessageSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		floorCmd = p.Get(ctx, accessFeedFloorKey(tenant))
		rangeCmd = p.XRangeN(ctx, accessFeedKey(tenant), start, "+", int64(count))
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, "", unavailable("read feed", err)
	}
	floor, err := floorCmd.Result()
	if err != nil && !isNil(err) {
		return nil, "", unavailable("read feed floor", err)
	}
	if after != "" && floor != "" {
		f, err := ParseFeedID(floor)
		if err != nil {
			return nil, "", unavailable("read feed floor", badReply("floor %q", floor))
		}
		if a, _ := ParseFeedID(after); a.Less(f) {
			return nil, floor, ErrCursorExpired
		}
	}
	entries, err := feedEntries(rangeCmd.Val())
	if err != nil {
		return nil, "", unavailable("read feed", err)
	}
	return entries, floor, nil
}

func feedEntries(msgs []redis.XMessage) ([]FeedEntry, error) {
	out := make([]FeedEntry, 0, len(msgs))
	for _, m := range msgs {
		e, ok := m.Values[feedField].(string)
		if !ok {
			return nil, badReply("feed entry %s field %s: %T", m.ID, feedField, m.Values[feedField])
		}
		out = append(out, FeedEntry{ID: m.ID, Entry: []byte(e)})
	}
	return out, nil
}

// FeedLast returns the id of the feed's newest entry, "0-0" when it is
// empty. Returns ErrUnavailable.
func (s *Store) FeedLast(ctx context.Context, tenant string) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, accessFeedKey(tenant), "+", "-", 1).Result()
	if err != nil {
		return "", unavailable("read feed end", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// FeedStats are the feed's size and bounds, for status pages.
type FeedStats struct {
	Length int64
	First  string // "" when empty
	Last   string // "" when empty
	Floor  string // "" when nothing was trimmed
}

// FeedStats returns the feed's length, first and last ids and floor.
// Returns ErrUnavailable.
func (s *Store) FeedStats(ctx context.Context, tenant string) (FeedStats, error) {
	var lenCmd *redis.IntCmd
	var firstCmd, lastCmd *redis.XMessageSliceCmd
	var floorCmd *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		lenCmd = p.XLen(ctx, accessFeedKey(tenant))
		firstCmd = p.XRangeN(ctx, accessFeedKey(tenant), "-", "+", 1)
		lastCmd = p.XRevRangeN(ctx, accessFeedKey(tenant), "+", "-", 1)
		floorCmd = p.Get(ctx, accessFeedFloorKey(tenant))
		return nil
	})
	if err != nil && !isNil(err) {
		return FeedStats{}, unavailable("read feed stats", err)
	}
	st := FeedStats{Length: lenCmd.Val(), Floor: floorCmd.Val()}
	if m := firstCmd.Val(); len(m) > 0 {
		st.First = m[0].ID
	}
	if m := lastCmd.Val(); len(m) > 0 {
		st.Last = m[0].ID
	}
	return st, nil
}

// FeedReader makes the blocking reads of the change feed (XREAD BLOCK) on a
// client of its own, whose pool holds one connection per blocking reader: a
// blocked read holds its connection for the whole wait, and must never take
// one that requests need. Only the change feed's hub reads through it, one
// reader per tenant.
type FeedReader struct {
	rdb   redis.UniversalClient
	owned bool // rdb is a client of the reader's own, closed by Close
}

// FeedReader returns a reader whose client holds up to readers connections
// to the Redis of s (a copy of its client's options with that pool size).
// A client whose options cannot be copied is shared instead.
func (s *Store) FeedReader(readers int) *FeedReader {
	if readers <= 0 {
		readers = 1
	}
	switch c := s.rdb.(type) {
	case *redis.Client:
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = readers, 0, readers
		// A blocked read must be waited for, not timed out by the pool.
		o.PoolTimeout = time.Second
		// The copy gets a push processor of its own: go-redis stored the
		// first client's in its options, and a second client registering
		// its maintenance handlers (MOVING, ...) on that one fails and logs
		// "failed to initialize maintnotifications" at every start.
		o.PushNotificationProcessor = nil
		return &FeedReader{rdb: redis.NewClient(&o), owned: true}
	case *redis.ClusterClient:
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = readers, 0, readers
		o.PoolTimeout = time.Second
		return &FeedReader{rdb: redis.NewClusterClient(&o), owned: true}
	}
	return &FeedReader{rdb: s.rdb}
}

// Read waits up to block for entries after the cursor after (a stream id)
// and returns up to count of them, none when the wait ended empty. Closing
// the reader ends a wait at once. Returns ErrUnavailable (also after Close).
func (r *FeedReader) Read(ctx context.Context, tenant, after string, count int, block time.Duration) ([]FeedEntry, error) {
	streams, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{accessFeedKey(tenant), after}, Count: int64(count), Block: block}).Result()
	if isNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("wait for feed", err)
	}
	var out []FeedEntry
	for _, st := range streams {
		es, err := feedEntries(st.Messages)
		if err != nil {
			return nil, unavailable("wait for feed", err)
		}
		out = append(out, es...)
	}
	return out, nil
}

// Close closes the reader's own client, ending its blocked reads.
func (r *FeedReader) Close() error {
	if !r.owned {
		return nil
	}
	return r.rdb.Close()
}
