package storage

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The migration steps over users.

var (
	//go:embed lua/migrate_user_externalid.lua
	migrateUserExternalIDLua    string
	migrateUserExternalIDScript = redis.NewScript(migrateUserExternalIDLua)

	//go:embed lua/migrate_user_username.lua
	migrateUserNameLua    string
	migrateUserNameScript = redis.NewScript(migrateUserNameLua)
)

// stepUserExternalIDSets moves the users' externalId index from one hash
// (value -> id, which made externalId unique) to a set of ids per value.
// Until it has run, reads consult both and writes remove what they move out
// of the hash, so old and new replicas can serve side by side.
var stepUserExternalIDSets = MigrationStep{
	Name:    "user-externalid-sets",
	Summary: "users' externalId index: from one id per value (unique) to a set of ids per value",
	Batch:   migrateUserExternalIDBatch,
}

// migrateUserExternalIDBatch takes the next entries of the legacy hash. A
// real run deletes each entry it takes, so every batch scans the hash from
// its start and finds only what is left (the cursor counts entries done,
// for the report); a dry run changes nothing and follows HSCAN's cursor.
func migrateUserExternalIDBatch(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
	const op = "migrate user externalId"
	legacy := legacyUserExternalIDIndexKey(tenant)
	var scanFrom uint64
	if c, ok := strings.CutPrefix(cursor, "scan:"); ok && dry {
		n, err := strconv.ParseUint(c, 10, 64)
		if err != nil {
			return MigrationBatch{}, unavailable(op, badReply("cursor %q", cursor))
		}
		scanFrom = n
	}
	doneBefore := 0
	if c, ok := strings.CutPrefix(cursor, "done:"); ok {
		doneBefore, _ = strconv.Atoi(c)
	}
	var kv []string
	var next uint64
	for {
		var err error
		kv, next, err = s.rdb.HScan(ctx, legacy, scanFrom, "", int64(s.opts.ScanBatch)).Result()
		if err != nil {
			return MigrationBatch{}, unavailable(op, err)
		}
		// HSCAN may answer no entries but a cursor to go on from.
		if len(kv) > 0 || next == 0 || dry {
			break
		}
		scanFrom = next
	}
	if !dry && len(kv) > 2*s.opts.ScanBatch {
		// A small hash answers whole whatever COUNT says; what is not
		// taken now stays for the next scan from the start.
		kv = kv[:2*s.opts.ScanBatch]
	}
	b := MigrationBatch{}
	for i := 0; i+1 < len(kv); i += 2 {
		value, id := kv[i], kv[i+1]
		b.Examined++
		if dry {
			b.Changed++ // every entry leaves the hash
			continue
		}
		record := tenantKey(tenant)
		if validRecordID(id) {
			record = userKey(tenant, id)
		}
		n, err := s.runCounting(ctx, op, migrateUserExternalIDScript,
			[]string{legacy, userExternalIDIndexKey(tenant, value), record}, []any{value, id})
		if err != nil {
			return b, err
		}
		b.Changed += int(n)
	}
	switch {
	case dry && next != 0:
		b.Next = "scan:" + strconv.FormatUint(next, 10)
	case !dry && b.Examined > 0:
		// Entries were taken: scan again from the start for the rest;
		// the next batch finds none when the hash is empty.
		b.Next = "done:" + strconv.Itoa(doneBefore+b.Examined)
	}
	return b, nil
}

// stepUserNameKeys re-keys the userName index from lower(userName) to
// UserNameKey, so that userNames differing only by compatibility forms,
// zero-width characters or surrounding spaces collide. Until it has run,
// reads and uniqueness checks consult both keys. Two existing users whose
// userNames are the same under UserNameKey cannot both have the key: they
// are reported, and the step is not done until one is renamed.
var stepUserNameKeys = MigrationStep{
	Name:    "user-username-keys",
	Summary: "users' userName index: keyed by UserNameKey (NFKC, case fold, no zero-width characters or surrounding spaces) instead of lower case",
	Batch:   migrateUserNameBatch,
}

// migrateUserNameBatch re-keys the next users in creation order; the
// cursor is the last creation sequence done.
func migrateUserNameBatch(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
	const op = "migrate userName keys"
	ids, next, err := s.usersAfter(ctx, tenant, cursor)
	if err != nil {
		return MigrationBatch{}, err
	}
	b := MigrationBatch{Next: next, Examined: len(ids)}
	ids = validIDs(ids)
	names := make([]*redis.StringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			names[i] = p.HGet(ctx, userKey(tenant, id), fUserName)
		}
		return nil
	}); err != nil && !isNil(err) {
		return b, unavailable(op, err)
	}
	type todo struct{ id, name, key, legacy string }
	var work []todo
	for i, id := range ids {
		name, err := names[i].Result()
		if isNil(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			return b, unavailable(op, err)
		}
		if key, legacy := UserNameKey(name), legacyUserNameKey(name); key != legacy {
			work = append(work, todo{id, name, key, legacy})
		}
	}
	if dry {
		// Who holds each key now tells what the run would do.
		holders := make([]*redis.StringCmd, len(work))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, w := range work {
				holders[i] = p.HGet(ctx, userNameIndexKey(tenant), w.key)
			}
			return nil
		}); err != nil && !isNil(err) {
			return b, unavailable(op, err)
		}
		for i, w := range work {
			switch h := holders[i].Val(); h {
			case "":
				b.Changed++
			case w.id:
			default:
				b.Unresolved = append(b.Unresolved, collision(w.id, w.name, h))
			}
		}
		return b, nil
	}
	for _, w := range work {
		n, err := s.runCounting(ctx, op, migrateUserNameScript,
			[]string{userNameIndexKey(tenant), userKey(tenant, w.id)}, []any{w.id, w.name, w.key, w.legacy})
		var ue *UniquenessError
		switch {
		case errors.As(err, &ue):
			b.Unresolved = append(b.Unresolved, collision(w.id, w.name, ue.HolderID))
		case err != nil:
			return b, err
		default:
			b.Changed += int(n)
		}
	}
	return b, nil
}

// collision describes two users whose userNames UserNameKey makes equal.
func collision(id, name, holder string) string {
	return fmt.Sprintf("user %s (userName %q) has the same userName as user %s once compatibility forms, case, zero-width characters and surrounding spaces are ignored: rename one of them", id, name, holder)
}
