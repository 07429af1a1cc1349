package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// checkMembers checks a group's members as GroupMembers, UserGroups (the
// reverse index) and IsMember see them, for each of users.
func checkMembers(t *testing.T, e env, groupID string, want []string, users ...string) {
	t.Helper()
	ctx := t.Context()
	got, err := e.s.GroupMembers(ctx, e.tenant, groupID)
	must(t, err)
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("GroupMembers(%s) (-want +got):\n%s", groupID, d)
	}
	in := make(map[string]bool)
	for _, m := range want {
		in[m] = true
	}
	batch, err := e.s.UsersGroups(ctx, e.tenant, users)
	must(t, err)
	for i, u := range users {
		groups, err := e.s.UserGroups(ctx, e.tenant, u)
		must(t, err)
		if d := cmp.Diff(groups, batch[i], cmpopts.EquateEmpty()); d != "" {
			t.Errorf("UsersGroups[%s] differs from UserGroups (-one +batch):\n%s", u, d)
		}
		has := false
		for _, g := range groups {
			has = has || g == groupID
		}
		if has != in[u] {
			t.Errorf("UserGroups(%s) = %v: holds %s is %v, want %v", u, groups, groupID, has, in[u])
		}
		member, err := e.s.IsMember(ctx, e.tenant, groupID, u)
		must(t, err)
		if member != in[u] {
			t.Errorf("IsMember(%s, %s) = %v, want %v", groupID, u, member, in[u])
		}
	}
}

func createUsers(t *testing.T, e env, ids ...string) {
	t.Helper()
	for _, id := range ids {
		must(t, e.s.CreateUser(t.Context(), e.tenant, user(id, "user-"+id, inactive), nil))
	}
}

func TestCreateGroup(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		createUsers(t, e, "u1", "u2", "u3")
		g1 := group("g1", "Admins")
		g1.ExternalID, g1.ManagedBy = "ext-g", "manual" // kept, compared below

		tests := []struct {
			name    string
			tenant  string
			g       Group
			members []string
			want    error
		}{
			{"created with members", e.tenant, g1, []string{"u1", "u2", "u1"}, nil},
			{"displayName held, other case", e.tenant, group("g2", "ADMINS"), nil, &UniquenessError{"displayName", "g1"}},
			{"member not found", e.tenant, group("g2", "Ops"), []string{"u3", "ghost"}, ErrMemberNotFound},
			{"member id invalid", e.tenant, group("g2", "Ops"), []string{"u3", "u3:groups"}, ErrMemberNotFound},
			{"id taken", e.tenant, group("g1", "Other"), nil, ErrExists},
			{"no tenant", randomTenantID(t), group("g3", "Sales"), nil, ErrNotFound},
			{"invalid id", e.tenant, group("g:3", "Sales"), nil, errPlain},
			{"externalId is not unique", e.tenant, func() Group { g := group("g4", "Dev"); g.ExternalID = "ext-g"; return g }(), nil, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkErr(t, e.s.CreateGroup(ctx, tt.tenant, tt.g, tt.members, []byte(`{"op":"create"}`)), tt.want)
			})
		}

		got, err := e.s.GetGroup(ctx, e.tenant, "g1")
		must(t, err)
		if d := cmp.Diff(g1, got); d != "" {
			t.Errorf("GetGroup (-want +got):\n%s", d)
		}
		checkMembers(t, e, "g1", []string{"u1", "u2"}, "u1", "u2", "u3")
		// The refused creates left nothing: no g2, no index entry, no reverse entry.
		_, err = e.s.GetGroup(ctx, e.tenant, "g2")
		checkErr(t, err, ErrNotFound)
		found, err := e.s.FindGroups(ctx, e.tenant, GroupByDisplayName, "ops")
		must(t, err)
		if len(found) != 0 {
			t.Errorf("FindGroups(ops) = %v", found)
		}
		groups, err := e.s.UserGroups(ctx, e.tenant, "u3")
		must(t, err)
		if len(groups) != 0 {
			t.Errorf("UserGroups(u3) = %v", groups)
		}
		ids, total, err := e.s.PageGroups(ctx, e.tenant, 0, 10)
		must(t, err)
		if d := cmp.Diff([]string{"g1", "g4"}, ids); d != "" || total != 2 {
			t.Errorf("PageGroups total %d (-want +got):\n%s", total, d)
		}
	})
}

func TestUpdateGroup(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		createUsers(t, e, "u1", "u2", "u3", "u4")
		g := group("g", "Admins")
		g.ExternalID = "ext-1"
		must(t, e.s.CreateGroup(ctx, e.tenant, g, []string{"u1", "u2"}, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("h", "Other"), nil, nil))
		all := []string{"u1", "u2", "u3", "u4"}

		// The cases run in order on group g.
		tests := []struct {
			name    string
			tenant  string
			id      string
			edit    func(g *Group)
			stale   func(prev *Group)
			change  MemberChange
			want    error
			members []string
		}{
			{"add and remove", e.tenant, "g", nil, nil,
				MemberChange{Add: []string{"u3", "u3"}, Remove: []string{"u1", "u4", "bad:id"}}, nil, []string{"u2", "u3"}},
			{"add an existing member", e.tenant, "g", nil, nil,
				MemberChange{Add: []string{"u2"}}, nil, []string{"u2", "u3"}},
			{"add then remove the same", e.tenant, "g", nil, nil,
				MemberChange{Add: []string{"u4"}, Remove: []string{"u4"}}, nil, []string{"u2", "u3"}},
			{"rename and move externalId", e.tenant, "g", func(g *Group) { g.DisplayName, g.ExternalID = "Admins 2", "ext-2" }, nil,
				MemberChange{}, nil, []string{"u2", "u3"}},
			{"displayName case only", e.tenant, "g", func(g *Group) { g.DisplayName = "ADMINS 2" }, nil,
				MemberChange{}, nil, []string{"u2", "u3"}},
			{"displayName held", e.tenant, "g", func(g *Group) { g.DisplayName = "other" }, nil,
				MemberChange{}, &UniquenessError{"displayName", "h"}, []string{"u2", "u3"}},
			{"member not found changes nothing", e.tenant, "g", func(g *Group) { g.DisplayName = "Renamed" }, nil,
				MemberChange{Add: []string{"u4", "ghost"}, Remove: []string{"u2"}}, ErrMemberNotFound, []string{"u2", "u3"}},
			{"replace", e.tenant, "g", nil, nil,
				MemberChange{Replace: true, Add: []string{"u1", "u3"}}, nil, []string{"u1", "u3"}},
			{"replace then remove", e.tenant, "g", nil, nil,
				MemberChange{Replace: true, Add: []string{"u2", "u4"}, Remove: []string{"u4"}}, nil, []string{"u2"}},
			{"replace with nothing", e.tenant, "g", nil, nil,
				MemberChange{Replace: true}, nil, nil},
			{"replace an empty group", e.tenant, "g", nil, nil,
				MemberChange{Replace: true, Add: []string{"u4"}}, nil, []string{"u4"}},
			{"stale version", e.tenant, "g", nil, func(prev *Group) { prev.Version-- },
				MemberChange{Add: []string{"u1"}}, ErrVersionConflict, []string{"u4"}},
			{"prev displayName not the stored one", e.tenant, "g", nil, func(prev *Group) { prev.DisplayName = "x" },
				MemberChange{}, ErrVersionConflict, []string{"u4"}},
			{"no such group", e.tenant, "zz", nil, nil, MemberChange{}, ErrNotFound, []string{"u4"}},
			{"no such tenant", randomTenantID(t), "g", nil, nil, MemberChange{}, ErrNotFound, []string{"u4"}},
			{"version not prev+1", e.tenant, "g", func(g *Group) { g.Version += 2 }, nil, MemberChange{}, errPlain, []string{"u4"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				prev, err := e.s.GetGroup(ctx, e.tenant, tt.id)
				if err != nil {
					prev = group(tt.id, "ghost") // for the not-found cases
				}
				stored := prev
				if tt.stale != nil {
					tt.stale(&prev)
				}
				next := prev
				next.Version = prev.Version + 1
				next.Modified = prev.Modified.Add(time.Minute)
				if tt.edit != nil {
					tt.edit(&next)
				}
				err = e.s.UpdateGroup(ctx, tt.tenant, prev, next, tt.change, []byte(`{"op":"update"}`))
				checkErr(t, err, tt.want)
				checkMembers(t, e, "g", tt.members, all...)
				got, gerr := e.s.GetGroup(ctx, e.tenant, "g")
				must(t, gerr)
				want := next
				if err != nil {
					want = stored
				}
				if tt.id == "g" {
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("GetGroup (-want +got):\n%s", d)
					}
				}
			})
		}

		for _, f := range []struct {
			by    GroupIndex
			value string
			want  []string
		}{
			{GroupByDisplayName, "admins", nil},
			{GroupByDisplayName, "admins 2", []string{"g"}},
			{GroupByDisplayName, "OTHER", []string{"h"}},
			{GroupByExternalID, "ext-1", nil},
			{GroupByExternalID, "ext-2", []string{"g"}},
			{GroupByExternalID, "", nil},
		} {
			got, err := e.s.FindGroups(ctx, e.tenant, f.by, f.value)
			must(t, err)
			if d := cmp.Diff(f.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("FindGroups(%d, %q) (-want +got):\n%s", f.by, f.value, d)
			}
		}
		_, err := e.s.FindGroups(ctx, e.tenant, GroupIndex(99), "x")
		checkErr(t, err, errPlain)
	})
}

// A replace whose read of the members no longer holds is refused by the
// script; UpdateGroup then reads again.
func TestUpdateGroupRetry(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		createUsers(t, e, "u1", "u2", "u3")
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g", "G"), []string{"u1", "u2"}, nil))
		prev, err := e.s.GetGroup(ctx, e.tenant, "g")
		must(t, err)
		next := prev
		next.Version++
		tests := []struct {
			name    string
			current []string
		}{
			{"a member left since", []string{"u1", "u2", "u3"}},
			{"a member joined since", []string{"u1"}},
			{"same count, other member", []string{"u1", "u3"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := e.s.updateGroup(ctx, e.tenant, prev, next, true, tt.current, []string{"u3"}, nil, nil)
				checkErr(t, err, errRetry)
				checkMembers(t, e, "g", []string{"u1", "u2"}, "u1", "u2", "u3")
			})
		}
		checkErr(t, e.s.updateGroup(ctx, e.tenant, prev, next, true, []string{"u2", "u1"}, []string{"u3"}, nil, nil), nil)
		checkMembers(t, e, "g", []string{"u3"}, "u1", "u2", "u3")
	})
}

func TestDeleteGroup(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		createUsers(t, e, "u1", "u2")
		g := group("g", "Admins")
		g.ExternalID = "ext"
		must(t, e.s.CreateGroup(ctx, e.tenant, g, []string{"u1", "u2"}, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("h", "Other"), []string{"u1"}, nil))

		// At a version it is not at (1 after the create), nothing goes.
		checkErr(t, e.s.DeleteGroupAt(ctx, e.tenant, "g", 2, nil), ErrVersionConflict)
		if _, err := e.s.GetGroup(ctx, e.tenant, "g"); err != nil {
			t.Fatalf("a refused delete removed the group: %v", err)
		}
		must(t, e.s.DeleteGroupAt(ctx, e.tenant, "g", 1, []byte(`{"op":"delete"}`)))
		checkErr(t, e.s.DeleteGroupAt(ctx, e.tenant, "g", 1, nil), ErrNotFound)

		_, err := e.s.GetGroup(ctx, e.tenant, "g")
		checkErr(t, err, ErrNotFound)
		_, err = e.s.GroupMembers(ctx, e.tenant, "g")
		checkErr(t, err, ErrNotFound)
		for _, u := range []struct {
			id   string
			want []string
		}{{"u1", []string{"h"}}, {"u2", nil}} {
			got, err := e.s.UserGroups(ctx, e.tenant, u.id)
			must(t, err)
			if d := cmp.Diff(u.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("UserGroups(%s) (-want +got):\n%s", u.id, d)
			}
		}
		for _, f := range []struct {
			by    GroupIndex
			value string
		}{{GroupByDisplayName, "admins"}, {GroupByExternalID, "ext"}} {
			got, err := e.s.FindGroups(ctx, e.tenant, f.by, f.value)
			must(t, err)
			if len(got) != 0 {
				t.Errorf("FindGroups(%d, %q) = %v after delete", f.by, f.value, got)
			}
		}
		ids, total, err := e.s.PageGroups(ctx, e.tenant, 0, 10)
		must(t, err)
		if d := cmp.Diff([]string{"h"}, ids); d != "" || total != 1 {
			t.Errorf("PageGroups total %d (-want +got):\n%s", total, d)
		}
		for _, k := range []string{groupKey(e.tenant, "g"), groupMembersKey(e.tenant, "g")} {
			if n := e.rdb.Exists(ctx, k).Val(); n != 0 {
				t.Errorf("%s still exists", k)
			}
		}
		// The name is free again.
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g2", "admins"), nil, nil))

		checkErr(t, e.s.DeleteGroup(ctx, e.tenant, "g", nil), ErrNotFound)
		checkErr(t, e.s.DeleteGroup(ctx, e.tenant, "g:members", nil), ErrNotFound)
		checkErr(t, e.s.DeleteGroup(ctx, randomTenantID(t), "h", nil), ErrNotFound)
	})
}

func TestDeleteGroupRetry(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		createUsers(t, e, "u1", "u2")
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g", "G"), []string{"u1"}, nil))
		snap, err := e.s.readGroupForDelete(ctx, e.tenant, "g")
		must(t, err)
		tests := []struct {
			name  string
			stale func(s *groupSnapshot)
		}{
			{"a member joined since", func(s *groupSnapshot) { s.members = nil }},
			{"a member left since", func(s *groupSnapshot) { s.members = append(s.members, "u2") }},
			{"same count, other member", func(s *groupSnapshot) { s.members = []string{"u2"} }},
			{"version moved", func(s *groupSnapshot) { s.version = "9" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				stale := snap
				stale.members = append([]string(nil), snap.members...)
				tt.stale(&stale)
				checkErr(t, e.s.deleteGroup(ctx, e.tenant, stale, nil), errRetry)
				checkMembers(t, e, "g", []string{"u1"}, "u1", "u2")
			})
		}
		// Gone between the read and the script: the script's own checks.
		gone := snap
		gone.id = "nothing"
		checkErr(t, e.s.deleteGroup(ctx, e.tenant, gone, nil), ErrNotFound)
		checkErr(t, e.s.deleteGroup(ctx, randomTenantID(t), snap, nil), ErrNotFound)

		checkErr(t, e.s.deleteGroup(ctx, e.tenant, snap, nil), nil)
	})
}

func TestGroupReads(t *testing.T) {
	run(t, Options{ScanBatch: 2}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		members := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}
		createUsers(t, e, members...)
		var want []Group
		for i := range 5 {
			g := group(fmt.Sprintf("g%d", i), fmt.Sprintf("Group %d", i))
			must(t, e.s.CreateGroup(ctx, e.tenant, g, members[:i], nil))
			want = append(want, g)
		}

		got, err := e.s.GetGroups(ctx, e.tenant, []string{"g3", "nope", "g1", "a:b"})
		must(t, err)
		if d := cmp.Diff([]Group{want[3], want[1]}, got); d != "" {
			t.Errorf("GetGroups (-want +got):\n%s", d)
		}

		var batches [][]Group
		must(t, e.s.ScanGroups(ctx, e.tenant, func(gs []Group) bool {
			batches = append(batches, gs)
			return true
		}))
		if d := cmp.Diff([][]Group{want[0:2], want[2:4], want[4:5]}, batches); d != "" {
			t.Errorf("ScanGroups (-want +got):\n%s", d)
		}
		batches = nil
		must(t, e.s.ScanGroups(ctx, e.tenant, func(gs []Group) bool {
			batches = append(batches, gs)
			return false
		}))
		if len(batches) != 1 {
			t.Errorf("ScanGroups went on after false: %d batches", len(batches))
		}

		ids, total, err := e.s.PageGroups(ctx, e.tenant, 1, 2)
		must(t, err)
		if d := cmp.Diff([]string{"g1", "g2"}, ids); d != "" || total != 5 {
			t.Errorf("PageGroups total %d (-want +got):\n%s", total, d)
		}

		// Bigger than ScanBatch: SSCAN takes several rounds.
		must(t, e.s.CreateGroup(ctx, e.tenant, group("big", "Big"), members, nil))
		checkMembers(t, e, "big", members, members...)
		_, err = e.s.GroupMembers(ctx, e.tenant, "nope")
		checkErr(t, err, ErrNotFound)
		_, err = e.s.GroupMembers(ctx, e.tenant, "big:members")
		checkErr(t, err, ErrNotFound)
		ok, err := e.s.IsMember(ctx, e.tenant, "big", "bad:id")
		must(t, err)
		if ok {
			t.Error("IsMember(bad id) = true")
		}
	})
}

// Adding a few members to a big group is a plain write; this checks it
// works and touches only what it should (timing belongs in a benchmark).
func TestAddMembersToBigGroup(t *testing.T) {
	const size = 1000
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		ids := make([]string, size+10)
		for i := range ids {
			ids[i] = fmt.Sprintf("u%04d", i)
		}
		createUsers(t, e, ids...)
		must(t, e.s.CreateGroup(ctx, e.tenant, group("big", "Big"), ids[:size], nil))
		prev, err := e.s.GetGroup(ctx, e.tenant, "big")
		must(t, err)
		next := prev
		next.Version++
		must(t, e.s.UpdateGroup(ctx, e.tenant, prev, next, MemberChange{Add: ids[size:]}, []byte(`{"op":"add"}`)))

		got, err := e.s.GroupMembers(ctx, e.tenant, "big")
		must(t, err)
		if d := cmp.Diff(ids, got); d != "" {
			t.Errorf("GroupMembers (-want +got):\n%s", d)
		}
		for _, id := range []string{ids[0], ids[size], ids[size+9]} {
			groups, err := e.s.UserGroups(ctx, e.tenant, id)
			must(t, err)
			if d := cmp.Diff([]string{"big"}, groups); d != "" {
				t.Errorf("UserGroups(%s) (-want +got):\n%s", id, d)
			}
		}
	})
}
