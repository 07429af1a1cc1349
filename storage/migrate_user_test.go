package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// legacyExternalID rewrites users' externalId index entries into the form
// releases before the sets wrote: one hash, value -> id.
func legacyExternalID(t *testing.T, e env, users ...User) {
	t.Helper()
	for _, u := range users {
		redisDo(t, e, "SREM", userExternalIDIndexKey(e.tenant, u.ExternalID), u.ID)
		redisDo(t, e, "HSET", legacyUserExternalIDIndexKey(e.tenant), u.ExternalID, u.ID)
	}
}

// checkClean runs Check and fails on any finding.
func checkClean(t *testing.T, e env) {
	t.Helper()
	rep, err := e.s.Check(t.Context(), e.tenant, false)
	must(t, err)
	if len(rep.Findings) != 0 {
		t.Errorf("check findings: %+v", rep.Findings)
	}
}

func findUsers(t *testing.T, e env, by UserIndex, value string) []string {
	t.Helper()
	ids, err := e.s.FindUsers(t.Context(), e.tenant, by, value)
	must(t, err)
	return ids
}

// TestMigrateUserExternalIDSets: on data indexed the old way, this release
// reads both forms and writes the new one; the migration step moves what
// is left, is resumable, and a second run changes nothing; check then
// finds nothing.
func TestMigrateUserExternalIDSets(t *testing.T) {
	run(t, Options{ScanBatch: 2}, 100, func(t *testing.T, e env) {
		ctx := t.Context()
		withExt := func(v string) func(*User) { return func(u *User) { u.ExternalID = v } }
		old := []User{
			user("u1", "ann", withExt("ext-1")),
			user("u2", "ben", withExt("ext-2")),
			user("u3", "cid"),
			user("u4", "dot", withExt("ext-4")),
		}
		for _, u := range old {
			must(t, e.s.CreateUser(ctx, e.tenant, u, nil))
		}
		legacyExternalID(t, e, old[0], old[1], old[3])
		// An entry an old release left behind for a user since deleted.
		redisDo(t, e, "HSET", legacyUserExternalIDIndexKey(e.tenant), "ext-gone", "u9")

		// Before the migration: old entries are found, a repeated value
		// is accepted, and an update moves a value out of the hash.
		if d := cmp.Diff([]string{"u1"}, findUsers(t, e, UserByExternalID, "ext-1")); d != "" {
			t.Errorf("legacy entry not read (-want +got):\n%s", d)
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("u5", "eve", withExt("ext-1")), nil))
		prev, err := e.s.GetUser(ctx, e.tenant, "u2")
		must(t, err)
		next := prev
		next.Version++
		next.ExternalID = "ext-1"
		must(t, e.s.UpdateUser(ctx, e.tenant, prev, next, nil))
		if d := cmp.Diff([]string{"u1", "u2", "u5"}, findUsers(t, e, UserByExternalID, "ext-1")); d != "" {
			t.Errorf("ext-1 holders before migration (-want +got):\n%s", d)
		}
		if got := findUsers(t, e, UserByExternalID, "ext-2"); len(got) != 0 {
			t.Errorf("ext-2 still finds %v after the update moved it", got)
		}

		steps := []MigrationStep{stepUserExternalIDSets}
		rep, err := e.s.Migrate(ctx, e.tenant, steps, true, t0)
		must(t, err)
		// ext-1 -> u1, ext-4 -> u4 and the stale ext-gone are left.
		if st := rep.Steps[0]; st.State != MigrationPending || st.Changed != 3 {
			t.Errorf("dry run: %+v", st)
		}
		if n, err := e.rdb.HLen(ctx, legacyUserExternalIDIndexKey(e.tenant)).Result(); err != nil || n != 3 {
			t.Errorf("dry run changed the hash: %d entries, %v", n, err)
		}

		// Interrupted after one batch, then resumed.
		stopCtx, stop := context.WithCancel(ctx)
		interrupted := stepUserExternalIDSets
		interrupted.Batch = func(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
			b, err := stepUserExternalIDSets.Batch(ctx, s, tenant, cursor, dry)
			stop()
			return b, err
		}
		rep, err = e.s.Migrate(stopCtx, e.tenant, []MigrationStep{interrupted}, false, t0)
		if err == nil || rep.Steps[0].State != MigrationStopped || rep.Steps[0].Changed != 2 {
			t.Fatalf("interrupted run: %+v, %v", rep, err)
		}
		if d := cmp.Diff([]string{"u1", "u2", "u5"}, findUsers(t, e, UserByExternalID, "ext-1")); d != "" {
			t.Errorf("ext-1 holders mid-migration (-want +got):\n%s", d)
		}
		rep, err = e.s.Migrate(ctx, e.tenant, steps, false, t0)
		must(t, err)
		if st := rep.Steps[0]; st.State != MigrationDone || st.ResumedAt == "" || st.Changed != 1 {
			t.Errorf("resumed run: %+v", st)
		}
		if n, err := e.rdb.Exists(ctx, legacyUserExternalIDIndexKey(e.tenant)).Result(); err != nil || n != 0 {
			t.Errorf("legacy hash left: %d, %v", n, err)
		}
		for v, want := range map[string][]string{"ext-1": {"u1", "u2", "u5"}, "ext-4": {"u4"}, "ext-gone": nil, "ext-2": nil} {
			got, err := e.rdb.SMembers(ctx, userExternalIDIndexKey(e.tenant, v)).Result()
			must(t, err)
			if d := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("set %s (-want +got):\n%s", v, d)
			}
		}
		checkClean(t, e)

		rep, err = e.s.Migrate(ctx, e.tenant, steps, false, t0)
		if err != nil || rep.Steps[0].State != MigrationDoneBefore {
			t.Errorf("second run: %+v, %v", rep, err)
		}
		// Even forced to run again, the step finds nothing to change.
		b, err := stepUserExternalIDSets.Batch(ctx, e.s, e.tenant, "", false)
		if err != nil || b.Changed != 0 || b.Next != "" {
			t.Errorf("step run again: %+v, %v", b, err)
		}
		checkClean(t, e)

		// Deleting a user removes it from the set (and from an old entry).
		legacyExternalID(t, e, old[3])
		must(t, e.s.DeleteUser(ctx, e.tenant, "u4", nil))
		must(t, e.s.DeleteUser(ctx, e.tenant, "u5", nil))
		if got := findUsers(t, e, UserByExternalID, "ext-4"); len(got) != 0 {
			t.Errorf("ext-4 finds %v after delete", got)
		}
		if d := cmp.Diff([]string{"u1", "u2"}, findUsers(t, e, UserByExternalID, "ext-1")); d != "" {
			t.Errorf("ext-1 after delete (-want +got):\n%s", d)
		}
		checkClean(t, e)
	})
}

// legacyUserName rewrites users' userName index entries into the form of
// releases before UserNameKey: lower(userName) -> id.
func legacyUserName(t *testing.T, e env, users ...User) {
	t.Helper()
	for _, u := range users {
		redisDo(t, e, "HDEL", userNameIndexKey(e.tenant), UserNameKey(u.UserName))
		redisDo(t, e, "HSET", userNameIndexKey(e.tenant), legacyUserNameKey(u.UserName), u.ID)
	}
}

// TestUserNameKeyUniqueness (issue 11 item 13): userNames that differ only
// by case, compatibility forms, zero-width or format characters or
// surrounding spaces are the same userName; the record keeps what was sent.
func TestUserNameKeyUniqueness(t *testing.T) {
	run(t, Options{}, 100, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "alice@x.example"), nil))
		for i, name := range []string{
			"ALICE@X.EXAMPLE",
			"\uff41lice@x.example",   // fullwidth a
			"alice\u200b@x.example",  // zero-width space
			"al\u00adice@x.example",  // soft hyphen
			"\ufeffalice@x.example",  // BOM
			" alice@x.example\u3000", // ideographic space
			"alice@x.example\u200d",  // zero-width joiner
		} {
			checkErr(t, e.s.CreateUser(ctx, e.tenant, user(fmt.Sprintf("d%d", i), name), nil), &UniquenessError{"userName", "u1"})
		}
		odd := "\uff22ob\u200b "
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", odd), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u3", "alice@x.exa\u0301mple"), nil))
		got, err := e.s.GetUser(ctx, e.tenant, "u2")
		must(t, err)
		if got.UserName != odd {
			t.Errorf("stored userName %q, want %q as sent", got.UserName, odd)
		}
		for _, q := range []string{"bob", "BOB", " \uff42\uff4f\uff42"} {
			if d := cmp.Diff([]string{"u2"}, findUsers(t, e, UserByUserName, q)); d != "" {
				t.Errorf("FindUsers(%q) (-want +got):\n%s", q, d)
			}
		}
		// A rename onto another's key is refused too.
		prev, err := e.s.GetUser(ctx, e.tenant, "u3")
		must(t, err)
		next := prev
		next.Version++
		next.UserName = "BOB"
		checkErr(t, e.s.UpdateUser(ctx, e.tenant, prev, next, nil), &UniquenessError{"userName", "u2"})
		// So is one onto a userName an old entry holds (u9, indexed as an
		// earlier release did).
		must(t, e.s.CreateUser(ctx, e.tenant, user("u9", "\uff23arl"), nil))
		redisDo(t, e, "HDEL", userNameIndexKey(e.tenant), UserNameKey("\uff23arl"))
		redisDo(t, e, "HSET", userNameIndexKey(e.tenant), legacyUserNameKey("\uff23arl"), "u9")
		next.UserName = "\uff23arl"
		checkErr(t, e.s.UpdateUser(ctx, e.tenant, prev, next, nil), &UniquenessError{"userName", "u9"})
		checkErr(t, e.s.CreateUser(ctx, e.tenant, user("u4", "\uff23arl"), nil), &UniquenessError{"userName", "u9"})
		must(t, e.s.DeleteUser(ctx, e.tenant, "u9", nil))
		checkClean(t, e)
	})
}

// TestMigrateUserNameKeys: on users indexed by lower(userName), this
// release finds them by either key; the step re-keys them, reports two
// users the new keys make equal (and is not done until one is renamed),
// is resumable, and check then finds nothing.
func TestMigrateUserNameKeys(t *testing.T) {
	run(t, Options{ScanBatch: 2}, 100, func(t *testing.T, e env) {
		ctx := t.Context()
		old := []User{
			user("u1", "Alice"),
			user("u2", "\uff22ob"),
			user("u3", " carol "),
			user("u4", "dave\u200b"),
		}
		for _, u := range old {
			must(t, e.s.CreateUser(ctx, e.tenant, u, nil))
		}
		legacyUserName(t, e, old...)
		// A user made before the migration whose key an old entry should
		// have held: the pair the step must report.
		must(t, e.s.CreateUser(ctx, e.tenant, user("u5", "DAVE"), nil))
		checkClean(t, e)
		if d := cmp.Diff([]string{"u2"}, findUsers(t, e, UserByUserName, "\uff42OB")); d != "" {
			t.Errorf("old entry not found (-want +got):\n%s", d)
		}
		// The old key still counts for uniqueness.
		checkErr(t, e.s.CreateUser(ctx, e.tenant, user("x1", " CAROL "), nil), &UniquenessError{"userName", "u3"})

		steps := []MigrationStep{stepUserNameKeys}
		rep, err := e.s.Migrate(ctx, e.tenant, steps, true, t0)
		must(t, err)
		if st := rep.Steps[0]; st.State != MigrationPending || st.Changed != 2 || len(st.Unresolved) != 1 || !strings.Contains(st.Unresolved[0], "user u4") {
			t.Errorf("dry run: %+v", st)
		}

		stopCtx, stop := context.WithCancel(ctx)
		interrupted := stepUserNameKeys
		interrupted.Batch = func(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
			b, err := stepUserNameKeys.Batch(ctx, s, tenant, cursor, dry)
			stop()
			return b, err
		}
		rep, err = e.s.Migrate(stopCtx, e.tenant, []MigrationStep{interrupted}, false, t0)
		if err == nil || rep.Steps[0].State != MigrationStopped || rep.Steps[0].Changed != 1 {
			t.Fatalf("interrupted run: %+v, %v", rep, err)
		}
		rep, err = e.s.Migrate(ctx, e.tenant, steps, false, t0)
		must(t, err)
		if st := rep.Steps[0]; st.State != MigrationUnresolved || st.ResumedAt == "" || st.Changed != 1 || len(st.Unresolved) != 1 {
			t.Errorf("resumed run: %+v", st)
		}
		checkClean(t, e)
		for q, want := range map[string]string{"bob": "u2", "CAROL": "u3", "alice": "u1"} {
			if d := cmp.Diff([]string{want}, findUsers(t, e, UserByUserName, q)); d != "" {
				t.Errorf("FindUsers(%q) (-want +got):\n%s", q, d)
			}
		}

		// An update of the unresolved user keeps it under its old key:
		// the key belongs to the other.
		prev, err := e.s.GetUser(ctx, e.tenant, "u4")
		must(t, err)
		next := prev
		next.Version++
		next.Doc = []byte(`{"displayName":"D"}`)
		must(t, e.s.UpdateUser(ctx, e.tenant, prev, next, nil))
		for field, want := range map[string]string{"dave": "u5", "dave\u200b": "u4"} {
			if got, err := e.rdb.HGet(ctx, userNameIndexKey(e.tenant), field).Result(); err != nil || got != want {
				t.Errorf("index %q = %q, %v; want %s", field, got, err, want)
			}
		}
		checkClean(t, e)

		// Renaming one of the pair settles it; the step runs whole again.
		prev, err = e.s.GetUser(ctx, e.tenant, "u5")
		must(t, err)
		next = prev
		next.Version++
		next.UserName = "dave2"
		must(t, e.s.UpdateUser(ctx, e.tenant, prev, next, nil))
		rep, err = e.s.Migrate(ctx, e.tenant, steps, false, t0)
		must(t, err)
		if st := rep.Steps[0]; st.State != MigrationDone || st.Examined != 5 || st.Changed != 1 || len(st.Unresolved) != 0 {
			t.Errorf("run after the rename: %+v", st)
		}
		if d := cmp.Diff([]string{"u4"}, findUsers(t, e, UserByUserName, "Dave")); d != "" {
			t.Errorf("FindUsers(Dave) (-want +got):\n%s", d)
		}
		rep, err = e.s.Migrate(ctx, e.tenant, steps, false, t0)
		if err != nil || rep.Steps[0].State != MigrationDoneBefore {
			t.Errorf("second run: %+v, %v", rep, err)
		}
		b, err := stepUserNameKeys.Batch(ctx, e.s, e.tenant, "", false)
		if err != nil || b.Changed != 0 {
			t.Errorf("step run again: %+v, %v", b, err)
		}
		checkClean(t, e)
		// Every old key is gone.
		for _, u := range old {
			if k := legacyUserNameKey(u.UserName); k != UserNameKey(u.UserName) {
				if n, err := e.rdb.HExists(ctx, userNameIndexKey(e.tenant), k).Result(); err != nil || n {
					t.Errorf("old key %q left: %v, %v", k, n, err)
				}
			}
		}
	})
}

// TestMigrateScriptBranches runs each reply of the two migration scripts.
func TestMigrateScriptBranches(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "\uff21nn", func(u *User) { u.ExternalID = "ext-1" }), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "bo", func(u *User) { u.ExternalID = "ext-2" }), nil))
		legacy := legacyUserExternalIDIndexKey(e.tenant)
		ext := func(value, id string) (int64, error) {
			return e.s.runCounting(ctx, "test", migrateUserExternalIDScript,
				[]string{legacy, userExternalIDIndexKey(e.tenant, value), userKey(e.tenant, id)}, []any{value, id})
		}
		redisDo(t, e, "SREM", userExternalIDIndexKey(e.tenant, "ext-1"), "u1")
		redisDo(t, e, "HSET", legacy, "ext-1", "u1", "ext-x", "u2")
		for _, tt := range []struct {
			name      string
			value, id string
			want      int64
		}{
			{"moved", "ext-1", "u1", 1},
			{"entry gone meanwhile", "ext-1", "u1", 0},
			{"entry names another id", "ext-x", "u1", 0},
			{"stale: dropped", "ext-x", "u2", 1},
		} {
			if n, err := ext(tt.value, tt.id); err != nil || n != tt.want {
				t.Errorf("%s: %d, %v; want %d", tt.name, n, err, tt.want)
			}
		}
		if d := cmp.Diff([]string{"u1"}, findUsers(t, e, UserByExternalID, "ext-1")); d != "" {
			t.Errorf("ext-1 (-want +got):\n%s", d)
		}
		if got := findUsers(t, e, UserByExternalID, "ext-x"); len(got) != 0 {
			t.Errorf("stale ext-x finds %v", got)
		}

		idx := userNameIndexKey(e.tenant)
		name := func(id, userName string) (int64, error) {
			return e.s.runCounting(ctx, "test", migrateUserNameScript, []string{idx, userKey(e.tenant, id)},
				[]any{id, userName, UserNameKey(userName), legacyUserNameKey(userName)})
		}
		legacyUserName(t, e, user("u1", "\uff21nn"))
		n, err := name("u1", "other")
		if err != nil || n != 0 {
			t.Errorf("userName changed since the read: %d, %v", n, err)
		}
		if n, err = name("u1", "\uff21nn"); err != nil || n != 1 {
			t.Errorf("re-keyed: %d, %v", n, err)
		}
		if n, err = name("u1", "\uff21nn"); err != nil || n != 0 {
			t.Errorf("already keyed: %d, %v", n, err)
		}
		redisDo(t, e, "HSET", idx, legacyUserNameKey("\uff21nn"), "u1")
		if n, err = name("u1", "\uff21nn"); err != nil || n != 1 {
			t.Errorf("keyed, old entry left: %d, %v", n, err)
		}
		redisDo(t, e, "HSET", idx, "bo", "u1")
		_, err = name("u2", "bo")
		checkErr(t, err, &UniquenessError{"userName", "u1"})
	})
}
