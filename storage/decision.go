package storage

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stored access decisions (issue 12): the resolver (server/access) decides
// in Go, through the policies, and writes here what it decided, with the
// change feed entries and its progress, one script per batch.

// ErrLeaseLost: the tenant's resolver lease is held by another replica (or
// by nobody: it expired), so the write was refused and nothing changed.
var ErrLeaseLost = errors.New("storage: resolver lease lost")

var (
	//go:embed lua/write_decisions.lua
	writeDecisionsLua    string
	writeDecisionsScript = redis.NewScript(auditLua + writeDecisionsLua)

	//go:embed lua/hold_access_lease.lua
	holdLeaseLua    string
	holdLeaseScript = redis.NewScript(holdLeaseLua)

	//go:embed lua/release_access_lease.lua
	releaseLeaseLua    string
	releaseLeaseScript = redis.NewScript(releaseLeaseLua)
)

// DecisionWrite is one user's part of a batch of WriteDecisions.
type DecisionWrite struct {
	User string
	// Read is the record read before deciding (nil: none); the write
	// happens only if it is still the stored one.
	Read []byte
	// Record is the new record; nil deletes the stored one, for a user that
	// no longer exists (and only then).
	Record []byte
	// Entry is the feed entry; nil when the decision did not change.
	Entry []byte
	// Cause, from 1, is the index in DecisionBatch.Causes of the audit
	// event of the cause the entry counts for; 0 for none.
	Cause int
	// Log is the re-resolution log's entry (an AccessLogEntry as JSON),
	// appended only if the record is written; nil when not sampled.
	Log []byte
}

// DecisionBatch is what one WriteDecisions call writes.
type DecisionBatch struct {
	// Owner is the lease holder writing; the write is refused with
	// ErrLeaseLost unless it still holds the tenant's lease. Empty: no
	// lease needed (only for records written where none was).
	Owner   string
	Records []DecisionWrite
	// State are fields of the tenant's resolver state to set (cursor,
	// resolved_gen, revision, job_*).
	State map[string]string
	// Job counts the batch in the job's progress: job_done grows by the
	// records, job_changed by the entries, job_first/job_last follow them.
	Job bool
	// Resolved, when set, ends the job: every outbox entry up to and
	// including this id is dropped, and the job_* fields with them.
	Resolved string
	// Audit is the cause's audit event, appended with the last batch
	// (Resolved set) if the job changed any user's access: usersAffected
	// and feed {first, last} are added to its changes. It is skipped, not
	// refused, when the audit log is full (see AuditMinAge): the decisions
	// must move on.
	Audit []byte
	// Causes are audit events of causes resolved within this batch (merged
	// small causes): each is appended, with usersAffected and feed added,
	// if any record naming it (DecisionWrite.Cause) wrote a feed entry.
	Causes [][]byte
}

// DecisionResult says what WriteDecisions did.
type DecisionResult struct {
	Written     int      // records written or deleted
	Entries     int      // feed entries appended
	First, Last string   // ids of the first and last entry appended ("" if none)
	Audited     int      // audit events appended
	Conflicts   []string // users whose stored record moved since it was read (or who exist again): nothing written for them
}

// WriteDecisions writes a batch of users' decision records and, in the same
// script, a feed entry for each that carries one, trimming the feed by
// Options.FeedMaxLen and FeedMaxAge (the newest trimmed id goes to the feed
// floor), and moves the resolver state. A record is not written for a user
// deleted meanwhile, nor where the stored record is no longer the one read
// (a conflict: decide again). The users whose record was written or deleted
// are published on the access-changed channel by the same script (see
// WatchAccessChanged), so that no write escapes the replicas' caches. Returns ErrNotFound (tenant), ErrLeaseLost,
// ErrUnavailable, and a plain error for an invalid user id.
func (s *Store) WriteDecisions(ctx context.Context, tenant string, b DecisionBatch) (DecisionResult, error) {
	if !validTenantID(tenant) {
		return DecisionResult{}, notFound("tenant")
	}
	keys := make([]string, 0, 8+2*len(b.Records))
	keys = append(keys, tenantKey(tenant), accessLeaseKey(tenant), accessStateKey(tenant), accessFeedKey(tenant),
		accessFeedFloorKey(tenant), accessOutboxKey(tenant), auditKey(tenant))
	var cutoff int64
	if s.opts.FeedMaxAge > 0 {
		cutoff = max(1, s.opts.Clock().Add(-s.opts.FeedMaxAge).UnixMilli())
	}
	job, resolved := "", ""
	if b.Job {
		job = "1"
	}
	if b.Resolved != "" {
		next, err := nextStreamID(b.Resolved)
		if err != nil {
			return DecisionResult{}, fmt.Errorf("storage: outbox id %q: %w", b.Resolved, err)
		}
		resolved = next
	}
	args := make([]any, 0, 11+2*len(b.State)+len(b.Causes)+4*len(b.Records))
	args = append(args, b.Owner, len(b.Records), strconv.FormatInt(s.opts.FeedMaxLen, 10)+" "+strconv.FormatInt(cutoff, 10),
		len(b.State), job, resolved, s.auditRetention(), b.Audit, len(b.Causes))
	fields := make([]string, 0, len(b.State))
	for f := range b.State {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		args = append(args, f, b.State[f])
	}
	for _, c := range b.Causes {
		args = append(args, c)
	}
	for _, r := range b.Records {
		if !validRecordID(r.User) {
			return DecisionResult{}, fmt.Errorf("storage: invalid user id %q", r.User)
		}
		if r.Cause < 0 || r.Cause > len(b.Causes) {
			return DecisionResult{}, fmt.Errorf("storage: record of %q names cause %d of %d", r.User, r.Cause, len(b.Causes))
		}
		keys = append(keys, userKey(tenant, r.User), accessUserKey(tenant, r.User))
		read := ""
		if r.Read != nil {
			sum := sha1.Sum(r.Read)
			read = hex.EncodeToString(sum[:])
		}
		args = append(args, read, r.Record, r.Entry, r.Cause)
	}
	keys = append(keys, accessLogKey(tenant))
	args = appendLogArgs(args, s.opts.AccessLogMaxLen, b.Records)
	args = append(args, accessChangedChannel, tenant)
	res, err := s.eval(ctx, "write decisions", writeDecisionsScript, keys, args)
	if err != nil {
		return DecisionResult{}, err
	}
	if err := scriptResult("write decisions", res); err != nil {
		return DecisionResult{}, err
	}
	return decisionResult(res, b.Records)
}

// decisionResult reads {0, written, entries, first, last, audited, {i...}}.
func decisionResult(res any, recs []DecisionWrite) (DecisionResult, error) {
	bad := func(what string, v any) (DecisionResult, error) {
		return DecisionResult{}, unavailable("write decisions", badReply("%s %T %v", what, v, v))
	}
	arr, _ := res.([]any) // scriptResult checked the shape
	if len(arr) != 7 {
		return bad("reply", res)
	}
	written, ok1 := arr[1].(int64)
	entries, ok2 := arr[2].(int64)
	first, ok3 := arr[3].(string)
	last, ok4 := arr[4].(string)
	audited, ok5 := arr[5].(int64)
	conflicts, ok6 := arr[6].([]any)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return bad("reply", res)
	}
	out := DecisionResult{Written: int(written), Entries: int(entries), First: first, Last: last, Audited: int(audited)}
	for _, c := range conflicts {
		i, ok := c.(int64)
		if !ok || i < 1 || int(i) > len(recs) {
			return bad("conflict", c)
		}
		out.Conflicts = append(out.Conflicts, recs[i-1].User)
	}
	return out, nil
}

// nextStreamID is the smallest stream id after id ("<ms>-<seq+1>").
func nextStreamID(id string) (string, error) {
	ms, err := parseStreamID(id)
	if err != nil {
		return "", err
	}
	var seq uint64
	if _, s, ok := strings.Cut(id, "-"); ok {
		seq, err = strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "", err
		}
	}
	if seq == ^uint64(0) {
		return strconv.FormatInt(ms+1, 10) + "-0", nil
	}
	return strconv.FormatInt(ms, 10) + "-" + strconv.FormatUint(seq+1, 10), nil
}

// AccessDecision returns the user's stored decision record (JSON).
// Returns ErrNotFound (no record), ErrUnavailable.
func (s *Store) AccessDecision(ctx context.Context, tenant, uid string) ([]byte, error) {
	if !validTenantID(tenant) || !validRecordID(uid) {
		return nil, notFound("decision")
	}
	raw, err := s.rdb.Get(ctx, accessUserKey(tenant, uid)).Bytes()
	if isNil(err) {
		return nil, notFound("decision")
	}
	if err != nil {
		return nil, unavailable("access decision", err)
	}
	return raw, nil
}

// AccessDecisions returns the stored records of these users, in order, nil
// for a user without one, in one round trip. Returns ErrUnavailable.
func (s *Store) AccessDecisions(ctx context.Context, tenant string, uids []string) ([][]byte, error) {
	out := make([][]byte, len(uids))
	keys := make([]string, 0, len(uids))
	at := make([]int, 0, len(uids))
	for i, id := range uids {
		if validTenantID(tenant) && validRecordID(id) {
			keys = append(keys, accessUserKey(tenant, id))
			at = append(at, i)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("access decisions", err)
	}
	for j, v := range vals {
		if str, ok := v.(string); ok {
			out[at[j]] = []byte(str)
		}
	}
	return out, nil
}

// HoldAccessLease takes the tenant's resolver lease for owner, or renews it
// if owner holds it, for ttl; false means another replica holds it.
// Returns ErrUnavailable.
func (s *Store) HoldAccessLease(ctx context.Context, tenant, owner string, ttl time.Duration) (bool, error) {
	n, err := holdLeaseScript.Run(ctx, s.rdb, []string{accessLeaseKey(tenant)}, owner, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, unavailable("access lease", err)
	}
	return n == 1, nil
}

// RenewAccessLease renews the tenant's resolver lease for ttl if owner
// still holds it; false means it does not (another replica took it, or it
// expired: whatever owner kept in memory under it may be stale). Returns
// ErrUnavailable.
func (s *Store) RenewAccessLease(ctx context.Context, tenant, owner string, ttl time.Duration) (bool, error) {
	n, err := holdLeaseScript.Run(ctx, s.rdb, []string{accessLeaseKey(tenant)}, owner, ttl.Milliseconds(), "1").Int64()
	if err != nil {
		return false, unavailable("access lease", err)
	}
	return n == 1, nil
}

// ReleaseAccessLease drops the lease if owner holds it. Returns ErrUnavailable.
func (s *Store) ReleaseAccessLease(ctx context.Context, tenant, owner string) error {
	if err := releaseLeaseScript.Run(ctx, s.rdb, []string{accessLeaseKey(tenant)}, owner).Err(); err != nil {
		return unavailable("access lease", err)
	}
	return nil
}
