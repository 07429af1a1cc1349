package storage

import (
	"context"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Reads shared by users and groups.

// hgetAll loads many hashes in one round trip. A missing hash comes back as
// an empty map.
func (s *Store) hgetAll(ctx context.Context, keys []string) ([]map[string]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, k)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	hs := make([]map[string]string, len(keys))
	for i, cmd := range cmds {
		hs[i] = cmd.Val()
	}
	return hs, nil
}

// getRecord loads and parses the record of kind what ("user", "group")
// with this id. Returns ErrNotFound, ErrUnavailable.
func getRecord[T any](ctx context.Context, s *Store, what, id, key string, parse func(string, map[string]string) (T, error)) (T, error) {
	var zero T
	if !validRecordID(id) {
		return zero, notFound(what)
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return zero, unavailable("get "+what, err)
	}
	if len(h) == 0 {
		return zero, notFound(what)
	}
	r, err := parse(id, h)
	if err != nil {
		return zero, unavailable("get "+what, err)
	}
	return r, nil
}

// getRecords loads and parses the records with these ids in one round
// trip, in order, skipping ids that do not exist. Returns ErrUnavailable.
func getRecords[T any](ctx context.Context, s *Store, what string, ids []string, key func(id string) string, parse func(string, map[string]string) (T, error)) ([]T, error) {
	ids = validIDs(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	hs, err := s.hgetAll(ctx, keys)
	if err != nil {
		return nil, unavailable("get "+what+"s", err)
	}
	out := make([]T, 0, len(ids))
	for i, h := range hs {
		if len(h) == 0 {
			continue
		}
		r, err := parse(ids[i], h)
		if err != nil {
			return nil, unavailable("get "+what+"s", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// page returns the members of the creation-order set zkey from rank offset,
// at most count of them, and the set's size, in one round trip. A plain
// pipeline, not MULTI: Redis refuses MULTI once it reaches maxmemory, and
// reads must go on then. The two may differ by a create or delete that
// lands between them, as they would a moment later.
func (s *Store) page(ctx context.Context, zkey string, offset, count int) ([]string, int64, error) {
	offset = max(offset, 0)
	var (
		ids  *redis.StringSliceCmd
		card *redis.IntCmd
	)
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if count > 0 {
			ids = p.ZRange(ctx, zkey, int64(offset), int64(offset)+int64(count)-1)
		}
		card = p.ZCard(ctx, zkey)
		return nil
	}); err != nil {
		return nil, 0, err
	}
	if ids == nil {
		return nil, card.Val(), nil
	}
	return ids.Val(), card.Val(), nil
}

// scanOrdered calls fn with batches of ids from the creation-order set zkey.
// It pages by score, not rank: scores are unique sequence numbers, so a
// record created or deleted meanwhile neither shifts nor repeats a batch.
func (s *Store) scanOrdered(ctx context.Context, zkey string, fn func(ids []string) (bool, error)) error {
	start := "-inf"
	for {
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key:     zkey,
			Start:   start,
			Stop:    "+inf",
			ByScore: true,
			Count:   int64(s.opts.ScanBatch),
		}).Result()
		if err != nil {
			return err
		}
		if len(zs) == 0 {
			return nil
		}
		ids := make([]string, 0, len(zs))
		for _, z := range zs {
			id, ok := z.Member.(string)
			if !ok {
				return badReply("member %T", z.Member)
			}
			ids = append(ids, id)
		}
		more, err := fn(ids)
		if err != nil || !more || len(zs) < s.opts.ScanBatch {
			return err
		}
		start = "(" + strconv.FormatFloat(zs[len(zs)-1].Score, 'f', -1, 64)
	}
}

// smembers returns a set's members sorted, so answers do not depend on
// Redis's internal order.
func (s *Store) smembers(ctx context.Context, key string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// hgetID returns the id a unique index maps value to, as a list of 0 or 1.
func (s *Store) hgetID(ctx context.Context, key, value string) ([]string, error) {
	id, err := s.rdb.HGet(ctx, key, value).Result()
	if isNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{id}, nil
}
