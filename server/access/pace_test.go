package access

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/storage"
)

// lagMetrics records the lags the resolver reports.
type lagMetrics struct {
	nopMetrics
	mu   sync.Mutex
	lags []time.Duration
}

func (m *lagMetrics) AccessCauseResolved(lag time.Duration) {
	m.mu.Lock()
	m.lags = append(m.lags, lag)
	m.mu.Unlock()
}

func (m *lagMetrics) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.lags)
}

// TestResolverReportsLag: each cause resolved, merged or as a job, reports
// the time from its write to its decisions, never negative.
func TestResolverReportsLag(t *testing.T) {
	for name, srv := range servers(t) {
		t.Run(name, func(t *testing.T) {
			st := storage.New(client(t, srv.url), storage.Options{})
			tenant := newTenant(t, st)
			eng := testEngine(t)
			for _, u := range []string{"u1", "u2", "u3"} {
				addUser(t, st, tenant, u, true)
			}
			m := &lagMetrics{}
			startResolver(t, st, eng, func(o *Options) { o.Metrics = m; o.Batch = 2 })
			settled(t, st, tenant, eng.Revision())
			// The first sweep's policy cause (a job of two batches) reports
			// its lag just after the write settled sees.
			waitFor(t, "the policy cause's lag", func() bool { return m.count() == 1 })
			base := m.count()
			enqueue(t, st, tenant, storage.OutboxUsers, "u1", storage.CauseActive, "u1")
			enqueue(t, st, tenant, storage.OutboxUsers, "u2", storage.CauseActive, "u2")
			settled(t, st, tenant, eng.Revision())
			waitFor(t, "both causes' lags", func() bool { return m.count() == base+2 })
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, l := range m.lags {
				if l < 0 || l > waitBound {
					t.Errorf("lag %v", l)
				}
			}
		})
	}
}

// TestAuditEventBytes: the audit event of a cause is the bytes the map it
// replaced gave.
func TestAuditEventBytes(t *testing.T) {
	for _, c := range []Cause{
		{Kind: storage.CauseMembership, ID: "g<1>&\"x\"", Generation: 7},
		{Kind: storage.CausePolicy, ID: "", Generation: 0},
		{Kind: storage.CauseUserDeleted, ID: "ü\u2028", Generation: -1},
	} {
		at := "2026-12-07T06:00:00.123456789Z"
		want := mustJSON(map[string]any{
			"time": at, "source": "resolver", "actor": nil, "ip": nil,
			"action": "access.change", "targetType": "AccessCause", "targetId": c.Kind + ":" + c.ID,
			"changes": []map[string]any{{"attribute": "cause", "new": c}},
		})
		if got := mustJSON(newAuditEvent(c, at)); string(got) != string(want) {
			t.Errorf("cause %+v:\n got %s\nwant %s", c, got, want)
		}
	}
}

// TestEdgeWait: a wait returns at once on an idle edge, and on a busy one
// when its last request leaves (every waiter), its timeout fires or its
// context ends. The timeouts are channels the test fires: nothing is timed.
func TestEdgeWait(t *testing.T) {
	var e Edge
	if !e.wait(t.Context(), nil) {
		t.Fatal("an idle edge kept the waiter")
	}
	start := func(ctx context.Context, timeout <-chan time.Time) <-chan bool {
		out := make(chan bool, 1)
		go func() { out <- e.wait(ctx, timeout) }()
		return out
	}
	still := func(what string, done <-chan bool) {
		t.Helper()
		select {
		case <-done:
			t.Fatalf("%s: the waiter returned while the edge was busy", what)
		default:
		}
	}
	// Two requests in flight, two waiters: both wait for the last one.
	e.Enter()
	e.Enter()
	a, b := start(t.Context(), nil), start(t.Context(), nil)
	waitFor(t, "two waiters", func() bool { return e.Waiting() == 2 })
	e.Leave()
	still("one request left", a)
	still("one request left", b)
	e.Leave()
	if !<-a || !<-b {
		t.Fatal("a waiter woken by the idle edge reported a timeout")
	}
	if e.InFlight() != 0 || e.Waiting() != 0 {
		t.Fatalf("in flight %d, waiting %d after", e.InFlight(), e.Waiting())
	}

	// Busy throughout: the timeout ends the wait, and so does the context.
	e.Enter()
	defer e.Leave()
	fire := make(chan time.Time)
	c := start(t.Context(), fire)
	waitFor(t, "the waiter", func() bool { return e.Waiting() == 1 })
	still("before the timeout", c)
	fire <- time.Now()
	if <-c {
		t.Fatal("a timed-out wait reported an idle edge")
	}
	ctx, cancel := context.WithCancel(t.Context())
	d := start(ctx, nil)
	waitFor(t, "the waiter", func() bool { return e.Waiting() == 1 })
	cancel()
	if <-d {
		t.Fatal("a cancelled wait reported an idle edge")
	}
}

// TestResolverPaces: with the SCIM edge idle the resolver resolves at once
// (a MaxDelay of an hour would outlast the test's bound); while a request
// is in flight it waits before its batch, leaving the cause pending, and
// resolves it once the request leaves. With a short MaxDelay it resolves
// even though the edge stays busy.
func TestResolverPaces(t *testing.T) {
	for name, srv := range servers(t) {
		t.Run(name, func(t *testing.T) {
			st := storage.New(client(t, srv.url), storage.Options{})
			tenant := newTenant(t, st)
			eng := testEngine(t)
			addUser(t, st, tenant, "u1", true)
			edge := &Edge{}
			r := startResolver(t, st, eng, func(o *Options) { o.Edge = edge; o.MaxDelay = time.Hour })
			settled(t, st, tenant, eng.Revision())
			// No worker in a slice: one under way would take the next cause
			// without waiting, its pace behind it.
			waitFor(t, "the workers to be idle", func() bool {
				r.mu.Lock()
				defer r.mu.Unlock()
				return len(r.busy) == 0 && len(r.queue) == 0
			})

			edge.Enter()
			enqueue(t, st, tenant, storage.OutboxUsers, "u1", storage.CauseActive, "u1")
			r.Notify(tenant)
			waitFor(t, "a worker to wait for the edge", func() bool { return edge.Waiting() > 0 })
			time.Sleep(20 * time.Millisecond) // a chance for a worker that does not wait to show it
			if s, err := st.AccessState(t.Context(), tenant); err != nil || s.Pending != 1 {
				t.Fatalf("while the edge is busy: state %+v, %v; want the cause pending", s, err)
			}
			edge.Leave()
			settled(t, st, tenant, eng.Revision())

			// Busy throughout, a MaxDelay of 10ms: resolved all the same.
			r.Stop()
			edge.Enter()
			defer edge.Leave()
			startResolver(t, st, eng, func(o *Options) { o.Edge = edge; o.MaxDelay = 10 * time.Millisecond })
			enqueue(t, st, tenant, storage.OutboxUsers, "u1", storage.CauseActive, "u1")
			settled(t, st, tenant, eng.Revision())
			if edge.InFlight() != 1 {
				t.Fatalf("in flight %d", edge.InFlight())
			}
		})
	}
}
