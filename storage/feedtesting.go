package storage

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// AppendFeedForTest appends one entry (the ACCESS.md entry JSON) to the
// tenant's change feed, as the resolver's script does, and returns its id.
// It exists for the tests of the feed's readers; production code never
// writes the feed outside the resolver's script (a change without its
// decision). Returns ErrUnavailable.
func (s *Store) AppendFeedForTest(ctx context.Context, tenant string, entry []byte) (string, error) {
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: accessFeedKey(tenant), Values: []any{feedField, entry}}).Result()
	if err != nil {
		return "", unavailable("append feed", err)
	}
	return id, nil
}

// TrimFeedForTest trims the tenant's feed to its newest keep entries and
// records the floor, as the resolver's trimming does, for the tests of
// cursors that fell out of retention. Returns ErrUnavailable.
func (s *Store) TrimFeedForTest(ctx context.Context, tenant string, keep int64) error {
	key := accessFeedKey(tenant)
	n, err := s.rdb.XLen(ctx, key).Result()
	if err != nil {
		return unavailable("trim feed", err)
	}
	if n <= keep {
		return nil
	}
	msgs, err := s.rdb.XRangeN(ctx, key, "-", "+", n-keep).Result()
	if err != nil || int64(len(msgs)) != n-keep {
		return unavailable("trim feed", fmt.Errorf("read %d of %d: %v", len(msgs), n-keep, err))
	}
	if err := s.rdb.XTrimMaxLen(ctx, key, keep).Err(); err != nil {
		return unavailable("trim feed", err)
	}
	if err := s.rdb.Set(ctx, accessFeedFloorKey(tenant), msgs[len(msgs)-1].ID, 0).Err(); err != nil {
		return unavailable("trim feed", err)
	}
	return nil
}
