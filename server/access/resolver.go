package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/storage"
)

// Store is what the resolver reads and writes; *storage.Store implements it.
type Store interface {
	Reader
	WriteDecisions(ctx context.Context, tenant string, b storage.DecisionBatch) (storage.DecisionResult, error)
	HoldAccessLease(ctx context.Context, tenant, owner string, ttl time.Duration) (bool, error)
	RenewAccessLease(ctx context.Context, tenant, owner string, ttl time.Duration) (bool, error)
	ReleaseAccessLease(ctx context.Context, tenant, owner string) error
	AccessState(ctx context.Context, tenant string) (storage.AccessState, error)
	AccessStates(ctx context.Context, tenants []string) ([]storage.AccessState, error)
	AccessGeneration(ctx context.Context, tenant string) (int64, error)
	ReadOutbox(ctx context.Context, tenant, after string, count int) ([]storage.OutboxEntry, error)
	EnqueueAccess(ctx context.Context, tenant, kind, id string, cause []byte) (int64, error)
	TenantIDs(ctx context.Context) ([]string, error)
	UsersAfter(ctx context.Context, tenant string, after int64, count int) ([]string, int64, error)
	UserCount(ctx context.Context, tenant string) (int64, error)
	MembersPage(ctx context.Context, tenant, group string, cursor uint64, count int) ([]string, uint64, error)
	MemberCounts(ctx context.Context, tenant string, groups []string) ([]int64, error)
	GroupsGranting(ctx context.Context, tenant, role string) ([]string, error)
	PublishAccessPending(ctx context.Context, tenant string) error
	WatchAccessPending(ctx context.Context, pending func(tenant string), subscribed func()) (ready <-chan struct{})
}

// Metrics receives the resolver's counts; the server implements it with
// Prometheus. Nil in Options counts nothing.
type Metrics interface {
	// AccessResolved counts users decided again and the policy
	// evaluations that took (one per distinct input).
	AccessResolved(users, evaluations int)
	// AccessChanged counts feed entries: users whose access changed.
	AccessChanged(users int)
	// AccessPolicyErrors counts users whose decision the policy failed to
	// make (their previous decision stays, marked stale).
	AccessPolicyErrors(users int)
	// AccessBacklog reports, at each sweep, the causes waiting over every
	// tenant, the age of the oldest, and the users left in jobs under way.
	AccessBacklog(causes int64, lag time.Duration, usersLeft int64)
	// AccessCauseResolved reports, once per outbox entry resolved, the time
	// from its write to its users' decisions being written: how long a
	// write's decisions stayed stale.
	AccessCauseResolved(lag time.Duration)
}

type nopMetrics struct{}

func (nopMetrics) AccessResolved(int, int)                   {}
func (nopMetrics) AccessChanged(int)                         {}
func (nopMetrics) AccessPolicyErrors(int)                    {}
func (nopMetrics) AccessBacklog(int64, time.Duration, int64) {}
func (nopMetrics) AccessCauseResolved(time.Duration)         {}

// Options tune a Resolver.
type Options struct {
	// Replica names this process in leases; empty means a random id.
	Replica string
	// Batch is how many users one step decides and writes. 0 means 500.
	Batch int
	// Slice is how long a worker stays on one tenant before it serves the
	// next waiting one, so a big job cannot starve the others. 0 means 2s.
	Slice time.Duration
	// Sweep is how often every tenant is checked for causes this replica
	// was not told of (another replica's writes, a crashed replica's job).
	// 0 means 5s.
	Sweep time.Duration
	// Lease is how long a tenant's lease lasts unless renewed (each step
	// renews it); a crashed replica's work waits this long. 0 means 15s.
	Lease time.Duration
	// Workers is how many tenants are resolved at once. 0 means 2.
	Workers int
	// Edge, when set, counts the SCIM requests in flight: while any is,
	// a worker waits before each batch, at most MaxDelay, so that
	// re-deciding (background work) yields the CPU to them and gathers the
	// causes of more writes into one batch. Nil never waits.
	Edge *Edge
	// MaxDelay bounds that wait, per batch. 0 means DefaultMaxDelay;
	// negative never waits.
	MaxDelay time.Duration
	// ActiveRevision returns the policy revision decisions are made at
	// (lane rollout: every live replica runs it). Nil means this engine's
	// own. A replica on another revision resolves nothing.
	ActiveRevision func(ctx context.Context) (string, error)
	// Tenants, when set, says which tenants this resolver keeps: it
	// neither queues nor sweeps the others. Nil keeps every tenant of the
	// store (production: every replica shares every tenant's work). Tests
	// sharing one Redis keep to their own tenants with it, so that one
	// test's resolver never decides for another's.
	Tenants func(tenant string) bool
	// LogSample is the share of re-resolutions (0 to 1) that the
	// re-resolution log records (storage.AccessLogEntry); 0 records none.
	LogSample float64
	Metrics   Metrics
	Log       *slog.Logger
	Clock     func() time.Time
}

// Resolver keeps the stored decisions of every tenant current: it resolves
// the causes of each tenant's outbox, a batch at a time, under the tenant's
// lease, so that replicas share the work and one resumes another's.
type Resolver struct {
	st       Store
	eng      Engine
	revision string
	opts     Options
	m        Metrics
	log      *slog.Logger

	mu      sync.Mutex
	queue   []string        // tenants waiting, in order
	queued  map[string]bool // in queue
	busy    map[string]bool // being resolved by a worker here
	again   map[string]bool // notified while busy: queue again after
	wake    chan struct{}
	cancel  context.CancelFunc
	done    sync.WaitGroup
	running atomic.Bool

	// known are the policies' answers by input hash, shared by the
	// workers: a job's batches ask once per distinct input.
	known *known

	activeAt  atomic.Int64 // Unix ms of the last check of the active revision
	activeNow atomic.Bool
}

// New returns a resolver over st deciding with eng; Start runs it.
func New(st Store, eng Engine, opts Options) *Resolver {
	if opts.Replica == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("access: no randomness: " + err.Error())
		}
		opts.Replica = hex.EncodeToString(b[:])
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Slice <= 0 {
		opts.Slice = 2 * time.Second
	}
	if opts.Sweep <= 0 {
		opts.Sweep = 5 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 15 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.ActiveRevision == nil {
		rev := eng.Revision()
		opts.ActiveRevision = func(context.Context) (string, error) { return rev, nil }
	}
	r := &Resolver{st: st, eng: eng, revision: eng.Revision(), opts: opts, m: opts.Metrics, log: opts.Log,
		known: &known{}, queued: map[string]bool{}, busy: map[string]bool{}, again: map[string]bool{}, wake: make(chan struct{}, 1)}
	if r.m == nil {
		r.m = nopMetrics{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Replica is the id this resolver takes leases under.
func (r *Resolver) Replica() string { return r.opts.Replica }

// Start runs the workers, the sweep and the subscription to other
// replicas' notices until Stop.
func (r *Resolver) Start() {
	if !r.running.CompareAndSwap(false, true) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for range r.opts.Workers {
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			r.work(ctx)
		}()
	}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		r.sweepLoop(ctx)
	}()
	// A replica off the active revision publishes what it cannot do; its
	// own notice must not bring it back.
	r.st.WatchAccessPending(ctx, func(tenant string) {
		if r.activeNow.Load() {
			r.Notify(tenant)
		}
	}, func() {})
}

// Stop ends the workers after their current batch, releasing their
// leases, and waits for them.
func (r *Resolver) Stop() {
	if !r.running.CompareAndSwap(true, false) {
		return
	}
	r.cancel()
	r.done.Wait()
}

// Notify tells the resolver that tenant may have causes to resolve. It
// never blocks: the tenant is queued once however often it is notified.
func (r *Resolver) Notify(tenant string) {
	if r.opts.Tenants != nil && !r.opts.Tenants(tenant) {
		return
	}
	r.mu.Lock()
	switch {
	case r.busy[tenant]:
		r.again[tenant] = true
	case !r.queued[tenant]:
		r.queued[tenant] = true
		r.queue = append(r.queue, tenant)
	}
	r.mu.Unlock()
	r.signal()
}

func (r *Resolver) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// take returns the next tenant to resolve and marks it busy.
func (r *Resolver) take() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return "", false
	}
	t := r.queue[0]
	r.queue = r.queue[1:]
	delete(r.queued, t)
	r.busy[t] = true
	return t, true
}

// finished unmarks tenant; more (work left, or notified meanwhile) queues
// it again, at the back.
func (r *Resolver) finished(tenant string, more bool) {
	r.mu.Lock()
	delete(r.busy, tenant)
	if r.again[tenant] {
		delete(r.again, tenant)
		more = true
	}
	if more && !r.queued[tenant] {
		r.queued[tenant] = true
		r.queue = append(r.queue, tenant)
	}
	r.mu.Unlock()
	if more {
		r.signal()
	}
}

func (r *Resolver) work(ctx context.Context) {
	for {
		tenant, ok := r.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
				continue
			}
		}
		more := r.slice(ctx, tenant)
		r.finished(tenant, more && ctx.Err() == nil)
		if ctx.Err() != nil {
			return
		}
		// Another worker may be waiting on the same signal.
		r.signal()
	}
}

// slice resolves tenant's work for at most one time slice under its lease,
// and reports whether work is left. Errors are logged: the tenant is tried
// again at the next notice or sweep.
func (r *Resolver) slice(ctx context.Context, tenant string) bool {
	if !r.active(ctx) {
		// Replicas on the active revision do it; they may not know yet.
		if err := r.st.PublishAccessPending(ctx, tenant); err != nil {
			r.log.Warn("access: cannot publish pending work", "tenant", tenant, "err", err)
		}
		return false
	}
	held, err := r.st.HoldAccessLease(ctx, tenant, r.opts.Replica, r.opts.Lease)
	if err != nil || !held {
		return false // another replica resolves it
	}
	defer func() {
		// Released even when ctx ended (Stop), so that another replica
		// need not wait for it to expire.
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.st.ReleaseAccessLease(rctx, tenant, r.opts.Replica); err != nil {
			r.log.Warn("access: cannot release lease", "tenant", tenant, "err", err)
		}
	}()
	end := r.opts.Clock().Add(r.opts.Slice)
	for {
		r.pace(ctx)
		more, err := r.step(ctx, tenant, end)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return false // the tenant is gone
		case errors.Is(err, storage.ErrLeaseLost):
			return false
		case err != nil:
			if ctx.Err() == nil {
				r.log.Error("access: resolving failed; tried again later", "tenant", tenant, "err", err)
			}
			return false
		case !more:
			return false
		case ctx.Err() != nil || !r.opts.Clock().Before(end):
			return true
		}
		if held, err := r.st.HoldAccessLease(ctx, tenant, r.opts.Replica, r.opts.Lease); err != nil || !held {
			return false
		}
	}
}

// active reports whether this replica runs the active revision, asking
// at most once a second.
func (r *Resolver) active(ctx context.Context) bool {
	now := r.opts.Clock().UnixMilli()
	if now-r.activeAt.Load() < 1000 {
		return r.activeNow.Load()
	}
	rev, err := r.opts.ActiveRevision(ctx)
	if err != nil {
		r.log.Warn("access: cannot read the active policy revision", "err", err)
		return false
	}
	ok := rev == r.revision
	r.activeNow.Store(ok)
	r.activeAt.Store(now)
	return ok
}

// sweepLoop queues, every Sweep, the tenants with causes waiting or whose
// decisions were made at another revision.
func (r *Resolver) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(r.opts.Sweep)
	defer tick.Stop()
	for {
		if err := r.sweep(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("access: sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweepBatch is how many tenants' states one round trip of a sweep reads.
const sweepBatch = 500

func (r *Resolver) sweep(ctx context.Context) error {
	ids, err := r.st.TenantIDs(ctx)
	if err != nil {
		return err
	}
	var causes, left int64
	var oldest time.Time
	for i := 0; i < len(ids); i += sweepBatch {
		chunk := ids[i:min(i+sweepBatch, len(ids))]
		states, err := r.st.AccessStates(ctx, chunk)
		if err != nil {
			return err
		}
		for j, st := range states {
			if r.opts.Tenants != nil && !r.opts.Tenants(chunk[j]) {
				continue
			}
			causes += st.Pending
			if st.Job != "" {
				left += max(st.JobTotal-st.JobDone, 0)
			}
			if !st.Oldest.IsZero() && (oldest.IsZero() || st.Oldest.Before(oldest)) {
				oldest = st.Oldest
			}
			if st.Pending > 0 || (st.Revision != r.revision && st.Queued != r.revision) {
				r.Notify(chunk[j])
			}
		}
	}
	var lag time.Duration
	if !oldest.IsZero() {
		lag = max(r.opts.Clock().Sub(oldest), 0)
	}
	r.m.AccessBacklog(causes, lag, left)
	return nil
}

// ResolveNow returns the user's stored decision record, deciding it first
// if the user has none yet (just created, the resolver behind): the record
// and its feed entry are written as the background path writes them (on a
// replica running the active revision; another answers without writing).
// Returns storage.ErrNotFound (no such user), storage.ErrUnavailable, and
// the policy's error (policies.ErrEval, ...) or ctx.Err().
func (r *Resolver) ResolveNow(ctx context.Context, tenant, uid string) ([]byte, error) {
	for attempt := 0; attempt < 3; attempt++ {
		ev, err := Evaluate(ctx, r.eng, r.st, tenant, []string{uid})
		if err != nil {
			return nil, err
		}
		sub := ev.Subjects[0]
		if !sub.Exists {
			return nil, fmt.Errorf("%w: user", storage.ErrNotFound)
		}
		if sub.Record != nil {
			return sub.Record, nil
		}
		d := ev.Decisions[uid]
		if d.Err != nil {
			r.m.AccessPolicyErrors(1)
			return nil, d.Err
		}
		gen, err := r.st.AccessGeneration(ctx, tenant)
		if err != nil {
			return nil, err
		}
		cause := Cause{Kind: storage.CauseUserCreated, ID: uid, Generation: gen}
		changes, _ := plan(ev, func(string) (Cause, int) { return cause, 0 }, r.opts.Clock())
		w := changes[0].write
		if r.sample() {
			w = r.logged(w, cause)
		}
		if !r.active(ctx) {
			return w.Record, nil
		}
		res, err := r.st.WriteDecisions(ctx, tenant, storage.DecisionBatch{Records: []storage.DecisionWrite{w}})
		if err != nil {
			return nil, err
		}
		r.m.AccessResolved(1, ev.Evaluations)
		if res.Written == 1 {
			r.m.AccessChanged(res.Entries)
			return w.Record, nil
		}
		if len(res.Conflicts) == 0 {
			return nil, fmt.Errorf("%w: user", storage.ErrNotFound) // deleted meanwhile
		}
	}
	return nil, fmt.Errorf("%w: access: the decision kept moving", storage.ErrUnavailable)
}
