package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// SeedDiffExampleForTest stores, in an existing tenant, users holding the
// Group Manager role beside others, for the tests of `scimd policy diff`
// and of the admin API's policy-diff: alice (u1) and erin (u5) also hold
// Auditor (a custom enterprise role scoring 7, below Enterprise Group
// Manager's 130), bob (u2) only Enterprise Group Manager, carol (u3) the
// same as alice but deactivated, dave (u4) only Auditor, frank (u6)
// Enterprise Admin too; erin is also a Publisher in the sub-account news.
// With PenaltyEditForTest's policies, alice and erin, and nobody else,
// change from Enterprise Group Manager to Auditor. Production code never
// calls it. Returns storage's errors.
func SeedDiffExampleForTest(ctx context.Context, st *storage.Store, tenant string, at time.Time) error {
	if _, err := st.PutAccount(ctx, tenant, storage.Account{ID: "news", Name: "News", Created: at}, nil); err != nil {
		return err
	}
	if _, err := st.PutRole(ctx, tenant, storage.Role{Name: "Auditor", Level: "enterprise", Permissions: []string{"view_content", "view_reports"}}, nil); err != nil {
		return err
	}
	for i, u := range []struct {
		id, name string
		active   bool
	}{{"u1", "alice", true}, {"u2", "bob", true}, {"u3", "carol", false}, {"u4", "dave", true}, {"u5", "erin", true}, {"u6", "frank", true}} {
		if err := st.CreateUser(ctx, tenant, storage.User{ID: u.id, Version: 1, Created: at.Add(time.Duration(i) * time.Second), Modified: at,
			Active: u.active, UserName: u.name, ManagedBy: "scim", Doc: []byte(`{}`)}, nil); err != nil {
			return err
		}
	}
	for _, g := range []struct {
		id      string
		grant   storage.Grant
		members []string
	}{
		{"g-gm", storage.Grant{Scope: "enterprise", Role: "Enterprise Group Manager"}, []string{"u1", "u2", "u3", "u5", "u6"}},
		{"g-aud", storage.Grant{Scope: "enterprise", Role: "Auditor"}, []string{"u1", "u3", "u4", "u5"}},
		{"g-admin", storage.Grant{Scope: "enterprise", Role: "Enterprise Admin"}, []string{"u6"}},
		{"g-pub", storage.Grant{Scope: "account", Account: "news", Role: "Publisher"}, []string{"u5"}},
	} {
		if err := st.CreateGroup(ctx, tenant, storage.Group{ID: g.id, Version: 1, Created: at, Modified: at, DisplayName: g.id, ManagedBy: "scim", Doc: []byte(`{}`)}, g.members, nil); err != nil {
			return err
		}
		custom := map[string]string{}
		if g.grant.Role == "Auditor" {
			custom["Auditor"] = "enterprise"
		}
		if err := st.PutGrants(ctx, tenant, g.id, []storage.Grant{g.grant}, custom, nil); err != nil {
			return err
		}
	}
	return nil
}

// PenaltyEditForTest returns the built-in policies with the Group Manager
// penalty raised from 10 to 200 (roles/data.json), by path: the edit
// SeedDiffExampleForTest's users are diffed with. Production code never
// calls it.
func PenaltyEditForTest() (map[string]string, error) {
	files, err := policies.EmbeddedFiles()
	if err != nil {
		return nil, err
	}
	const from, to = `"group_manager_penalty": 10,`, `"group_manager_penalty": 200,`
	if !strings.Contains(files["roles/data.json"], from) {
		return nil, fmt.Errorf("no %s in roles/data.json", from)
	}
	files["roles/data.json"] = strings.Replace(files["roles/data.json"], from, to, 1)
	return files, nil
}

// PenaltyEngineForTest compiles PenaltyEditForTest's policies: another
// policy revision. Production code never calls it.
func PenaltyEngineForTest() (*policies.Engine, error) {
	files, err := PenaltyEditForTest()
	if err != nil {
		return nil, err
	}
	return policies.New(policies.Options{FS: mapFS(files)})
}
