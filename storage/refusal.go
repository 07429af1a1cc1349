package storage

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/refuse.lua
	refuseLua    string
	refuseScript = redis.NewScript(auditLua + refuseLua)

	//go:embed lua/flush_status.lua
	flushStatusLua    string
	flushStatusScript = redis.NewScript(flushStatusLua)
)

// maxRefusalGroups bounds the groups a tenant's refusal hash holds; past it
// the hash starts over (see refuse.lua).
const maxRefusalGroups = 1000

// RefusalGroup is refused requests of one identifier and reason within a
// window: the descriptor the first one stored, how many, first and last.
type RefusalGroup struct {
	Descriptor  []byte
	Count       int64
	First, Last time.Time
}

// RecordRefusal counts a refused request in its group (identifier and
// reason) and, when it is the first of its group within window, appends
// audit, in one script. It returns the request's number in its group (1:
// the event was appended). Returns ErrNotFound (tenant), ErrUnavailable.
func (s *Store) RecordRefusal(ctx context.Context, tenant, group string, descriptor []byte, at time.Time, window time.Duration, audit []byte) (int64, error) {
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	const op = "record refusal"
	res, err := s.eval(ctx, op, refuseScript,
		[]string{tenantKey(tenant), refusalsKey(tenant), auditKey(tenant)},
		[]any{group, at.UnixMilli(), max(window.Milliseconds(), 1), descriptor, s.auditRetention(), audit, maxRefusalGroups})
	if err != nil {
		return 0, err
	}
	return s.countResult(op, res)
}

// Refusals returns the tenant's refusal groups still held (their hash
// expires a window after the last refusal), newest last refusal first.
// Returns ErrUnavailable.
func (s *Store) Refusals(ctx context.Context, tenant string) ([]RefusalGroup, error) {
	if !validTenantID(tenant) {
		return nil, nil
	}
	all, err := s.rdb.HGetAll(ctx, refusalsKey(tenant)).Result()
	if err != nil {
		return nil, unavailable("refusals", err)
	}
	out := make([]RefusalGroup, 0, len(all)/2)
	for f, v := range all {
		g, ok := strings.CutPrefix(f, "c:")
		if !ok {
			continue
		}
		parts := strings.Split(v, ":")
		if len(parts) != 3 {
			continue // not written by refuse.lua: skip rather than fail the listing
		}
		n, err1 := strconv.ParseInt(parts[0], 10, 64)
		first, err2 := strconv.ParseInt(parts[1], 10, 64)
		last, err3 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, RefusalGroup{Descriptor: []byte(all["d:"+g]), Count: n, First: time.UnixMilli(first).UTC(), Last: time.UnixMilli(last).UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Last.After(out[j].Last) })
	return out, nil
}

// StatusKey is one bucket of SCIM request counts: its start and an outcome.
type StatusKey struct {
	Bucket  time.Time
	Outcome string
}

// StatusDelta is what one process counted since its last flush.
type StatusDelta struct {
	Counts      map[StatusKey]int64
	Last        time.Time // the last request; zero if none
	LastErrorAt time.Time // zero if none
	LastError   []byte    // JSON
}

// StatusRecord is a tenant's provisioning status as every replica flushed it.
type StatusRecord struct {
	Counts      map[StatusKey]int64
	Last        time.Time
	LastErrorAt time.Time
	LastError   []byte
}

// FlushStatus adds d to the tenant's status, pruning buckets older than
// keep. Returns ErrNotFound (tenant), ErrUnavailable.
func (s *Store) FlushStatus(ctx context.Context, tenant string, d StatusDelta, now time.Time, keep time.Duration) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	args := []any{now.UnixMilli(), keep.Milliseconds(), ms(d.Last), ms(d.LastErrorAt), d.LastError}
	for k, n := range d.Counts {
		args = append(args, fmt.Sprintf("%d:%s", k.Bucket.UnixMilli(), k.Outcome), n)
	}
	return s.runScript(ctx, "flush status", flushStatusScript, []string{tenantKey(tenant), scimStatusKey(tenant)}, args)
}

// Status reads the tenant's provisioning status. Returns ErrUnavailable.
func (s *Store) Status(ctx context.Context, tenant string) (StatusRecord, error) {
	rec := StatusRecord{Counts: map[StatusKey]int64{}}
	if !validTenantID(tenant) {
		return rec, nil
	}
	all, err := s.rdb.HGetAll(ctx, scimStatusKey(tenant)).Result()
	if err != nil {
		return rec, unavailable("status", err)
	}
	msTime := func(v string) time.Time {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(n).UTC()
	}
	for f, v := range all {
		switch f {
		case "last":
			rec.Last = msTime(v)
		case "lastErrorAt":
			rec.LastErrorAt = msTime(v)
		case "lastError":
			rec.LastError = []byte(v)
		case "pruned":
		default:
			b, outcome, ok := strings.Cut(f, ":")
			n, err := strconv.ParseInt(v, 10, 64)
			if t := msTime(b); ok && err == nil && !t.IsZero() {
				rec.Counts[StatusKey{Bucket: t, Outcome: outcome}] += n
			}
		}
	}
	return rec, nil
}
