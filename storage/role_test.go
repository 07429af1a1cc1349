package storage

import (
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
