package storage

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The outbox of stale decisions (lua/outbox.lua): every write script that
// can change a user's effective access appends what it made stale, in the
// same script as the change; the resolver (server/access) reads it.

const (
	// OutboxMax bounds the outbox: once it holds this many entries, a write
	// appends one 'all' instead of its detail (and replaces an 'all' at the
	// tail rather than adding another). Far behind, re-deciding everyone once
	// costs less than keeping a long queue of detail that is mostly about the
	// same users.
	OutboxMax = 10000
	// OutboxUsersMax is the most user ids one 'users' entry names; a write
	// that touches more appends several entries (one stream entry stays a
	// few tens of kilobytes).
	OutboxUsersMax = 1000
)

// The kinds of outbox entry (field k).
const (
	OutboxUsers = "users" // ID: user ids separated by one space
	OutboxGroup = "group" // ID: a group id; every member of the group
	OutboxRole  = "role"  // ID: a custom role's name; every member of every group granting it
	OutboxAll   = "all"   // ID: ""; every user of the tenant
)

// The kinds of cause (field kind of OutboxEntry.Cause), as the change feed
// shows them.
const (
	CauseMembership  = "membership"   // id: the group id
	CauseGrants      = "grants"       // id: the group id
	CauseRole        = "role"         // id: the role name
	CauseAccount     = "account"      // id: the sub-account id
	CauseActive      = "active"       // id: the user id
	CauseUserCreated = "user_created" // id: the user id
	CauseUserDeleted = "user_deleted" // id: the user id; also userName and externalId (the record is gone)
	CausePolicy      = "policy"       // id: the policy revision
	CauseRepair      = "repair"       // id: what was repaired
)

// outboxLua is lua/outbox.lua with its bounds, prepended to every script
// that appends to the outbox.
var outboxLua = fmt.Sprintf("local outbox_max, outbox_users_max = %d, %d\n", OutboxMax, OutboxUsersMax) + outboxBodyLua

var (
	//go:embed lua/outbox.lua
	outboxBodyLua string

	//go:embed lua/enqueue_access.lua
	enqueueAccessLua    string
	enqueueAccessScript = redis.NewScript(outboxLua + enqueueAccessLua)
)

// outboxKeys are the last two KEYS of every script that appends to the
// outbox (see lua/outbox.lua).
func outboxKeys(t string) []string { return []string{accessOutboxKey(t), accessGenKey(t)} }

// OutboxEntry is one cause the resolver has yet to resolve.
type OutboxEntry struct {
	ID         string // the stream entry id: the resolver's cursor
	Kind       string // OutboxUsers, OutboxGroup, OutboxRole or OutboxAll
	Target     string // field id: see the kinds
	Generation int64  // the tenant's decision generation this entry took
	Cause      []byte // JSON {"kind": one of the Cause kinds, "id": ...}
}

// Users returns the user ids of an OutboxUsers entry.
func (e OutboxEntry) Users() []string { return strings.Fields(e.Target) }

// Outbox stream fields.
const (
	outboxKind  = "k"
	outboxID    = "id"
	outboxGen   = "g"
	outboxCause = "c"
)

// EnqueueAccess appends a cause decided in Go (a policy revision change, a
// repair) to the tenant's outbox and returns the generation it took (the last
// one, when a long OutboxUsers id is split). Write paths do not call it:
// their scripts append in the same script as the change. Returns ErrNotFound
// (tenant), ErrUnavailable, and a plain error for an unknown kind, a missing
// id or a cause that is not JSON.
func (s *Store) EnqueueAccess(ctx context.Context, tenant, kind, id string, cause []byte) (int64, error) {
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	switch kind {
	case OutboxUsers, OutboxGroup, OutboxRole:
		if strings.TrimSpace(id) == "" {
			return 0, fmt.Errorf("storage: outbox kind %s needs an id", kind)
		}
	case OutboxAll:
		id = ""
	default:
		return 0, fmt.Errorf("storage: unknown outbox kind %q", kind)
	}
	if !json.Valid(cause) {
		return 0, fmt.Errorf("storage: outbox cause is not JSON: %q", cause)
	}
	return s.runCounting(ctx, "enqueue access", enqueueAccessScript,
		[]string{tenantKey(tenant), accessOutboxKey(tenant), accessGenKey(tenant)},
		[]any{kind, id, cause})
}

// ReadOutbox returns up to count outbox entries oldest first, strictly after
// the stream id after (empty: from the oldest). Returns ErrUnavailable, and
// a plain error for an after that is not a stream id.
func (s *Store) ReadOutbox(ctx context.Context, tenant, after string, count int) ([]OutboxEntry, error) {
	if count <= 0 {
		return nil, nil
	}
	start := "-"
	if after != "" {
		if _, err := parseStreamID(after); err != nil {
			return nil, fmt.Errorf("storage: outbox id %q: %w", after, err)
		}
		start = "(" + after
	}
	msgs, err := s.rdb.XRangeN(ctx, accessOutboxKey(tenant), start, "+", int64(count)).Result()
	if err != nil {
		return nil, unavailable("read outbox", err)
	}
	entries := make([]OutboxEntry, 0, len(msgs))
	for _, m := range msgs {
		e, err := outboxEntry(m)
		if err != nil {
			return nil, unavailable("read outbox", err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func outboxEntry(m redis.XMessage) (OutboxEntry, error) {
	e := OutboxEntry{ID: m.ID}
	var gen, cause string
	for _, f := range []struct {
		name string
		to   *string
	}{{outboxKind, &e.Kind}, {outboxID, &e.Target}, {outboxGen, &gen}, {outboxCause, &cause}} {
		v, ok := m.Values[f.name].(string)
		if !ok {
			return e, badReply("outbox entry %s field %s: %T", m.ID, f.name, m.Values[f.name])
		}
		*f.to = v
	}
	g, err := strconv.ParseInt(gen, 10, 64)
	if err != nil {
		return e, badReply("outbox entry %s generation %q", m.ID, gen)
	}
	e.Generation, e.Cause = g, []byte(cause)
	return e, nil
}

// AccessGeneration returns the tenant's decision generation: the generation
// of the newest outbox entry ever appended (0: none yet). Returns
// ErrUnavailable.
func (s *Store) AccessGeneration(ctx context.Context, tenant string) (int64, error) {
	g, err := s.rdb.Get(ctx, accessGenKey(tenant)).Int64()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("access generation", err)
	}
	return g, nil
}

// OutboxLen returns how many entries the tenant's outbox holds: a cheap
// check for pending work (the resolver trims what it resolved). Returns
// ErrUnavailable.
func (s *Store) OutboxLen(ctx context.Context, tenant string) (int64, error) {
	n, err := s.rdb.XLen(ctx, accessOutboxKey(tenant)).Result()
	if err != nil {
		return 0, unavailable("outbox length", err)
	}
	return n, nil
}

// OutboxTime is when Redis appended the outbox entry id (a stream id's
// milliseconds); false for an id that is not a stream id.
func OutboxTime(id string) (time.Time, bool) {
	ms, err := parseStreamID(id)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}
