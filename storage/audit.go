package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one event read back from a tenant's audit stream.
type AuditEntry struct {
	ID    string // the stream entry id, "<ms>-<seq>"
	Time  time.Time
	Event []byte // the JSON the writer appended
}

// auditField is the one stream field that holds an event.
const auditField = "e"

// AppendAudit appends one event on its own, for changes that no other
// script records (tenant-level settings). The stream keeps about
// Options.AuditMaxLen entries. Returns ErrNotFound (no such tenant: a
// deleted tenant does not get its stream back), ErrUnavailable.
func (s *Store) AppendAudit(ctx context.Context, tenant string, event []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	return s.runScript(ctx, "append audit", appendAuditScript,
		[]string{tenantKey(tenant), auditKey(tenant)},
		[]any{s.opts.AuditMaxLen, event})
}

// ReadAudit returns up to count entries newest first, strictly older than
// before (a stream id; empty means from the newest). Time is the entry id's
// millisecond, in UTC. Returns ErrUnavailable, and a plain error for a
// before that is not a stream id.
func (s *Store) ReadAudit(ctx context.Context, tenant, before string, count int) ([]AuditEntry, error) {
	if count <= 0 {
		return nil, nil
	}
	end := "+"
	if before != "" {
		if _, err := parseStreamID(before); err != nil {
			return nil, fmt.Errorf("storage: audit id %q: %w", before, err)
		}
		if strings.Trim(before, "0-") == "" {
			return nil, nil // nothing is older than 0-0, and Redis refuses "(0-0"
		}
		end = "(" + before
	}
	msgs, err := s.rdb.XRevRangeN(ctx, auditKey(tenant), end, "-", int64(count)).Result()
	if err != nil {
		return nil, unavailable("read audit", err)
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
