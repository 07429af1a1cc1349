package storage

import (
	"errors"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRoleFullAccessForms: a role record written before roles said
// fullAccess reads with FullAccess nil (the policies then decide its
// default); one that says it keeps what it says.
func TestRoleFullAccessForms(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		// As the previous release wrote it.
		must(t, e.rdb.HSet(ctx, rolesKey(e.tenant), "Old Chief", `{"level":"enterprise","permissions":["publish"],"groupManager":false}`).Err())
		yes, no := true, false
		for _, r := range []Role{
			{Name: "Chief", Level: "enterprise", Permissions: []string{"publish"}, FullAccess: &yes},
			{Name: "Observer", Level: "enterprise", Permissions: []string{"publish"}, FullAccess: &no},
		} {
			_, err := e.s.PutRole(ctx, e.tenant, r, nil)
			must(t, err)
		}
		got, err := e.s.ListRoles(ctx, e.tenant)
		must(t, err)
		want := []Role{
			{Name: "Chief", Level: "enterprise", Permissions: []string{"publish"}, FullAccess: &yes},
			{Name: "Observer", Level: "enterprise", Permissions: []string{"publish"}, FullAccess: &no},
			{Name: "Old Chief", Level: "enterprise", Permissions: []string{"publish"}},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("roles (-want +got):\n%s", d)
		}
	})
}

// TestRoleInUse: a granted role neither changes level nor goes; grants
// checked against a custom role that moved are refused.
func TestRoleInUse(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		_, err := e.s.PutAccount(ctx, e.tenant, Account{ID: "news", Name: "News", Created: t0}, nil)
		must(t, err)
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g1", "Desk"), nil, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g2", "Chiefs"), nil, nil))
		desk := Role{Name: "Desk Chief", Level: "account", Permissions: []string{"publish"}}
		_, err = e.s.PutRole(ctx, e.tenant, desk, nil)
		must(t, err)
		levels := map[string]string{"Desk Chief": "account"}
		must(t, e.s.PutGrants(ctx, e.tenant, "g1", []Grant{{Scope: "account", Account: "news", Role: "Desk Chief"}, {Scope: "account", Account: "news", Role: "Editor"}}, levels, nil))
		must(t, e.s.PutGrants(ctx, e.tenant, "g2", []Grant{{Scope: "account", Account: "news", Role: "Desk Chief"}}, levels, nil))

		wantUses := []RoleUse{{Group: "g1", Scope: "account", Account: "news"}, {Group: "g2", Scope: "account", Account: "news"}}
		inUse := func(t *testing.T, err error) {
			t.Helper()
			var iu *RoleInUseError
			if !errors.As(err, &iu) {
				t.Fatalf("err = %v, want *RoleInUseError", err)
			}
			sort.Slice(iu.Uses, func(i, j int) bool { return iu.Uses[i].Group < iu.Uses[j].Group })
			if d := cmp.Diff(wantUses, iu.Uses); d != "" {
				t.Errorf("uses (-want +got):\n%s", d)
			}
		}
		moved := desk
		moved.Level = "enterprise"
		_, err = e.s.PutRole(ctx, e.tenant, moved, nil)
		inUse(t, err)
		inUse(t, e.s.DeleteRole(ctx, e.tenant, "Desk Chief", nil))
		// Same level: the permissions may change.
		desk.Permissions = []string{"publish", "edit_content"}
		created, err := e.s.PutRole(ctx, e.tenant, desk, nil)
		must(t, err)
		if created {
			t.Error("an update reported as a creation")
		}
		// Grants checked against a level the role no longer has.
		checkErr(t, e.s.PutGrants(ctx, e.tenant, "g1", nil, map[string]string{"Desk Chief": "enterprise"}, nil), ErrRoleChanged)

		must(t, e.s.PutGrants(ctx, e.tenant, "g1", nil, nil, nil))
		must(t, e.s.PutGrants(ctx, e.tenant, "g2", nil, nil, nil))
		must(t, e.s.DeleteRole(ctx, e.tenant, "Desk Chief", []byte(`{"e":1}`)))
		checkErr(t, e.s.DeleteRole(ctx, e.tenant, "Desk Chief", nil), ErrNotFound)
		checkErr(t, e.s.DeleteRole(ctx, "st-none", "Desk Chief", nil), ErrNotFound)
		// Grants naming a deleted custom role.
		checkErr(t, e.s.PutGrants(ctx, e.tenant, "g1", []Grant{{Scope: "account", Account: "news", Role: "Desk Chief"}}, levels, nil), ErrRoleChanged)
		roles, err := e.s.ListRoles(ctx, e.tenant)
		must(t, err)
		if len(roles) != 0 {
			t.Errorf("roles after delete: %v", roles)
		}
	})
}

// TestCheckRoleCaseDuplicates: roles stored before case-duplicate names were
// refused are flagged by Check, not repaired, and still read.
func TestCheckRoleCaseDuplicates(t *testing.T) {
	run(t, Options{BuiltinRoles: []string{"Editor", "Viewer"}}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, name := range []string{"editor", "Desk Chief", "desk chief", "Publisher Plus"} {
			_, err := e.s.PutRole(ctx, e.tenant, Role{Name: name, Level: "account", Permissions: []string{"publish"}}, nil)
			must(t, err)
		}
		rep, err := e.s.Check(ctx, e.tenant, true)
		must(t, err)
		var got []string
		for _, f := range rep.Findings {
			if f.Kind != FindingRoleCaseDuplicate || f.Repaired {
				t.Errorf("finding %+v", f)
				continue
			}
			got = append(got, f.Entry+": "+f.Detail)
		}
		want := []string{
			`desk chief: custom roles "Desk Chief" and "desk chief" differ only by case: rename one (create it under another name, move its grants, delete it)`,
			`editor: custom role "editor" differs from the built-in role "Editor" only by case: create it under another name, move its grants, delete it`,
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("findings (-want +got):\n%s", d)
		}
		roles, err := e.s.ListRoles(ctx, e.tenant)
		must(t, err)
		if len(roles) != 4 {
			t.Errorf("roles read %d, want 4", len(roles))
		}
	})
}
