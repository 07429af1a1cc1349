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
	const op = "rate limit"
	if perSecond <= 0 || burst <= 0 || !validTenantID(tenant) {
		return true, 0, nil
	}
	interval := int64(math.Max(1, math.Round(1e6/perSecond)))
	res, err := rateScript.Run(ctx, s.rdb, []string{rateKey(tenant)}, interval, burst).Result()
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
