package storage

import (
	"context"
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
