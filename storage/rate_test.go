package storage

import (
	"testing"
	"time"
)

// TestAllowRequest: a burst is allowed at once, the next is refused with
// the wait until it would be allowed, and tenants have their own buckets.
func TestAllowRequest(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		other := newTenant(t, e.s, 1)
		const perSecond, burst = 1, 3 // slow enough that the test never refills
		for i := range burst {
			ok, _, err := e.s.AllowRequest(ctx, e.tenant, perSecond, burst)
			must(t, err)
			if !ok {
				t.Fatalf("request %d of a burst of %d refused", i+1, burst)
			}
		}
		ok, wait, err := e.s.AllowRequest(ctx, e.tenant, perSecond, burst)
		must(t, err)
		if ok || wait <= 0 || wait > time.Second {
			t.Fatalf("past the burst: allowed %v, wait %s; want refused with a wait in (0, 1s]", ok, wait)
		}
		if ok, _, err := e.s.AllowRequest(ctx, other, perSecond, burst); err != nil || !ok {
			t.Fatalf("another tenant refused: %v %v", ok, err)
		}
		// No limit configured: always allowed, nothing stored.
		if ok, _, err := e.s.AllowRequest(ctx, e.tenant, 0, 0); err != nil || !ok {
			t.Fatalf("no limit: %v %v", ok, err)
		}
	})
}
