package scimapi

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// allow takes one of the tenant's requests: from a bucket every replica
// shares (Options.RateLimitShared), or from this process's own, which also
// stands in when the shared one cannot be asked (at worst the tenant then
// gets the rate once per replica, never unlimited).
func (a *API) allow(ctx context.Context, tenant string) (bool, time.Duration) {
	if a.limiter == nil {
		return true, 0
	}
	if a.opts.RateLimitShared {
		ok, wait, err := a.svc.AllowRequest(ctx, tenant, float64(a.limiter.rate), a.limiter.burst)
		if err == nil {
			return ok, wait
		}
	}
	return a.limiter.allow(tenant, time.Now())
}

// tenantLimiter is a token bucket per tenant, in this process: with N
// replicas a tenant gets up to N times the rate (unless it is shared). It is only consulted after
// authentication, so its map holds real tenants alone.
type tenantLimiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newTenantLimiter(perSecond float64, burst int) *tenantLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Ceil(perSecond))
	}
	return &tenantLimiter{rate: rate.Limit(perSecond), burst: burst, m: map[string]*rate.Limiter{}}
}

// allow takes a token for tenant, or says how long until one is free.
func (l *tenantLimiter) allow(tenant string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	lim, ok := l.m[tenant]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[tenant] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
