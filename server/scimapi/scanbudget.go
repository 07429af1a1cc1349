package scimapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"
	"golang.org/x/time/rate"
)

// ScanBudget bounds what filters without an index behind them (co, ew, pr,
// not, title eq …) may cost: such a filter examines every record of the
// tenant, so its cost is that number of records, charged to the tenant.
// Zero fields take the defaults below; a negative field turns that bound off.
type ScanBudget struct {
	// MaxRecords is the most records one request may examine; a filter that
	// would examine more answers 400 tooMany at once.
	MaxRecords int
	// Rate is the records a tenant's scans may examine per second in this
	// process (with N replicas a tenant gets up to N times it, unless
	// Shared), Burst
	// how many at once (0: the larger of MaxRecords and Rate).
	Rate  float64
	Burst int
	// Concurrency is how many scans of one tenant may run at once in this
	// process; more answer 429 with Retry-After.
	Concurrency int
	// Shared counts Rate across every replica, in Redis (one more round
	// trip per scan), instead of per process; when Redis cannot be asked,
	// the process's own bucket decides.
	Shared bool
	// IndexedFree is how many records a filter answered from an index may
	// read for free. An index can name many records (groups.value eq of a
	// large group, a shared work email, a repeated externalId): beyond
	// this many, reading them is charged like a scan of that many.
	IndexedFree int
}

// The defaults: at about 8 µs a record (measured on the 2-core machine),
// one scan costs at most ~0.2 s and a tenant's scans at most ~0.15 of a core.
const (
	DefaultScanMaxRecords  = 25000
	DefaultScanRate        = 20000
	DefaultScanConcurrency = 2
	DefaultScanIndexedFree = 1000
)

// scanGate enforces a ScanBudget per tenant.
type scanGate struct {
	b       ScanBudget
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	running map[string]int
	// shared takes records from the tenant's bucket in Redis (Shared).
	shared func(ctx context.Context, tenant string, perSecond float64, burst, records int) (bool, time.Duration, error)
}

func newScanGate(b ScanBudget) *scanGate {
	if b.MaxRecords == 0 {
		b.MaxRecords = DefaultScanMaxRecords
	}
	if b.Rate == 0 {
		b.Rate = DefaultScanRate
	}
	if b.Burst <= 0 {
		b.Burst = max(b.MaxRecords, int(math.Ceil(b.Rate)))
	}
	if b.Concurrency == 0 {
		b.Concurrency = DefaultScanConcurrency
	}
	if b.IndexedFree <= 0 {
		b.IndexedFree = DefaultScanIndexedFree
	}
	return &scanGate{b: b, buckets: map[string]*rate.Limiter{}, running: map[string]int{}}
}

// admit decides whether a scan of records records may run for tenant now.
// It answers 400 tooMany for a scan that can never fit the budget, and 429
// (parked, with Retry-After) when the tenant's concurrent scans or its
// records per second are spent. release must be called when the scan ends.
func (g *scanGate) admit(ctx context.Context, tenant string, records int) (release func(), err error) {
	if g.b.MaxRecords > 0 && records > g.b.MaxRecords {
		return nil, tooMany(fmt.Sprintf("the filter cannot be answered from an index and would examine all %d records of this tenant, more than the %d one request may examine (the scan budget): filter on an indexed attribute (userName eq or sw, externalId eq, id eq, work email, employeeNumber eq, groups.value eq; for groups displayName eq, externalId eq, members.value eq), alone or joined with and", records, g.b.MaxRecords))
	}
	if g.b.Rate > 0 && records > g.b.Burst {
		return nil, tooMany(fmt.Sprintf("the filter cannot be answered from an index and would examine %d records, more than this tenant's scan budget allows at once (%d)", records, g.b.Burst))
	}
	return g.take(ctx, tenant, records)
}

// admitIndexed decides whether the records an index named for a filter
// may be read: up to IndexedFree are free; more are charged like a scan,
// and are refused (400 tooMany) beyond what one request may examine.
func (g *scanGate) admitIndexed(ctx context.Context, tenant string, records int) (release func(), err error) {
	if records <= g.b.IndexedFree {
		return func() {}, nil
	}
	if g.b.MaxRecords > 0 && records > g.b.MaxRecords {
		return nil, tooMany(fmt.Sprintf("the filter matches %d records by its index, more than the %d one request may examine (the scan budget): narrow it with and", records, g.b.MaxRecords))
	}
	if g.b.Rate > 0 && records > g.b.Burst {
		return nil, tooMany(fmt.Sprintf("the filter matches %d records by its index, more than this tenant's scan budget allows at once (%d)", records, g.b.Burst))
	}
	return g.take(ctx, tenant, records)
}

// take runs a scan of records records under the tenant's concurrency cap
// and charges them to its records per second.
func (g *scanGate) take(ctx context.Context, tenant string, records int) (release func(), err error) {
	g.mu.Lock()
	if g.b.Concurrency > 0 && g.running[tenant] >= g.b.Concurrency {
		g.mu.Unlock()
		return nil, park(ctx, scimerrors.ScimError{Status: http.StatusTooManyRequests,
			Detail: fmt.Sprintf("this tenant already has %d filters without an index running; retry after the time in Retry-After", g.b.Concurrency)}, 1)
	}
	g.running[tenant]++
	g.mu.Unlock()
	release = func() {
		g.mu.Lock()
		if g.running[tenant]--; g.running[tenant] <= 0 {
			delete(g.running, tenant)
		}
		g.mu.Unlock()
	}
	if ok, wait := g.charge(ctx, tenant, records); !ok {
		release()
		return nil, park(ctx, scimerrors.ScimError{Status: http.StatusTooManyRequests,
			Detail: fmt.Sprintf("this tenant's scan budget (%g records a second examined by filters without an index) is spent; retry after the time in Retry-After", g.b.Rate)},
			max(1, int(math.Ceil(wait.Seconds()))))
	}
	return release, nil
}

// charge takes records from the tenant's bucket, or says how long until
// they are there.
func (g *scanGate) charge(ctx context.Context, tenant string, records int) (bool, time.Duration) {
	if g.b.Rate <= 0 || records <= 0 {
		return true, 0
	}
	if g.b.Shared && g.shared != nil {
		ok, wait, err := g.shared(ctx, tenant, g.b.Rate, g.b.Burst, records)
		if err == nil {
			return ok, wait
		}
	}
	g.mu.Lock()
	lim, ok := g.buckets[tenant]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(g.b.Rate), g.b.Burst)
		g.buckets[tenant] = lim
	}
	g.mu.Unlock()
	now := time.Now()
	r := lim.ReserveN(now, records)
	if d := r.DelayFrom(now); !r.OK() || d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// scanAdmit is the ListQuery.Scan of one request of tenant.
func (a *API) scanAdmit(ctx context.Context, tenant string) func(int) (func(), error) {
	return func(records int) (func(), error) { return a.scans.admit(ctx, tenant, records) }
}

// indexedAdmit is the ListQuery.ReadIndexed of one request of tenant.
func (a *API) indexedAdmit(ctx context.Context, tenant string) func(int) (func(), error) {
	return func(records int) (func(), error) { return a.scans.admitIndexed(ctx, tenant, records) }
}

// tooMany is the one meaning of 400 tooMany: the request would exceed the
// scan budget or the result limit; detail says which.
func tooMany(detail string) scimerrors.ScimError {
	e := scimerrors.ScimErrorTooMany
	e.Detail = detail
	return e
}
