package storage

import (
	"strconv"
	"testing"
	"time"
)

// TestAllowRequest: a burst is allowed at once, the next is refused with
// the wait until it would be allowed, and tenants have their own buckets.
func TestAllowRequest(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		other := newTenant(t, e.s, 1)
		// 0.01 a second: the bucket never refills while the test runs.
		const perSecond, burst = 0.01, 3
		for i := range burst {
			ok, _, err := e.s.AllowRequest(ctx, e.tenant, perSecond, burst)
			must(t, err)
			if !ok {
				t.Fatalf("request %d of a burst of %d refused", i+1, burst)
			}
		}
		// The state is an integer count of microseconds (not a rounded
		// float), kept no longer than the bucket needs.
		stored, err := e.rdb.Get(ctx, rateKey(e.tenant)).Result()
		must(t, err)
		if _, err := strconv.ParseInt(stored, 10, 64); err != nil {
			t.Fatalf("stored %q is not an integer", stored)
		}
		if ttl, err := e.rdb.PTTL(ctx, rateKey(e.tenant)).Result(); err != nil || ttl <= 0 || ttl > time.Duration(burst)*100*time.Second+time.Second {
			t.Fatalf("expiry %s (%v), want in (0, %ds]", ttl, err, burst*100)
		}
		var waits []time.Duration
		for range 2 {
			ok, wait, err := e.s.AllowRequest(ctx, e.tenant, perSecond, burst)
			must(t, err)
			if ok || wait <= 0 || wait > 100*time.Second {
				t.Fatalf("past the burst: allowed %v, wait %s; want refused with a wait in (0, 100s]", ok, wait)
			}
			waits = append(waits, wait)
		}
		// A refusal writes nothing: the second is not pushed later.
		if after, _ := e.rdb.Get(ctx, rateKey(e.tenant)).Result(); after != stored || waits[1] > waits[0] {
			t.Fatalf("a refusal moved the bucket: %q -> %q, waits %v", stored, after, waits)
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

// TestTakeScanRecords: a scan takes as many units as the records it
// examines from a bucket of the tenant's own, apart from its request
// bucket; a refusal takes nothing.
func TestTakeScanRecords(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		const perSecond, burst = 0.01, 10 // never refills during the test
		for i, tc := range []struct {
			records int
			want    bool
		}{{4, true}, {4, true}, {4, false}, {2, true}, {1, false}, {11, false}} {
			ok, wait, err := e.s.TakeScanRecords(ctx, e.tenant, perSecond, burst, tc.records)
			must(t, err)
			if ok != tc.want || !ok && wait <= 0 {
				t.Fatalf("take %d: %d records allowed %v (wait %s), want %v", i, tc.records, ok, wait, tc.want)
			}
		}
		if n, err := e.rdb.Exists(ctx, rateKey(e.tenant)).Result(); err != nil || n != 0 {
			t.Fatalf("the request bucket was touched: %d %v", n, err)
		}
		if ok, _, err := e.s.AllowRequest(ctx, e.tenant, perSecond, 1); err != nil || !ok {
			t.Fatalf("request refused after the scan budget was spent: %v %v", ok, err)
		}
		other := newTenant(t, e.s, 1)
		if ok, _, err := e.s.TakeScanRecords(ctx, other, perSecond, burst, 10); err != nil || !ok {
			t.Fatalf("another tenant refused: %v %v", ok, err)
		}
	})
}
