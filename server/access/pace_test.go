package access

import (
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
			base := m.count() // the first sweep's policy cause: a job of two batches
			if base == 0 {
				t.Fatal("the policy cause reported no lag")
			}
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
