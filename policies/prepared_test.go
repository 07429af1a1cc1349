package policies

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
)

// randomRoleInput is a user of a tenant with a few custom roles (some odd),
// grants of every kind (some ignored) and sub-accounts some grants name.
func randomRoleInput(r *rand.Rand) RoleInput {
	levels := []Level{LevelEnterprise, LevelAccount, "", "planet"}
	perms := []string{"manage_enterprise", "manage_users", "manage_groups", "publish", "edit_content", "view_reports", "view_content", "fly"}
	in := RoleInput{Roles: map[string]Role{}}
	names := []string{"Enterprise Admin", "Enterprise Group Manager", "Account Administrator", "Publisher", "Editor", "Reports Only", "Viewer", "Astronaut"}
	for i := range r.IntN(4) {
		name := fmt.Sprintf("Custom %d", i)
		if r.IntN(5) == 0 {
			name = "Editor" // cannot shadow the built-in
		}
		role := Role{Level: levels[r.IntN(len(levels))], GroupManager: r.IntN(3) == 0}
		for range r.IntN(4) {
			role.Permissions = append(role.Permissions, perms[r.IntN(len(perms))])
		}
		switch r.IntN(4) { // ties with a built-in role
		case 0:
			role = Role{Level: LevelAccount, Permissions: []string{"view_content", "edit_content", "view_reports"}}
		case 1:
			role = Role{Level: LevelEnterprise, Permissions: []string{
				"manage_enterprise", "manage_accounts", "manage_users", "manage_groups",
				"publish", "edit_content", "view_reports", "view_content",
			}}
		}
		switch r.IntN(3) { // says full_access, or leaves it to the default
		case 0:
			role.FullAccess = new(false)
		case 1:
			role.FullAccess = new(true)
		}
		in.Roles[name] = role
		names = append(names, name)
	}
	accounts := []string{"news", "sports", "weather", "moon"}
	in.Accounts = accounts[:1+r.IntN(3)] // "moon" is never one of them
	for g := range r.IntN(30) {
		grant := Grant{Group: fmt.Sprintf("g%d", g%7), Role: names[r.IntN(len(names))]}
		if r.IntN(3) == 0 { // Editor, or a custom role
			grant.Role = names[4+r.IntN(len(names)-4)]
		}
		switch r.IntN(8) {
		case 0:
			grant.Scope = LevelEnterprise
		case 1:
			grant.Scope = "planet"
		default:
			grant.Scope = LevelAccount
			if r.IntN(8) > 0 {
				grant.Account = accounts[r.IntN(len(accounts))]
			}
		}
		in.Grants = append(in.Grants, grant)
	}
	in.Inactive = r.IntN(10) == 0
	return in
}

// plainInput is the input as README.md documents it: input.roles and
// input.grants, which the policy gathers and scores itself.
func plainInput(in RoleInput) ast.Value {
	grants := make([]*ast.Term, len(in.Grants))
	for i, g := range in.Grants {
		items := [][2]*ast.Term{
			ast.Item(keyGroup, ast.StringTerm(g.Group)),
			ast.Item(keyScope, ast.StringTerm(string(g.Scope))),
			ast.Item(keyRole, ast.StringTerm(g.Role)),
		}
		if g.Account != "" {
			items = append(items, ast.Item(keyAccount, ast.StringTerm(g.Account)))
		}
		grants[i] = ast.ObjectTerm(items...)
	}
	accounts := make([]*ast.Term, len(in.Accounts))
	for i, a := range in.Accounts {
		accounts[i] = ast.StringTerm(a)
	}
	return ast.NewObject(
		ast.Item(keyRoles, rolesTerm(in.Roles)),
		ast.Item(keyAccounts, ast.ArrayTerm(accounts...)),
		ast.Item(keyGrants, ast.ArrayTerm(grants...)),
		ast.Item(keyActive, ast.BooleanTerm(!in.Inactive)),
	)
}

// TestPreparedInputs checks that what the engine passes (the cached catalog,
// the role names it gathers from the grants) and how it reads the answers
// (straight from the AST) decide and explain exactly what the documented
// input does, read through JSON.
func TestPreparedInputs(t *testing.T) {
	e := mustNew(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 100 {
		in := randomRoleInput(r)
		got, err := e.ResolveRoles(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.eval(ctx, e.access, queryAccess, plainInput(in))
		if err != nil {
			t.Fatal(err)
		}
		var want Access
		if err := decode(v, queryAccess, &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("case %d %+v: ResolveRoles differs from the plain input (-plain +engine):\n%s", i, in, diff)
		}

		gotExplained, err := e.ExplainRoles(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		v, err = e.eval(ctx, e.explain, queryExplain, plainInput(in))
		if err != nil {
			t.Fatal(err)
		}
		var wantExplained Explanation
		if err := decode(v, queryExplain, &wantExplained); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantExplained, gotExplained); diff != "" {
			t.Fatalf("case %d %+v: ExplainRoles differs from the plain input (-plain +engine):\n%s", i, in, diff)
		}
	}
}

func TestCatalogCache(t *testing.T) {
	e := mustNew(t)
	ctx := context.Background()
	roles := map[string]Role{"Desk Chief": {Level: LevelAccount, Permissions: []string{"manage_users", "publish"}}}
	first, err := e.catalog(ctx, roles)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.catalog(ctx, map[string]Role{"Desk Chief": {Level: LevelAccount, Permissions: []string{"manage_users", "publish"}}})
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Error("the same custom roles were scored twice")
	}
	// The engine keeps its own copy: changing the caller's roles changes the
	// key, never a remembered catalog.
	roles["Desk Chief"].Permissions[1] = "view_content"
	changed, err := e.catalog(ctx, roles)
	if err != nil {
		t.Fatal(err)
	}
	if changed == first {
		t.Fatal("a changed role got the catalog of the old one")
	}
	score := func(rc *roleCatalog) string {
		return rc.term.Value.(ast.Object).Get(keyRoles).Value.(ast.Object).Get(ast.StringTerm("Desk Chief")).String()
	}
	if !strings.Contains(score(first), `"score": 30`) || !strings.Contains(score(changed), `"score": 22`) {
		t.Errorf("scores: first %s, changed %s", score(first), score(changed))
	}
	for i := range maxCatalogs + 1 {
		if _, err := e.catalog(ctx, map[string]Role{fmt.Sprint(i): {Level: LevelAccount}}); err != nil {
			t.Fatal(err)
		}
	}
	e.catalogs.mu.Lock()
	n := e.catalogs.n
	e.catalogs.mu.Unlock()
	if n > maxCatalogs {
		t.Errorf("%d catalogs remembered, want at most %d", n, maxCatalogs)
	}
}

func TestSameRoles(t *testing.T) {
	a := map[string]Role{"X": {Level: LevelAccount, Permissions: []string{"publish", "edit_content"}}}
	for _, tt := range []struct {
		name string
		b    map[string]Role
		want bool
	}{
		{"equal", map[string]Role{"X": {Level: LevelAccount, Permissions: []string{"publish", "edit_content"}}}, true},
		{"other name", map[string]Role{"Y": {Level: LevelAccount, Permissions: []string{"publish", "edit_content"}}}, false},
		{"other level", map[string]Role{"X": {Level: LevelEnterprise, Permissions: []string{"publish", "edit_content"}}}, false},
		{"group manager", map[string]Role{"X": {Level: LevelAccount, GroupManager: true, Permissions: []string{"publish", "edit_content"}}}, false},
		{"other permissions", map[string]Role{"X": {Level: LevelAccount, Permissions: []string{"publish"}}}, false},
		{"more roles", map[string]Role{"X": a["X"], "Y": {}}, false},
	} {
		if got := sameRoles(a, tt.b); got != tt.want {
			t.Errorf("%s: sameRoles = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDecodeWrongShape checks that answers of the wrong shape are errors, not
// zero values.
func TestDecodeWrongShape(t *testing.T) {
	for _, src := range []string{
		`[]`,
		`{"enterprise": null, "accounts": {}}`,
		`{"active": "yes"}`,
		`{"enterprise": 1}`,
		`{"enterprise": {"role": 1}}`,
		`{"enterprise": {"role": "A", "score": "high"}}`,
		`{"enterprise": {"role": "A", "score": 1.5}}`,
		`{"enterprise": {"rule": true}}`,
		`{"accounts": []}`,
		`{"accounts": {"news": "Editor"}}`,
		`{"accounts": {"news": {"role": "Editor", "candidates": {"role": "Editor"}}}}`,
		`{"accounts": {"news": {"role": "Editor", "candidates": ["Editor"]}}}`,
		`{"accounts": {"news": {"role": "Editor", "candidates": [{"group": 7}]}}}`,
		`{"accounts": {"news": {"role": "Editor", "candidates": [{"score": "x"}]}}}`,
		`{"accounts": {"news": {"role": "Editor", "candidates": [{"scope": 1}]}}}`,
		`{"accounts": {"news": {"role": "Editor", "candidates": [{"account": 1}]}}}`,
		`{"ignored": [{"group": 1}]}`,
		`{"ignored": [{"scope": 1}]}`,
		`{"ignored": [{"account": 1}]}`,
		`{"ignored": [{"role": 1}]}`,
		`{"ignored": [{"reason": 1}]}`,
	} {
		term := ast.MustParseTerm(src)
		_, errAccess := decodeAccess(term)
		_, errExplain := decodeExplanation(term)
		if errExplain == nil {
			t.Errorf("decodeExplanation(%s) = nil error", src)
		}
		if errAccess == nil && !strings.Contains(src, "candidates") && !strings.Contains(src, "ignored") {
			t.Errorf("decodeAccess(%s) = nil error", src)
		}
	}
	if _, err := decodeAccess("not a term"); err == nil {
		t.Error("decodeAccess(string) = nil error")
	}
	if _, err := decodeExplanation("not a term"); err == nil {
		t.Error("decodeExplanation(string) = nil error")
	}
	if _, err := decodeAccess(ast.MustParseTerm(`{"active": true, 1: null}`)); err != nil {
		t.Errorf("decodeAccess of an object without known keys: %v", err)
	}
	if _, err := decodeAccess(ast.MustParseTerm(`{"accounts": {1: null}}`)); err == nil {
		t.Error("decodeAccess with a number as sub-account = nil error")
	}
}
