package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stampStep is a step for testing the runner: it sets field "stamp" on
// every user that lacks it, and leaves users named in refuse unresolved.
func stampStep(refuse ...string) MigrationStep {
	return MigrationStep{
		Name:    "test-stamp",
		Summary: "stamp every user",
		Batch: func(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
			ids, next, err := s.usersAfter(ctx, tenant, cursor)
			if err != nil {
				return MigrationBatch{}, err
			}
			b := MigrationBatch{Next: next, Examined: len(ids)}
			for _, id := range ids {
				if contains(refuse, id) {
					b.Unresolved = append(b.Unresolved, "user "+id+" refused")
					continue
				}
				has, err := s.rdb.HExists(ctx, userKey(tenant, id), "stamp").Result()
				if err != nil {
					return b, unavailable("stamp", err)
				}
				if has {
					continue
				}
				b.Changed++
				if !dry {
					if err := s.rdb.HSet(ctx, userKey(tenant, id), "stamp", "1").Err(); err != nil {
						return b, unavailable("stamp", err)
					}
				}
			}
			return b, nil
		},
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// stamped counts the users carrying the stamp.
func stamped(t *testing.T, e env, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		if ok, err := e.rdb.HExists(t.Context(), userKey(e.tenant, id), "stamp").Result(); err != nil {
			t.Fatal(err)
		} else if ok {
			n++
		}
	}
	return n
}

// TestMigrateRunner pins the runner: a dry run writes nothing, an
// interrupted run records its cursor and the next one resumes there, a
// finished step is not run again, and a step that leaves something
// unresolved is not recorded as done.
func TestMigrateRunner(t *testing.T) {
	run(t, Options{ScanBatch: 3}, 100, func(t *testing.T, e env) {
		ctx := t.Context()
		var ids []string
		for i := range 7 {
			id := fmt.Sprintf("u%d", i)
			ids = append(ids, id)
			if err := e.s.CreateUser(ctx, e.tenant, user(id, "name"+id), nil); err != nil {
				t.Fatal(err)
			}
		}
		step := stampStep()

		rep, err := e.s.Migrate(ctx, e.tenant, []MigrationStep{step}, true, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := MigrateReport{Tenant: e.tenant, DryRun: true, Steps: []MigrationStepReport{
			{Name: "test-stamp", State: MigrationPending, Examined: 7, Changed: 7, Unresolved: []string{}},
		}}
		if diff := cmp.Diff(want, rep); diff != "" {
			t.Errorf("dry run (-want +got):\n%s", diff)
		}
		if rep.Complete() {
			t.Error("a dry run with changes to make reads as complete")
		}
		if n := stamped(t, e, ids); n != 0 {
			t.Errorf("dry run stamped %d users", n)
		}
		for _, k := range []string{migrateDoneKey(e.tenant), migrateCursorKey(e.tenant)} {
			if n, err := e.rdb.Exists(ctx, k).Result(); err != nil || n != 0 {
				t.Errorf("dry run wrote %s: %d, %v", k, n, err)
			}
		}

		// Interrupted after its first batch: the cursor stays behind.
		stopCtx, stop := context.WithCancel(ctx)
		interrupted := step
		interrupted.Batch = func(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
			b, err := step.Batch(ctx, s, tenant, cursor, dry)
			stop()
			return b, err
		}
		rep, err = e.s.Migrate(stopCtx, e.tenant, []MigrationStep{interrupted}, false, t0)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted run: %v", err)
		}
		if got := rep.Steps[0]; got.State != MigrationStopped || got.Changed != 3 {
			t.Errorf("interrupted run: %+v", got)
		}
		if n := stamped(t, e, ids); n != 3 {
			t.Errorf("interrupted run stamped %d users, want 3", n)
		}
		cursor, err := e.rdb.HGet(ctx, migrateCursorKey(e.tenant), "test-stamp").Result()
		if err != nil {
			t.Fatalf("no cursor recorded: %v", err)
		}

		// Resumed: it starts at the cursor, so it examines only the rest.
		rep, err = e.s.Migrate(ctx, e.tenant, []MigrationStep{step}, false, t0)
		if err != nil {
			t.Fatal(err)
		}
		want = MigrateReport{Tenant: e.tenant, Steps: []MigrationStepReport{
			{Name: "test-stamp", State: MigrationDone, ResumedAt: cursor, Examined: 4, Changed: 4, Unresolved: []string{}},
		}}
		if diff := cmp.Diff(want, rep); diff != "" {
			t.Errorf("resumed run (-want +got):\n%s", diff)
		}
		if n := stamped(t, e, ids); n != 7 {
			t.Errorf("stamped %d users, want 7", n)
		}
		done, err := e.s.MigrationsDone(ctx, e.tenant)
		if err != nil || done["test-stamp"] != "2026-03-14T15:09:26Z" {
			t.Errorf("done %v, %v", done, err)
		}
		if n, err := e.rdb.HLen(ctx, migrateCursorKey(e.tenant)).Result(); err != nil || n != 0 {
			t.Errorf("cursor left behind: %d, %v", n, err)
		}

		// Done is done: the step does not run again, not even dry.
		for _, dry := range []bool{false, true} {
			rep, err = e.s.Migrate(ctx, e.tenant, []MigrationStep{step}, dry, t0)
			if err != nil || rep.Steps[0].State != MigrationDoneBefore || rep.Steps[0].Examined != 0 || !rep.Complete() {
				t.Errorf("dry %v after done: %+v, %v", dry, rep, err)
			}
		}

		// A step that leaves something unresolved is run whole again next time.
		refusing := stampStep("u1", "u5")
		refusing.Name = "test-refuse"
		for range 2 {
			rep, err = e.s.Migrate(ctx, e.tenant, []MigrationStep{refusing}, false, t0)
			if err != nil {
				t.Fatal(err)
			}
			want := MigrationStepReport{Name: "test-refuse", State: MigrationUnresolved, Examined: 7,
				Unresolved: []string{"user u1 refused", "user u5 refused"}}
			if diff := cmp.Diff(want, rep.Steps[0]); diff != "" || rep.Complete() {
				t.Errorf("unresolved step (-want +got):\n%s", diff)
			}
		}
	})
}

// TestMigrateNoTenant: a tenant that does not exist is ErrNotFound.
func TestMigrateNoTenant(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		_, err := e.s.Migrate(t.Context(), e.tenant+"-gone", nil, false, t0)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

// TestMigrateInterruptedAfterUnresolved: a run interrupted after a batch
// that left something unresolved, then resumed past that batch, does not
// record the step as done: the collision would otherwise never be reported
// again, and the step would read as finished while old-form data remains.
func TestMigrateInterruptedAfterUnresolved(t *testing.T) {
	run(t, Options{ScanBatch: 3}, 100, func(t *testing.T, e env) {
		ctx := t.Context()
		for i := range 7 {
			id := fmt.Sprintf("u%d", i)
			if err := e.s.CreateUser(ctx, e.tenant, user(id, "name"+id), nil); err != nil {
				t.Fatal(err)
			}
		}
		step := stampStep("u1") // unresolved in the first batch
		stopCtx, stop := context.WithCancel(ctx)
		interrupted := step
		interrupted.Batch = func(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error) {
			b, err := step.Batch(ctx, s, tenant, cursor, dry)
			stop()
			return b, err
		}
		if _, err := e.s.Migrate(stopCtx, e.tenant, []MigrationStep{interrupted}, false, t0); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted run: %v", err)
		}
		rep, err := e.s.Migrate(ctx, e.tenant, []MigrationStep{step}, false, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Steps[0]; got.State != MigrationUnresolved || rep.Complete() {
			t.Errorf("resumed run after an unresolved batch: %+v, complete %v; want unresolved", got, rep.Complete())
		}
		if done, err := e.s.MigrationsDone(ctx, e.tenant); err != nil || done["test-stamp"] != "" {
			t.Errorf("recorded as done: %v, %v", done, err)
		}
		// The next run starts over and lists it again.
		rep, err = e.s.Migrate(ctx, e.tenant, []MigrationStep{step}, false, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := MigrationStepReport{Name: "test-stamp", State: MigrationUnresolved, Examined: 7, Unresolved: []string{"user u1 refused"}}
		if diff := cmp.Diff(want, rep.Steps[0]); diff != "" {
			t.Errorf("run after (-want +got):\n%s", diff)
		}
	})
}
