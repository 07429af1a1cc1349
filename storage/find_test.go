package storage

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestFindAndGetUsers: the one-round-trip read answers what FindUsers then
// GetUsers answer, for every index, with repeats, legacy entries and index
// entries whose record is gone; past the limit it returns the ids alone.
func TestFindAndGetUsers(t *testing.T) {
	run(t, Options{}, 1000, func(t *testing.T, e env) {
		ctx := t.Context()
		withMail := func(m, n string) func(*User) {
			return func(u *User) { u.WorkEmail, u.EmployeeNumber, u.ExternalID = m, n, "ext-"+n }
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "Ann@X", withMail("shared@x", "7")), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "bob@x", withMail("Shared@X", "7")), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u3", "cy@x", withMail("cy@x", "8")), nil))
		// An index entry whose record is gone (an old replica's leftover),
		// and a legacy externalId hash entry naming u3 too.
		must(t, e.rdb.SAdd(ctx, userEmailIndexKey(e.tenant, "shared@x"), "ghost").Err())
		must(t, e.rdb.HSet(ctx, legacyUserExternalIDIndexKey(e.tenant), "ext-8", "u3").Err())

		for _, tc := range []struct {
			by    UserIndex
			value string
		}{
			{UserByUserName, "ann@x"},
			{UserByUserName, "ANN@X"},
			{UserByUserName, "nobody"},
			{UserByWorkEmail, "SHARED@x"},
			{UserByEmployeeNumber, "7"},
			{UserByEmployeeNumber, ""},
			{UserByExternalID, "ext-8"},
			{UserByExternalID, "ext-9"},
			{UserByExternalID, ""},
		} {
			t.Run(fmt.Sprintf("%d %s", tc.by, tc.value), func(t *testing.T) {
				wantIDs, err := e.s.FindUsers(ctx, e.tenant, tc.by, tc.value)
				must(t, err)
				wantUsers, err := e.s.GetUsers(ctx, e.tenant, wantIDs)
				must(t, err)
				ids, users, loaded, err := e.s.FindAndGetUsers(ctx, e.tenant, tc.by, tc.value, 10)
				must(t, err)
				if !loaded {
					t.Fatal("not loaded under the limit")
				}
				if d := cmp.Diff(wantIDs, ids, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("ids (-FindUsers +FindAndGetUsers):\n%s", d)
				}
				if d := cmp.Diff(wantUsers, users, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("users (-GetUsers +FindAndGetUsers):\n%s", d)
				}
				// Past the limit: the ids alone.
				if len(wantIDs) > 1 {
					ids, users, loaded, err := e.s.FindAndGetUsers(ctx, e.tenant, tc.by, tc.value, 1)
					must(t, err)
					if loaded || users != nil {
						t.Errorf("over the limit: loaded %v, %d users", loaded, len(users))
					}
					if d := cmp.Diff(wantIDs, ids); d != "" {
						t.Errorf("ids over the limit (-want +got):\n%s", d)
					}
				}
			})
		}
		if _, _, _, err := e.s.FindAndGetUsers(ctx, e.tenant, UserIndex(99), "x", 10); err == nil {
			t.Error("an unknown index was accepted")
		}
	})
}

// TestCreateUserUnlinked: a SCIM create writes in one round trip when none
// of its identifiers is held, and otherwise writes nothing and says why:
// ErrMayLink for a held work email or employeeNumber, *UniquenessError for
// a held userName; CreateUser then creates beside a held email as before.
func TestCreateUserUnlinked(t *testing.T) {
	run(t, Options{}, 1000, func(t *testing.T, e env) {
		ctx := t.Context()
		ids := func(m, n string) func(*User) {
			return func(u *User) { u.WorkEmail, u.EmployeeNumber = m, n }
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("m1", "held@x", ids("Shared@X", "7")), nil))
		for _, tc := range []struct {
			name string
			u    User
			want error
		}{
			{"new", user("u1", "new@x", ids("new@x", "1")), nil},
			{"no identifiers but userName", user("u2", "bare@x"), nil},
			{"email held", user("u3", "u3@x", ids("shared@x", "")), ErrMayLink},
			{"employeeNumber held", user("u4", "u4@x", ids("", "7")), ErrMayLink},
			{"userName held", user("u5", "HELD@x"), &UniquenessError{Attribute: "userName", HolderID: "m1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := e.s.CreateUserUnlinked(ctx, e.tenant, tc.u, []byte(`{"e":1}`))
				checkErr(t, err, tc.want)
				_, gerr := e.s.GetUser(ctx, e.tenant, tc.u.ID)
				if created := gerr == nil; created != (tc.want == nil) {
					t.Errorf("created %v, want %v", created, tc.want == nil)
				}
			})
		}
		seats, err := e.s.SeatsUsed(ctx, e.tenant)
		must(t, err)
		if seats != 3 {
			t.Errorf("seats %d, want 3: a refusal took one", seats)
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("u3", "u3@x", ids("shared@x", "")), nil))
	})
}
