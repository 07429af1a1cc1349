package scimapi

import (
	"context"
	"time"
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
		ok, wait, err := a.svc.AllowRequest(ctx, tenant, a.limiter.Rate(), a.limiter.Burst())
		if err == nil {
			return ok, wait
		}
	}
	return a.limiter.Allow(tenant, time.Now())
}
