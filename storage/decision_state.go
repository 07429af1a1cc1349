package storage

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// AccessState is where the resolver stands on a tenant: the fields of
// t:{t}:access:state, with the tenant's generation and outbox.
type AccessState struct {
	Cursor      string // the last outbox entry fully resolved
	Revision    string // the policy revision every decision was last re-made at
	Queued      string // the revision a re-decision of every user was asked for
	ResolvedGen int64
	Generation  int64 // the tenant's decision generation (t:{t}:access:gen)
	Pending     int64 // outbox entries not yet resolved
	Oldest      time.Time
	// Job is the cause under way (field job_cause, as the resolver wrote
	// it; empty when none), and its progress.
	Job                       string
	JobTotal, JobDone         int64
	JobChanged                int64
	JobStarted                time.Time
	JobPos, JobFirst, JobLast string
}

// The fields of the state hash the resolver reads back.
const (
	StateCursor      = "cursor"
	StateRevision    = "revision"
	StateQueued      = "revision_queued"
	StateResolvedGen = "resolved_gen"
	StateJobCause    = "job_cause"
	StateJobTotal    = "job_total"
	StateJobDone     = "job_done"
	StateJobStarted  = "job_started" // Unix ms
	StateJobPos      = "job_pos"
)

// AccessStates returns the resolver state of each tenant, in one round trip
// (a tenant without any comes back zero). Returns ErrUnavailable.
func (s *Store) AccessStates(ctx context.Context, tenants []string) ([]AccessState, error) {
	type cmds struct {
		state  *redis.MapStringStringCmd
		gen    *redis.StringCmd
		n      *redis.IntCmd
		oldest *redis.XMessageSliceCmd
	}
	cs := make([]cmds, len(tenants))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range tenants {
			cs[i] = cmds{
				state:  p.HGetAll(ctx, accessStateKey(t)),
				gen:    p.Get(ctx, accessGenKey(t)),
				n:      p.XLen(ctx, accessOutboxKey(t)),
				oldest: p.XRangeN(ctx, accessOutboxKey(t), "-", "+", 1),
			}
		}
		return nil
	}); err != nil && !isNil(err) {
		return nil, unavailable("access state", err)
	}
	out := make([]AccessState, len(tenants))
	for i, c := range cs {
		h := c.state.Val()
		num := func(f string) int64 {
			n, _ := strconv.ParseInt(h[f], 10, 64) // absent or garbled: 0
			return n
		}
		st := AccessState{
			Cursor: h[StateCursor], Revision: h[StateRevision], Queued: h[StateQueued], ResolvedGen: num(StateResolvedGen),
			Pending: c.n.Val(), Job: h[StateJobCause], JobTotal: num(StateJobTotal), JobDone: num(StateJobDone),
			JobChanged: num("job_changed"), JobPos: h[StateJobPos], JobFirst: h["job_first"], JobLast: h["job_last"],
		}
		if ms := num(StateJobStarted); ms > 0 {
			st.JobStarted = time.UnixMilli(ms).UTC()
		}
		st.Generation, _ = strconv.ParseInt(c.gen.Val(), 10, 64)
		if msgs := c.oldest.Val(); len(msgs) > 0 {
			if ms, err := parseStreamID(msgs[0].ID); err == nil {
				st.Oldest = time.UnixMilli(ms).UTC()
			}
		}
		out[i] = st
	}
	return out, nil
}

// AccessState is AccessStates for one tenant. Returns ErrUnavailable.
func (s *Store) AccessState(ctx context.Context, tenant string) (AccessState, error) {
	all, err := s.AccessStates(ctx, []string{tenant})
	if err != nil {
		return AccessState{}, err
	}
	return all[0], nil
}

// TenantIDs returns every tenant's id in creation order. Returns
// ErrUnavailable.
func (s *Store) TenantIDs(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, tenantsKey(), 0, -1).Result()
	if err != nil {
		return nil, unavailable("tenant ids", err)
	}
	return ids, nil
}

// accessPendingChannel carries the id of a tenant with causes to resolve,
// so that every replica's resolver may take them (one holds the lease).
const accessPendingChannel = "scimd:access-pending"

// accessChangedChannel carries what write_decisions.lua wrote: the tenant
// and the users whose decision records it wrote or deleted, space separated
// ('tenant id id ...'), or a tenant alone for all of its users; neither
// holds a space (validTenantID, validRecordID).
const accessChangedChannel = "scimd:access-changed"

// PublishAccessPending tells every scimd on this Redis that tenant has
// causes to resolve. Returns ErrUnavailable.
func (s *Store) PublishAccessPending(ctx context.Context, tenant string) error {
	return s.publish(ctx, accessPendingChannel, tenant)
}

// PublishAccessChanged tells every scimd on this Redis that tenant's stored
// decisions changed. Returns ErrUnavailable.
func (s *Store) PublishAccessChanged(ctx context.Context, tenant string) error {
	return s.publish(ctx, accessChangedChannel, tenant)
}

func (s *Store) publish(ctx context.Context, channel, tenant string) error {
	if err := s.rdb.Publish(ctx, channel, tenant).Err(); err != nil {
		return unavailable("publish "+channel, err)
	}
	return nil
}

// WatchAccessPending calls pending with every tenant another replica says
// has causes to resolve, until ctx ends; see WatchTokenChanges for
// subscribed and ready.
func (s *Store) WatchAccessPending(ctx context.Context, pending func(tenant string), subscribed func()) (ready <-chan struct{}) {
	return s.watch(ctx, accessPendingChannel, pending, subscribed)
}
