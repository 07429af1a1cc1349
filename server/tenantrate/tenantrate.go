// Package tenantrate is a token bucket per tenant, in this process, shared
// by the edges that rate-limit a tenant's requests (SCIM, decisions).
package tenantrate

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per tenant, in this process: with N replicas a
// tenant gets up to N times the rate. Consult it only after
// authentication, so that its map holds real tenants alone. A nil
// *Limiter allows everything.
type Limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// New returns a limiter of perSecond requests a second per tenant, burst
// at once (0: one second's worth); nil when perSecond is not positive.
func New(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Ceil(perSecond))
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, m: map[string]*rate.Limiter{}}
}

// Rate and Burst are the limiter's settings.
func (l *Limiter) Rate() float64 { return float64(l.rate) }

// Burst is the bucket size.
func (l *Limiter) Burst() int { return l.burst }

// Allow takes a token for tenant, or says how long until one is free.
func (l *Limiter) Allow(tenant string, now time.Time) (bool, time.Duration) {
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
