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
// of its identifiers is held, and otherwise writes nothing and returns
// ErrMayLink with the holders, each identifier's as FindUsers answers, the
// tenant's MatchBy and the holders' records; CreateUser then creates beside
// a held email as before.
func TestCreateUserUnlinked(t *testing.T) {
	run(t, Options{}, 1000, func(t *testing.T, e env) {
		ctx := t.Context()
		ids := func(m, n string) func(*User) {
			return func(u *User) { u.WorkEmail, u.EmployeeNumber = m, n }
		}
		manual := func(u *User) { u.ManagedBy = "manual" }
		m1 := user("m1", "held@x", ids("Shared@X", "7"), manual)
		s2 := user("s2", "other@x", ids("shared@x", "8"))
		must(t, e.s.CreateUser(ctx, e.tenant, m1, nil))
		must(t, e.s.CreateUser(ctx, e.tenant, s2, nil))
		for _, tc := range []struct {
			name string
			u    User
			want Holders // zero: created
		}{
			{"new", user("u1", "new@x", ids("new@x", "1")), Holders{}},
			{"no identifiers but userName", user("u2", "bare@x"), Holders{}},
			{"email held", user("u3", "u3@x", ids("SHARED@x", "")),
				Holders{WorkEmail: []string{"m1", "s2"}, Users: []User{m1, s2}}},
			{"employeeNumber held", user("u4", "u4@x", ids("", "7")),
				Holders{EmployeeNumber: []string{"m1"}, Users: []User{m1}}},
			{"userName held", user("u5", "HELD@x"),
				Holders{UserName: []string{"m1"}, Users: []User{m1}}},
			{"each by another", user("u6", "held@x", ids("shared@x", "8")),
				Holders{UserName: []string{"m1"}, WorkEmail: []string{"m1", "s2"}, EmployeeNumber: []string{"s2"}, Users: []User{m1, s2}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h, err := e.s.CreateUserUnlinked(ctx, e.tenant, tc.u, []byte(`{"e":1}`))
				created := tc.want.Users == nil
				if created {
					must(t, err)
				} else {
					checkErr(t, err, ErrMayLink)
				}
				if d := cmp.Diff(tc.want, h, cmpopts.SortSlices(func(a, b User) bool { return a.ID < b.ID })); d != "" {
					t.Errorf("holders (-want +got):\n%s", d)
				}
				_, gerr := e.s.GetUser(ctx, e.tenant, tc.u.ID)
				if got := gerr == nil; got != created {
					t.Errorf("created %v, want %v", got, created)
				}
			})
		}
		seats, err := e.s.SeatsUsed(ctx, e.tenant)
		must(t, err)
		if seats != 4 {
			t.Errorf("seats %d, want 4: a refusal took one", seats)
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("u3", "u3@x", ids("shared@x", "")), nil))

		t.Run("the tenant's matchBy", func(t *testing.T) {
			for stored, want := range map[string][]string{"email,userName": {"email", "userName"}, noMatchBy: {}} {
				redisDo(t, e, "HSET", tenantKey(e.tenant), fMatchBy, stored)
				h, err := e.s.CreateUserUnlinked(ctx, e.tenant, user("u7", "held@x"), nil)
				checkErr(t, err, ErrMayLink)
				if d := cmp.Diff(want, h.MatchBy); d != "" {
					t.Errorf("MatchBy of %q (-want +got):\n%s", stored, d)
				}
			}
			redisDo(t, e, "HDEL", tenantKey(e.tenant), fMatchBy)
		})
		t.Run("a holder whose record is gone", func(t *testing.T) {
			redisDo(t, e, "SADD", userEmployeeNumberIndexKey(e.tenant, "9"), "gone")
			h, err := e.s.CreateUserUnlinked(ctx, e.tenant, user("u8", "u8@x", ids("", "9")), nil)
			checkErr(t, err, ErrMayLink)
			if d := cmp.Diff(Holders{EmployeeNumber: []string{"gone"}, Users: []User{}}, h); d != "" {
				t.Errorf("holders (-want +got):\n%s", d)
			}
		})
		t.Run("more holders than the refusal reads", func(t *testing.T) {
			var want []string
			for i := range 60 {
				id := fmt.Sprintf("many%02d", i)
				must(t, e.s.CreateUser(ctx, e.tenant, user(id, id+"@x", ids("many@x", "")), nil))
				want = append(want, id)
			}
			h, err := e.s.CreateUserUnlinked(ctx, e.tenant, user("u9", "u9@x", ids("many@x", "")), nil)
			checkErr(t, err, ErrMayLink)
			if d := cmp.Diff(want, h.WorkEmail); d != "" {
				t.Errorf("holders (-want +got):\n%s", d)
			}
			if len(h.Users) != 60 {
				t.Errorf("%d records, want 60", len(h.Users))
			}
		})
	})
}
