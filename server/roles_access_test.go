package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// accessFixture is a tenant with two sub-accounts and a SCIM user in one
// group, for the role and access tests.
type accessFixture struct {
	h     *harness
	tn    tenant
	admin string
	user  string
	group string
}

func newAccessFixture(t *testing.T, h *harness) accessFixture {
	t.Helper()
	tn := h.newTenant(100)
	f := accessFixture{h: h, tn: tn, admin: adminPath(tn)}
	for _, id := range []string{"news", "sports"} {
		h.do(http.MethodPut, f.admin+"/accounts/"+id, tn.AdminToken, map[string]any{"name": id}).want(201)
	}
	f.user = h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("pat@x")).want(201).json()["id"].(string)
	f.group = f.newGroup(t, "Staff")
	return f
}

// newGroup makes a SCIM group holding the fixture's user.
func (f accessFixture) newGroup(t *testing.T, name string) string {
	t.Helper()
	id := f.h.do(http.MethodPost, f.tn.Base+"/Groups", f.tn.SCIMToken, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name,
	}).want(201).json()["id"].(string)
	f.h.do(http.MethodPatch, f.tn.Base+"/Groups/"+id, f.tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", f.user)).want(204)
	return id
}

func (f accessFixture) access() map[string]any {
	return f.h.do(http.MethodGet, f.admin+"/users/"+f.user+"/access", f.tn.AdminToken, nil).want(200).json()
}

// TestDeactivatedUserHasNoAccess: users/{id}/access of a deactivated user
// says active false and grants no role; reactivation brings the roles back.
func TestDeactivatedUserHasNoAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		f := newAccessFixture(t, h)
		h.do(http.MethodPut, f.admin+"/groups/"+f.group+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{
			map[string]any{"scope": "enterprise", "role": "Enterprise Admin"},
			map[string]any{"scope": "account", "account": "news", "role": "Editor"},
		}}).want(200)
		access := f.access()
		eq(t, access["active"], true)
		eq(t, path(access, "enterprise", "role"), "Enterprise Admin")

		active := func(v string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"` + v + `"}]}`
		}
		h.do(http.MethodPatch, f.tn.Base+"/Users/"+f.user, f.tn.SCIMToken, active("False")).want(200)
		access = f.access()
		eq(t, access["active"], false)
		eq(t, access["enterprise"], nil)
		eq(t, path(access, "accounts", "news"), nil)
		eq(t, path(access, "accounts", "sports"), nil)
		ignored := asList(access["ignored"])
		eq(t, len(ignored), 2)
		for _, g := range ignored {
			eq(t, path(g, "reason"), "inactive_user")
		}

		h.do(http.MethodPatch, f.tn.Base+"/Users/"+f.user, f.tn.SCIMToken, active("True")).want(200)
		access = f.access()
		eq(t, access["active"], true)
		eq(t, path(access, "accounts", "news", "role"), "Editor")
	})
}

// TestFullAccessInheritance: whether an enterprise role grants full access
// to all sub-accounts is a property of the role; a user holding such a grant
// inherits it in every sub-account whichever enterprise role wins, so that
// gaining an enterprise grant never takes sub-account access away.
func TestFullAccessInheritance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		f := newAccessFixture(t, h)
		role := func(name string, body map[string]any, status int) map[string]any {
			t.Helper()
			return h.do(http.MethodPut, f.admin+"/roles/"+url.PathEscape(name), f.tn.AdminToken, body).want(status).json()
		}
		// A custom enterprise role that does not say (as every role stored
		// before the property) grants full access unless it is a Group Manager.
		chief := role("Regional Chief", map[string]any{"level": "enterprise", "permissions": []string{"manage_accounts", "manage_users"}}, 201)
		eq(t, chief["fullAccess"], true)
		observer := role("Observer", map[string]any{"level": "enterprise", "permissions": []string{"view_reports"}, "fullAccess": false}, 201)
		eq(t, observer["fullAccess"], false)
		lead := role("Team Lead", map[string]any{"level": "enterprise", "permissions": []string{"manage_groups"}, "groupManager": true}, 201)
		eq(t, lead["fullAccess"], false)
		for _, r := range asList(h.do(http.MethodGet, f.admin+"/roles", f.tn.AdminToken, nil).want(200).json()["roles"]) {
			switch path(r, "name") {
			case "Enterprise Admin":
				eq(t, path(r, "fullAccess"), true)
			case "Enterprise Group Manager":
				eq(t, path(r, "fullAccess"), false)
			}
		}

		grant := func(group, role string) {
			t.Helper()
			h.do(http.MethodPut, f.admin+"/groups/"+group+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{
				map[string]any{"scope": "enterprise", "role": role},
			}}).want(200)
		}
		grant(f.group, "Regional Chief")
		access := f.access()
		eq(t, path(access, "accounts", "news", "role"), "Regional Chief")
		eq(t, path(access, "accounts", "news", "rule"), "inherited_full_access")

		// Gaining Enterprise Group Manager wins at enterprise level, and keeps
		// the sub-account access.
		grant(f.newGroup(t, "Managers"), "Enterprise Group Manager")
		access = f.access()
		eq(t, path(access, "enterprise", "role"), "Enterprise Group Manager")
		eq(t, path(access, "accounts", "news", "role"), "Regional Chief")
		eq(t, path(access, "accounts", "sports", "rule"), "inherited_full_access")

		// A role that says no is not inherited.
		grant(f.group, "Observer")
		access = f.access()
		eq(t, path(access, "accounts", "news"), nil)

		for _, tc := range []struct {
			name string
			body map[string]any
		}{
			{"full access on an account role", map[string]any{"level": "account", "permissions": []string{"publish"}, "fullAccess": true}},
			{"full access on a Group Manager role", map[string]any{"level": "enterprise", "permissions": []string{"publish"}, "groupManager": true, "fullAccess": true}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := role("Odd", tc.body, 400)
				if d, _ := res["detail"].(string); d == "" {
					t.Fatalf("no detail: %v", res)
				}
			})
		}
	})
}

// TestRoleRules: a Group Manager flag needs an enterprise role; a role
// cannot change level while grants name it (409 naming them); DELETE
// roles/{name} deletes a custom role no grant names; a name equal to a
// built-in but for case is refused.
func TestRoleRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		f := newAccessFixture(t, h)
		roleURL := func(name string) string { return f.admin + "/roles/" + url.PathEscape(name) }
		put := func(name string, body map[string]any, status int) map[string]any {
			t.Helper()
			return h.do(http.MethodPut, roleURL(name), f.tn.AdminToken, body).want(status).json()
		}
		detail := func(res map[string]any, want ...string) {
			t.Helper()
			d, _ := res["detail"].(string)
			for _, w := range want {
				if !strings.Contains(d, w) {
					t.Errorf("detail %q does not mention %q", d, w)
				}
			}
		}
		account := map[string]any{"level": "account", "permissions": []string{"publish"}}
		enterprise := map[string]any{"level": "enterprise", "permissions": []string{"publish"}}

		// A Group Manager flag on an account role.
		detail(put("Desk Manager", map[string]any{"level": "account", "permissions": []string{"publish"}, "groupManager": true}, 400), "Group Manager")
		// A built-in's name but for case.
		detail(put("editor", account, 400), `"Editor"`, "only by case")
		detail(put("ENTERPRISE ADMIN", enterprise, 400), `"Enterprise Admin"`)

		// A granted role keeps its level.
		put("Desk Chief", account, 201)
		other := f.newGroup(t, "Desk")
		h.do(http.MethodPut, f.admin+"/groups/"+other+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{
			map[string]any{"scope": "account", "account": "news", "role": "Desk Chief"},
		}}).want(200)
		res := put("Desk Chief", enterprise, 409)
		detail(res, other, "account news")
		put("Desk Chief", map[string]any{"level": "account", "permissions": []string{"publish", "edit_content"}}, 200)
		eq(t, path(f.access(), "accounts", "news", "role"), "Desk Chief")

		// DELETE: refused while granted, then allowed; built-ins and unknown names.
		detail(h.do(http.MethodDelete, roleURL("Desk Chief"), f.tn.AdminToken, nil).want(409).json(), other)
		h.do(http.MethodPut, f.admin+"/groups/"+other+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{}}).want(200)
		h.do(http.MethodDelete, roleURL("Desk Chief"), f.tn.AdminToken, nil).want(204)
		h.do(http.MethodDelete, roleURL("Desk Chief"), f.tn.AdminToken, nil).want(404)
		h.do(http.MethodDelete, roleURL("Editor"), f.tn.AdminToken, nil).want(400)
		for _, r := range asList(h.do(http.MethodGet, f.admin+"/roles", f.tn.AdminToken, nil).want(200).json()["roles"]) {
			if path(r, "name") == "Desk Chief" {
				t.Fatalf("deleted role still listed: %v", r)
			}
		}
		// An ungranted role may change level.
		put("Floater", account, 201)
		put("Floater", enterprise, 200)
		events := asList(h.do(http.MethodGet, f.admin+"/audit?action=role.delete", f.tn.AdminToken, nil).want(200).json()["events"])
		eq(t, len(events), 1)
	})
}
