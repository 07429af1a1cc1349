package storage

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/audit.lua
	auditLua string // prepended to every script that appends an audit event
)

// auditRetention is the retention argument of the scripts that append an
// audit event (see lua/audit.lua): MAXLEN, and the stream time before which
// events may be trimmed (0: any).
func (s *Store) auditRetention() string {
	return string(s.appendAuditRetention(make([]byte, 0, 32)))
}

// appendAuditRetention appends auditRetention(), for a scriptArgs.
func (s *Store) appendAuditRetention(b []byte) []byte {
	var cutoff int64
	if s.opts.AuditMinAge > 0 {
		cutoff = max(1, s.opts.Clock().Add(-s.opts.AuditMinAge).UnixMilli())
	}
	b = strconv.AppendInt(b, s.opts.AuditMaxLen, 10)
	b = append(b, ' ')
	return strconv.AppendInt(b, cutoff, 10)
}

// AuditFullError refuses a write: recording it would trim an audit event
// younger than Options.AuditMinAge (at Youngest, by Redis's clock). Retry
// is when that event comes of age, with the clock the store was given.
type AuditFullError struct {
	Youngest time.Time
	Retry    time.Time
}

func (e *AuditFullError) Error() string {
	return fmt.Sprintf("storage: audit log full: an append would trim an event of %s", e.Youngest.Format(time.RFC3339))
}

// AuditEntry is one event read back from a tenant's audit stream.
type AuditEntry struct {
	ID    string // the stream entry id, "<ms>-<seq>"
	Time  time.Time
	Event []byte // the JSON the writer appended
}

// auditField is the one stream field that holds an event.
const auditField = "e"

// AppendAudit appends one event on its own, for changes that no other
// script records (tenant-level settings). The stream keeps
// Options.AuditMaxLen entries, and every entry younger than
// Options.AuditMinAge. Returns ErrNotFound (no such tenant: a deleted
// tenant does not get its stream back), *AuditFullError, ErrUnavailable.
func (s *Store) AppendAudit(ctx context.Context, tenant string, event []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	return s.runScript(ctx, "append audit", appendAuditScript,
		[]string{tenantKey(tenant), auditKey(tenant)},
		[]any{s.auditRetention(), event})
}

// ReadAudit returns up to count entries newest first, strictly older than
// before (a stream id; empty means from the newest). Time is the entry id's
// millisecond, in UTC. Returns ErrUnavailable, and a plain error for a
// before that is not a stream id.
func (s *Store) ReadAudit(ctx context.Context, tenant, before string, count int) ([]AuditEntry, error) {
	msgs, err := s.revRange(ctx, "read audit", auditKey(tenant), before, count)
	if err != nil {
		return nil, err
	}
	entries := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		ms, err := parseStreamID(m.ID)
		if err != nil {
			return nil, unavailable("read audit", badReply("stream id %q", m.ID))
		}
		ev, ok := m.Values[auditField].(string)
		if !ok {
			return nil, unavailable("read audit", badReply("entry %s field %s: %T", m.ID, auditField, m.Values[auditField]))
		}
		entries = append(entries, AuditEntry{ID: m.ID, Time: time.UnixMilli(ms).UTC(), Event: []byte(ev)})
	}
	return entries, nil
}

// revRange reads up to count entries of a stream newest first, strictly
// older than before (empty: from the newest). Returns ErrUnavailable (op
// names the read), and a plain error for a before that is not a stream id.
func (s *Store) revRange(ctx context.Context, op, key, before string, count int) ([]redis.XMessage, error) {
	if count <= 0 {
		return nil, nil
	}
	end := "+"
	if before != "" {
		if _, err := parseStreamID(before); err != nil {
			return nil, fmt.Errorf("storage: stream id %q: %w", before, err)
		}
		if strings.Trim(before, "0-") == "" {
			return nil, nil // nothing is older than 0-0, and Redis refuses "(0-0"
		}
		end = "(" + before
	}
	msgs, err := s.rdb.XRevRangeN(ctx, key, end, "-", int64(count)).Result()
	if err != nil {
		return nil, unavailable(op, err)
	}
	return msgs, nil
}

// parseStreamID checks "<ms>" or "<ms>-<seq>" and returns the milliseconds.
func parseStreamID(id string) (int64, error) {
	msPart, seqPart, hasSeq := strings.Cut(id, "-")
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil {
		return 0, err
	}
	if hasSeq {
		if _, err := strconv.ParseUint(seqPart, 10, 64); err != nil {
			return 0, err
		}
	}
	return int64(ms), nil
}
