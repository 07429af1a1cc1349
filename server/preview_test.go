package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/scimd/scimd/server/provision"
)

// TestGrantPreview: previewing a group's new grants names the members whose
// access would move, before and after, as the policies decide it (a member
// whose other group grants a higher role does not move), changes nothing,
// refuses grants PutGrants would refuse, and on a group larger than
// MaxPreviewMembers evaluates that many and says so.
func TestGrantPreview(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ten := h.newTenant(provision.MaxPreviewMembers + 10)
		base := "/admin/v1/tenants/" + ten.ID
		h.do(http.MethodPut, base+"/provisioning", ten.AdminToken, map[string]any{"mode": "manual"}).want(200)
		h.do(http.MethodPut, base+"/accounts/news", ten.AdminToken, map[string]any{"name": "News"}).want(201)
		user := func(name string) string {
			var u struct{ ID string }
			h.do(http.MethodPost, base+"/users", ten.AdminToken, map[string]any{"userName": name}).want(201).decode(&u)
			return u.ID
		}
		a, b, c := user("a@x.test"), user("b@x.test"), user("c@x.test")
		group := func(name string, members ...string) string {
			var g struct{ ID string }
			h.do(http.MethodPost, base+"/groups", ten.AdminToken, map[string]any{"displayName": name, "members": members}).want(201).decode(&g)
			return g.ID
		}
		g := group("Readers", a, b, c)
		pub := group("Publishers", c)
		h.do(http.MethodPut, base+"/groups/"+g+"/grants", ten.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "account", "account": "news", "role": "Viewer"}}}).want(200)
		h.do(http.MethodPut, base+"/groups/"+pub+"/grants", ten.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "account", "account": "news", "role": "Publisher"}}}).want(200)

		p, err := h.svc.PreviewGrants(ctx, ten.ID, g, []provision.Grant{{Scope: "account", Account: "news", Role: "Editor"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range p.Changes {
			for _, rc := range m.Changes {
				got = append(got, fmt.Sprintf("%s %s: %s -> %s (%s)", m.UserName, rc.Where, rc.Before.Role, rc.After.Role, rc.After.Rule))
			}
		}
		slices.Sort(got) // members come by id
		want := []string{"a@x.test news: Viewer -> Editor (highest_score)", "b@x.test news: Viewer -> Editor (highest_score)"}
		if fmt.Sprint(got) != fmt.Sprint(want) || p.Members != 3 || p.Evaluated != 3 || p.Sampled() {
			t.Errorf("preview %v (members %d, evaluated %d), want %v", got, p.Members, p.Evaluated, want)
		}
		grants := h.do(http.MethodGet, base+"/groups/"+g+"/grants", ten.AdminToken, nil).want(200).json()
		if path(grants, "grants", 0, "role") != "Viewer" {
			t.Errorf("the preview changed the grants: %v", grants)
		}
		// Removing every grant: a and b lose their role; c keeps Publisher.
		p, err = h.svc.PreviewGrants(ctx, ten.ID, g, []provision.Grant{})
		if err != nil || len(p.Changes) != 2 || p.Changes[0].Changes[0].After != nil {
			t.Errorf("removal preview %+v, %v", p, err)
		}
		if _, err := h.svc.PreviewGrants(ctx, ten.ID, g, []provision.Grant{{Scope: "enterprise", Role: "Editor"}}); provision.KindOf(err) != provision.KindInvalid {
			t.Errorf("an account role at enterprise level: %v, want KindInvalid", err)
		}
		if _, err := h.svc.PreviewGrants(ctx, ten.ID, "nope", nil); provision.KindOf(err) != provision.KindNotFound {
			t.Errorf("unknown group: %v, want KindNotFound", err)
		}

		var many []string
		for i := range provision.MaxPreviewMembers + 1 {
			many = append(many, user(fmt.Sprintf("m%03d@x.test", i)))
		}
		big := group("Everyone", many...)
		p, err = h.svc.PreviewGrants(ctx, ten.ID, big, []provision.Grant{{Scope: "account", Account: "news", Role: "Viewer"}})
		if err != nil || p.Members != provision.MaxPreviewMembers+1 || p.Evaluated != provision.MaxPreviewMembers || !p.Sampled() || len(p.Changes) != provision.MaxPreviewMembers {
			t.Errorf("big group: members %d, evaluated %d, changes %d, %v", p.Members, p.Evaluated, len(p.Changes), err)
		}
	})
}

// TestScoreRole: the live score of a role being edited is the score saving
// it gives, unknown permissions are named, and nothing is saved.
func TestScoreRole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ten := h.newTenant(1)
		spec := provision.RoleSpec{Level: "enterprise", Permissions: []string{"publish", "edit_content", "view_reports"}, GroupManager: true}
		info, err := h.svc.ScoreRole(ctx, ten.ID, "", spec)
		if err != nil {
			t.Fatal(err)
		}
		saved := h.do(http.MethodPut, "/admin/v1/tenants/"+ten.ID+"/roles/Leads", ten.AdminToken,
			map[string]any{"level": "enterprise", "permissions": spec.Permissions, "groupManager": true}).want(201).json()
		if saved["score"] != float64(info.Score) || info.Score == 0 {
			t.Errorf("live score %d, saved %v", info.Score, saved["score"])
		}
		info, err = h.svc.ScoreRole(ctx, ten.ID, "Other", provision.RoleSpec{Level: "account", Permissions: []string{"publish", "fly"}})
		if err != nil || fmt.Sprint(info.UnknownPermissions) != "[fly]" {
			t.Errorf("unknown permission: %+v, %v", info, err)
		}
		if _, err := h.svc.ScoreRole(ctx, ten.ID, "", provision.RoleSpec{Level: "account", GroupManager: true}); provision.KindOf(err) != provision.KindInvalid {
			t.Errorf("group manager account role: %v", err)
		}
		roles := h.do(http.MethodGet, "/admin/v1/tenants/"+ten.ID+"/roles", ten.AdminToken, nil).want(200).json()
		for _, r := range roles["roles"].([]any) {
			if path(r, "name") == "Other" {
				t.Error("scoring saved the role")
			}
		}
	})
}
