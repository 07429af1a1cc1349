package storage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCreateUser(t *testing.T) {
	run(t, Options{}, 2, func(t *testing.T, e env) {
		ctx := t.Context()
		alice := user("u1", "Alice", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "ext-1", "Alice@Example.com", "1001"
		})
		must(t, e.s.CreateUser(ctx, e.tenant, alice, nil))

		// The cases run in order on one tenant (limit 2, alice holds a seat).
		tests := []struct {
			name   string
			tenant string
			u      User
			want   error
			seats  int64
		}{
			{"created", e.tenant, user("u2", "bob"), nil, 2},
			{"userName held, other case", e.tenant, user("u3", "ALICE"), &UniquenessError{"userName", "u1"}, 2},
			{"externalId repeats", e.tenant, user("u3", "carol", inactive, func(u *User) { u.ExternalID = "ext-1" }), nil, 2},
			{"no seat left", e.tenant, user("u4", "dave"), &LicenseError{Limit: 2, Used: 2}, 2},
			{"inactive needs no seat", e.tenant, user("u4", "dave", inactive), nil, 2},
			{"empty externalId is not unique", e.tenant, user("u5", "erin", inactive), nil, 2},
			{"id taken", e.tenant, user("u1", "frank"), ErrExists, 2},
			{"no tenant", randomTenantID(t), user("u6", "gina"), ErrNotFound, 2},
			{"invalid tenant", "a}b", user("u6", "gina"), ErrNotFound, 2},
			{"invalid id", e.tenant, user("u:6", "gina"), errPlain, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, e.s.CreateUser(ctx, tt.tenant, tt.u, nil), tt.want)
				seats, err := e.s.SeatsUsed(ctx, e.tenant)
				must(t, err)
				if seats != tt.seats {
					t.Errorf("SeatsUsed = %d, want %d", seats, tt.seats)
				}
			})
		}

		got, err := e.s.GetUser(ctx, e.tenant, "u1")
		must(t, err)
		if d := cmp.Diff(alice, got); d != "" {
			t.Errorf("GetUser (-want +got):\n%s", d)
		}
		ids, total, err := e.s.PageUsers(ctx, e.tenant, 0, 10)
		must(t, err)
		if d := cmp.Diff([]string{"u1", "u2", "u3", "u4", "u5"}, ids); d != "" || total != 5 {
			t.Errorf("PageUsers total %d (-want +got):\n%s", total, d)
		}
		// A refused create left no index entry behind.
		found, err := e.s.FindUsers(ctx, e.tenant, UserByUserName, "dave")
		must(t, err)
		if d := cmp.Diff([]string{"u4"}, found); d != "" {
			t.Errorf("FindUsers(dave) (-want +got):\n%s", d)
		}
	})
}

func TestFindUsers(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "Alice", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "ext-1", "Shared@Example.com", "42"
		}), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "bob", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "ext-1", "shared@example.COM", "42"
		}), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u3", "carl", func(u *User) { u.ExternalID = "EXT-1" }), nil))
		tests := []struct {
			name  string
			by    UserIndex
			value string
			want  []string
		}{
			{"userName any case", UserByUserName, "aLiCe", []string{"u1"}},
			{"userName missing", UserByUserName, "carol", nil},
			{"externalId repeats", UserByExternalID, "ext-1", []string{"u1", "u2"}},
			{"externalId is case-sensitive", UserByExternalID, "EXT-1", []string{"u3"}},
			{"externalId missing", UserByExternalID, "ext-2", nil},
			{"externalId empty", UserByExternalID, "", nil},
			{"work email any case", UserByWorkEmail, "SHARED@example.com", []string{"u1", "u2"}},
			{"work email empty", UserByWorkEmail, "", nil},
			{"employeeNumber", UserByEmployeeNumber, "42", []string{"u1", "u2"}},
			{"employeeNumber missing", UserByEmployeeNumber, "43", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := e.s.FindUsers(ctx, e.tenant, tt.by, tt.value)
				must(t, err)
				if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("FindUsers (-want +got):\n%s", d)
				}
			})
		}
		_, err := e.s.FindUsers(ctx, e.tenant, UserIndex(99), "x")
		checkErr(t, err, errPlain)

	})
}

func TestUpdateUser(t *testing.T) {
	run(t, Options{}, 2, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("a", "alice", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "ext-a", "Alice@X.com", "1"
		}), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("b", "bob", func(u *User) { u.ExternalID = "ext-b" }), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("c", "carol", inactive), nil))

		// The cases run in order on one tenant (limit 2; a and b hold the seats).
		// change edits the next version; stale edits the record passed as prev.
		tests := []struct {
			name   string
			tenant string
			id     string
			change func(u *User)
			stale  func(prev *User)
			want   error
			seats  int64
		}{
			{"move every index", e.tenant, "a", func(u *User) {
				u.UserName, u.ExternalID, u.WorkEmail, u.EmployeeNumber = "alicia", "ext-a2", "alicia@x.com", "2"
			}, nil, nil, 2},
			{"userName case only", e.tenant, "a", func(u *User) { u.UserName = "ALICIA" }, nil, nil, 2},
			{"drop optional values", e.tenant, "a", func(u *User) {
				u.ExternalID, u.WorkEmail, u.EmployeeNumber = "", "", ""
			}, nil, nil, 2},
			{"userName held", e.tenant, "a", func(u *User) { u.UserName = "BOB" }, nil,
				&UniquenessError{"userName", "b"}, 2},
			{"externalId repeats", e.tenant, "a", func(u *User) { u.ExternalID = "ext-b" }, nil, nil, 2},
			{"stale version", e.tenant, "a", func(u *User) { u.Doc = []byte(`{}`) },
				func(prev *User) { prev.Version-- }, ErrVersionConflict, 2},
			{"prev index values not the stored ones", e.tenant, "a", func(u *User) { u.Doc = []byte(`{}`) },
				func(prev *User) { prev.WorkEmail = "other@x.com" }, ErrVersionConflict, 2},
			{"reactivation without a seat", e.tenant, "c", func(u *User) { u.Active = true }, nil,
				&LicenseError{Limit: 2, Used: 2}, 2},
			{"deactivation frees a seat", e.tenant, "b", func(u *User) { u.Active = false }, nil, nil, 1},
			{"reactivation takes a seat", e.tenant, "c", func(u *User) { u.Active = true }, nil, nil, 2},
			{"no such user", e.tenant, "zz", nil, nil, ErrNotFound, 2},
			{"no such tenant", randomTenantID(t), "a", nil, nil, ErrNotFound, 2},
			{"version not prev+1", e.tenant, "a", func(u *User) { u.Version++ }, nil, errPlain, 2},
			{"other id", e.tenant, "a", func(u *User) { u.ID = "b" }, nil, errPlain, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				prev, err := e.s.GetUser(ctx, e.tenant, tt.id)
				if err != nil {
					prev = user(tt.id, "ghost") // for the not-found cases
				}
				if tt.stale != nil {
					tt.stale(&prev)
				}
				next := prev
				next.Version = prev.Version + 1
				next.Modified = prev.Modified.Add(time.Minute)
				if tt.change != nil {
					tt.change(&next)
				}
				err = e.s.UpdateUser(ctx, tt.tenant, prev, next, []byte(`{"op":"update"}`))
				checkErr(t, err, tt.want)
				seats, serr := e.s.SeatsUsed(ctx, e.tenant)
				must(t, serr)
				if seats != tt.seats {
					t.Errorf("SeatsUsed = %d, want %d", seats, tt.seats)
				}
				if err != nil {
					return
				}
				got, err := e.s.GetUser(ctx, e.tenant, tt.id)
				must(t, err)
				if d := cmp.Diff(next, got); d != "" {
					t.Errorf("GetUser (-want +got):\n%s", d)
				}
			})
		}
	})
}

// After updates, each index answers the new values only.
func TestUpdateUserMovesIndexes(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		prev := user("a", "Alice", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "ext-a", "Alice@X.com", "1"
		})
		must(t, e.s.CreateUser(ctx, e.tenant, prev, nil))
		next := prev
		next.Version = 2
		next.UserName, next.ExternalID, next.WorkEmail, next.EmployeeNumber = "Zed", "ext-z", "zed@x.com", "9"
		must(t, e.s.UpdateUser(ctx, e.tenant, prev, next, nil))
		// The old userName is free again.
		must(t, e.s.CreateUser(ctx, e.tenant, user("b", "alice", func(u *User) { u.ExternalID = "ext-a" }), nil))

		tests := []struct {
			by    UserIndex
			value string
			want  []string
		}{
			{UserByUserName, "alice", []string{"b"}},
			{UserByUserName, "zed", []string{"a"}},
			{UserByExternalID, "ext-a", []string{"b"}},
			{UserByExternalID, "ext-z", []string{"a"}},
			{UserByWorkEmail, "alice@x.com", nil},
			{UserByWorkEmail, "ZED@x.com", []string{"a"}},
			{UserByEmployeeNumber, "1", nil},
			{UserByEmployeeNumber, "9", []string{"a"}},
		}
		for _, tt := range tests {
			got, err := e.s.FindUsers(ctx, e.tenant, tt.by, tt.value)
			must(t, err)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("FindUsers(%d, %q) (-want +got):\n%s", tt.by, tt.value, d)
			}
		}
		got, err := e.s.UsersWithUserNamePrefix(ctx, e.tenant, "", 10)
		must(t, err)
		if d := cmp.Diff([]string{"b", "a"}, got); d != "" {
			t.Errorf("UsersWithUserNamePrefix (-want +got):\n%s", d)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		a := user("a", "Alice", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "ext-a", "a@x.com", "1"
		})
		must(t, e.s.CreateUser(ctx, e.tenant, a, nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("b", "bob"), nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g1", "One"), []string{"a", "b"}, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g2", "Two"), []string{"a"}, nil))

		must(t, e.s.DeleteUser(ctx, e.tenant, "a", []byte(`{"op":"delete"}`)))

		_, err := e.s.GetUser(ctx, e.tenant, "a")
		checkErr(t, err, ErrNotFound)
		for _, g := range []struct {
			id   string
			want []string
		}{{"g1", []string{"b"}}, {"g2", nil}} {
			got, err := e.s.GroupMembers(ctx, e.tenant, g.id)
			must(t, err)
			if d := cmp.Diff(g.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("GroupMembers(%s) (-want +got):\n%s", g.id, d)
			}
		}
		for _, f := range []struct {
			by    UserIndex
			value string
		}{{UserByUserName, "alice"}, {UserByExternalID, "ext-a"}, {UserByWorkEmail, "a@x.com"}, {UserByEmployeeNumber, "1"}} {
			got, err := e.s.FindUsers(ctx, e.tenant, f.by, f.value)
			must(t, err)
			if len(got) != 0 {
				t.Errorf("FindUsers(%d, %q) = %v after delete", f.by, f.value, got)
			}
		}
		prefixed, err := e.s.UsersWithUserNamePrefix(ctx, e.tenant, "a", 10)
		must(t, err)
		if len(prefixed) != 0 {
			t.Errorf("UsersWithUserNamePrefix = %v after delete", prefixed)
		}
		ids, total, err := e.s.PageUsers(ctx, e.tenant, 0, 10)
		must(t, err)
		if d := cmp.Diff([]string{"b"}, ids); d != "" || total != 1 {
			t.Errorf("PageUsers total %d (-want +got):\n%s", total, d)
		}
		seats, err := e.s.SeatsUsed(ctx, e.tenant)
		must(t, err)
		if seats != 1 {
			t.Errorf("SeatsUsed = %d, want 1", seats)
		}
		groups, err := e.s.UserGroups(ctx, e.tenant, "a")
		must(t, err)
		if len(groups) != 0 {
			t.Errorf("UserGroups = %v after delete", groups)
		}
		for _, k := range []string{userKey(e.tenant, "a"), userGroupsKey(e.tenant, "a")} {
			if n := e.rdb.Exists(ctx, k).Val(); n != 0 {
				t.Errorf("%s still exists", k)
			}
		}

		// An inactive user frees no seat.
		must(t, e.s.CreateUser(ctx, e.tenant, user("c", "carol", inactive), nil))
		must(t, e.s.DeleteUser(ctx, e.tenant, "c", nil))
		seats, err = e.s.SeatsUsed(ctx, e.tenant)
		must(t, err)
		if seats != 1 {
			t.Errorf("SeatsUsed = %d after deleting an inactive user, want 1", seats)
		}

		checkErr(t, e.s.DeleteUser(ctx, e.tenant, "a", nil), ErrNotFound)
		checkErr(t, e.s.DeleteUser(ctx, e.tenant, "a:groups", nil), ErrNotFound)
		checkErr(t, e.s.DeleteUser(ctx, randomTenantID(t), "b", nil), ErrNotFound)
	})
}

// The script refuses a read that no longer holds (DeleteUser then reads again)
// and checks that the tenant and user still exist.
func TestDeleteUserRetry(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("a", "alice"), nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g1", "One"), []string{"a"}, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g2", "Two"), nil, nil))
		snap, err := e.s.readUserForDelete(ctx, e.tenant, "a")
		must(t, err)

		tests := []struct {
			name  string
			stale func(s *userSnapshot)
		}{
			{"a group joined since", func(s *userSnapshot) { s.groups = nil }},
			{"a group left since", func(s *userSnapshot) { s.groups = append(s.groups, "g2") }},
			{"same count, other group", func(s *userSnapshot) { s.groups = []string{"g2"} }},
			{"version moved", func(s *userSnapshot) { s.version = "7" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				stale := snap
				stale.groups = append([]string(nil), snap.groups...)
				tt.stale(&stale)
				checkErr(t, e.s.deleteUser(ctx, e.tenant, stale, nil), errRetry)
				if _, err := e.s.GetUser(ctx, e.tenant, "a"); err != nil {
					t.Fatalf("user gone after a refused delete: %v", err)
				}
			})
		}
		// Gone between the read and the script: the script's own checks.
		gone := snap
		gone.id = "nobody"
		checkErr(t, e.s.deleteUser(ctx, e.tenant, gone, nil), ErrNotFound)
		checkErr(t, e.s.deleteUser(ctx, randomTenantID(t), snap, nil), ErrNotFound)

		checkErr(t, e.s.deleteUser(ctx, e.tenant, snap, nil), nil)
	})
}

func TestGetUsers(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		a, b := user("a", "alice"), user("b", "bob", inactive)
		must(t, e.s.CreateUser(ctx, e.tenant, a, nil))
		must(t, e.s.CreateUser(ctx, e.tenant, b, nil))
		got, err := e.s.GetUsers(ctx, e.tenant, []string{"b", "missing", "a", "bad:id"})
		must(t, err)
		if d := cmp.Diff([]User{b, a}, got); d != "" {
			t.Errorf("GetUsers (-want +got):\n%s", d)
		}
		got, err = e.s.GetUsers(ctx, e.tenant, nil)
		must(t, err)
		if len(got) != 0 {
			t.Errorf("GetUsers(nil) = %v", got)
		}
		_, err = e.s.GetUser(ctx, e.tenant, "missing")
		checkErr(t, err, ErrNotFound)
		_, err = e.s.GetUser(ctx, e.tenant, "a:groups")
		checkErr(t, err, ErrNotFound)
	})
}

func TestUsersWithUserNamePrefix(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, u := range []User{user("u1", "alice"), user("u2", "Alfred"), user("u3", "ALINA"), user("u4", "bob"), user("u5", "al")} {
			must(t, e.s.CreateUser(ctx, e.tenant, u, nil))
		}
		tests := []struct {
			prefix string
			limit  int
			want   []string
		}{
			{"AL", 10, []string{"u5", "u2", "u1", "u3"}},
			{"al", 2, []string{"u5", "u2"}},
			{"ali", 10, []string{"u1", "u3"}},
			{"alice", 10, []string{"u1"}},
			{"alicex", 10, nil},
			{"", 10, []string{"u5", "u2", "u1", "u3", "u4"}},
			{"b", 0, nil},
		}
		for _, tt := range tests {
			got, err := e.s.UsersWithUserNamePrefix(ctx, e.tenant, tt.prefix, tt.limit)
			must(t, err)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("prefix %q limit %d (-want +got):\n%s", tt.prefix, tt.limit, d)
			}
		}
	})
}

func TestPageUsers(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, id := range []string{"u1", "u2", "u3", "u4", "u5"} {
			must(t, e.s.CreateUser(ctx, e.tenant, user(id, "n"+id), nil))
		}
		tests := []struct {
			offset, count int
			want          []string
		}{
			{0, 2, []string{"u1", "u2"}},
			{2, 2, []string{"u3", "u4"}},
			{4, 2, []string{"u5"}},
			{5, 2, nil},
			{-1, 1, []string{"u1"}},
			{0, 0, nil},
		}
		for _, tt := range tests {
			got, total, err := e.s.PageUsers(ctx, e.tenant, tt.offset, tt.count)
			must(t, err)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" || total != 5 {
				t.Errorf("PageUsers(%d, %d) total %d (-want +got):\n%s", tt.offset, tt.count, total, d)
			}
		}
	})
}

func TestScanUsers(t *testing.T) {
	run(t, Options{ScanBatch: 3}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, id := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"} {
			must(t, e.s.CreateUser(ctx, e.tenant, user(id, "n"+id), nil))
		}
		batchIDs := func(stopAfter int, during func()) [][]string {
			var got [][]string
			must(t, e.s.ScanUsers(ctx, e.tenant, func(us []User) bool {
				var ids []string
				for _, u := range us {
					ids = append(ids, u.ID)
				}
				got = append(got, ids)
				if len(got) == 1 && during != nil {
					during()
				}
				return len(got) < stopAfter
			}))
			return got
		}
		if d := cmp.Diff([][]string{{"u1", "u2", "u3"}, {"u4", "u5", "u6"}, {"u7"}}, batchIDs(10, nil)); d != "" {
			t.Errorf("all batches (-want +got):\n%s", d)
		}
		if d := cmp.Diff([][]string{{"u1", "u2", "u3"}}, batchIDs(1, nil)); d != "" {
			t.Errorf("stop after one (-want +got):\n%s", d)
		}
		// Deleting a scanned and an unscanned user mid-scan shifts nothing.
		del := func() {
			must(t, e.s.DeleteUser(ctx, e.tenant, "u2", nil))
			must(t, e.s.DeleteUser(ctx, e.tenant, "u5", nil))
		}
		if d := cmp.Diff([][]string{{"u1", "u2", "u3"}, {"u4", "u6", "u7"}}, batchIDs(10, del)); d != "" {
			t.Errorf("delete during scan (-want +got):\n%s", d)
		}
	})
}
