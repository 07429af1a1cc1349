package storage

import (
	"context"
	_ "embed"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/rate.lua
	rateLua    string
	rateScript = redis.NewScript(rateLua)
)

// AllowRequest takes one request from the tenant's bucket, shared by every
// scimd on this Redis: perSecond requests a second, burst at once. When it
// refuses, it says how long until the next request is allowed. It is not a
// write that must survive a failover, so it never waits for replicas; and
// on a cluster it goes through the cluster client, which may resend it after
// a broken connection: a request then counts twice, which only errs on the
// strict side. Returns ErrUnavailable.
func (s *Store) AllowRequest(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error) {
	return s.take(ctx, "rate limit", rateKey(tenant), tenant, perSecond, burst, 1)
}

// TakeScanRecords takes records from the tenant's scan budget, shared by
// every scimd on this Redis: perSecond records a second, burst at once; a
// refusal takes nothing and says how long until records are there (a cost
// above burst is never allowed). As AllowRequest, it never waits for
// replicas. Returns ErrUnavailable.
func (s *Store) TakeScanRecords(ctx context.Context, tenant string, perSecond float64, burst, records int) (bool, time.Duration, error) {
	return s.take(ctx, "scan budget", scanRateKey(tenant), tenant, perSecond, burst, max(records, 1))
}

// AllowAdminWrite is AllowRequest for the tenant's admin writes, a bucket
// of their own. Returns ErrUnavailable.
func (s *Store) AllowAdminWrite(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error) {
	return s.take(ctx, "admin rate limit", adminRateKey(tenant), tenant, perSecond, burst, 1)
}

// take runs rate.lua on key with a cost.
func (s *Store) take(ctx context.Context, op, key, tenant string, perSecond float64, burst, cost int) (bool, time.Duration, error) {
	if perSecond <= 0 || burst <= 0 || !validTenantID(tenant) {
		return true, 0, nil
	}
	return s.takeKey(ctx, op, key, perSecond, burst, cost)
}

// takeKey runs rate.lua on key with a cost (0: only ask).
func (s *Store) takeKey(ctx context.Context, op, key string, perSecond float64, burst, cost int) (bool, time.Duration, error) {
	interval := int64(math.Max(1, math.Round(1e6/perSecond)))
	res, err := rateScript.Run(ctx, s.rdb, []string{key}, interval, burst, cost).Result()
	if err != nil {
		return false, 0, unavailable(op, err)
	}
	arr, ok := res.([]any)
	if !ok || len(arr) == 0 {
		return false, 0, unavailable(op, badReply("%T %v", res, res))
	}
	if code, _ := arr[0].(int64); code == 0 {
		return true, 0, nil
	}
	if len(arr) < 2 {
		return false, 0, unavailable(op, badReply("%v", arr))
	}
	wait, _ := arr[1].(int64)
	return false, time.Duration(wait) * time.Microsecond, nil
}
