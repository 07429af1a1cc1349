package storage

import (
	"context"
	_ "embed"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The migration steps over users.

var (
	//go:embed lua/migrate_user_externalid.lua
	migrateUserExternalIDLua    string
	migrateUserExternalIDScript = redis.NewScript(migrateUserExternalIDLua)
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
