package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestAccessAdmin: sub-accounts, roles and grants through the admin API,
// and the effective access the policies derive from group membership.
func TestAccessAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := "/admin/v1/tenants/" + tn.ID
		put := func(path string, body any, want int) map[string]any {
			t.Helper()
			return h.do(http.MethodPut, admin+path, tn.AdminToken, body).want(want).json()
		}
		put("/accounts/news", map[string]any{"name": "Newsroom"}, 201)
		put("/accounts/news", map[string]any{"name": "News"}, 200)
		put("/accounts/sports", map[string]any{"name": "Sports"}, 201)
		accs := h.do(http.MethodGet, admin+"/accounts", tn.AdminToken, nil).want(200).json()
		eq(t, len(asList(accs["accounts"])), 2)
		eq(t, path(accs, "accounts", 0, "name"), "News")

		roles := h.do(http.MethodGet, admin+"/roles", tn.AdminToken, nil).want(200).json()
		scores := map[string]any{}
		for _, r := range asList(roles["roles"]) {
			scores[path(r, "name").(string)] = path(r, "score")
		}
		eq(t, scores["Enterprise Admin"], float64(140))
		eq(t, scores["Reports Only"], float64(5))
		custom := put("/roles/"+url.PathEscape("Desk Chief"), map[string]any{"level": "account", "permissions": []string{"manage_users", "publish"}}, 201)
		eq(t, custom["score"], float64(30))
		eq(t, custom["builtin"], false)

		mkGroup := func(name string) string {
			return h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name,
			}).want(201).json()["id"].(string)
		}
		a, b, c, d := mkGroup("Readers"), mkGroup("Admins"), mkGroup("Enterprise"), mkGroup("Sports desk")
		uid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("ann@x")).want(201).json()["id"].(string)
		for _, g := range []string{a, b, c, d} {
			h.do(http.MethodPatch, tn.Base+"/Groups/"+g, tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", uid)).want(204)
		}
		grants := func(g string, gs ...map[string]any) {
			t.Helper()
			put("/groups/"+g+"/grants", map[string]any{"grants": gs}, 200)
		}
		grants(a, map[string]any{"scope": "account", "account": "news", "role": "Reports Only"})
		grants(b, map[string]any{"scope": "account", "account": "news", "role": "Account Administrator"})
		got := h.do(http.MethodGet, admin+"/groups/"+b+"/grants", tn.AdminToken, nil).want(200).json()
		eq(t, path(got, "grants", 0, "role"), "Account Administrator")

		access := h.do(http.MethodGet, admin+"/users/"+uid+"/access", tn.AdminToken, nil).want(200).json()
		eq(t, path(access, "accounts", "news", "role"), "Account Administrator")
		eq(t, path(access, "accounts", "news", "rule"), "highest_score")
		eq(t, len(asList(path(access, "accounts", "news", "candidates"))), 2)
		eq(t, path(access, "accounts", "sports"), nil)
		eq(t, path(access, "enterprise"), nil)

		// Enterprise Admin everywhere, but an explicit lower grant wins in its sub-account.
		grants(c, map[string]any{"scope": "enterprise", "role": "Enterprise Admin"})
		grants(d, map[string]any{"scope": "account", "account": "sports", "role": "Reports Only"})
		access = h.do(http.MethodGet, admin+"/users/"+uid+"/access", tn.AdminToken, nil).want(200).json()
		eq(t, path(access, "enterprise", "role"), "Enterprise Admin")
		eq(t, path(access, "accounts", "sports", "role"), "Reports Only")
		eq(t, path(access, "accounts", "sports", "rule"), "sub_account_override")
		eq(t, path(access, "accounts", "news", "role"), "Account Administrator")

		// Membership drives access: leaving the sports desk brings Enterprise Admin back there.
		h.do(http.MethodPatch, tn.Base+"/Groups/"+d, tn.SCIMToken, fixtureWith(t, "11-group-remove-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", uid)).want(204)
		access = h.do(http.MethodGet, admin+"/users/"+uid+"/access", tn.AdminToken, nil).want(200).json()
		eq(t, path(access, "accounts", "sports", "role"), "Enterprise Admin")
		eq(t, path(access, "accounts", "sports", "rule"), "inherited_full_access")

		// Deleting a sub-account removes its grants.
		h.do(http.MethodDelete, admin+"/accounts/news", tn.AdminToken, nil).want(204)
		got = h.do(http.MethodGet, admin+"/groups/"+b+"/grants", tn.AdminToken, nil).want(200).json()
		eq(t, len(asList(got["grants"])), 0)

		for _, tc := range []struct {
			name, method, path, token string
			body                      any
			status                    int
		}{
			{"built-in role", http.MethodPut, "/roles/" + url.PathEscape("Enterprise Admin"), tn.AdminToken, map[string]any{"level": "enterprise", "permissions": []string{"publish"}}, 400},
			{"unknown permission", http.MethodPut, "/roles/Odd", tn.AdminToken, map[string]any{"level": "account", "permissions": []string{"fly"}}, 400},
			{"bad level", http.MethodPut, "/roles/Odd", tn.AdminToken, map[string]any{"level": "galaxy", "permissions": []string{"publish"}}, 400},
			{"unknown role", http.MethodPut, "/groups/" + a + "/grants", tn.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "account", "account": "sports", "role": "Overlord"}}}, 400},
			{"unknown account", http.MethodPut, "/groups/" + a + "/grants", tn.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "account", "account": "weather", "role": "Viewer"}}}, 400},
			{"role of the wrong level", http.MethodPut, "/groups/" + a + "/grants", tn.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "enterprise", "role": "Viewer"}}}, 400},
			{"unknown group", http.MethodPut, "/groups/nope/grants", tn.AdminToken, map[string]any{"grants": []any{}}, 404},
			{"grants body without grants", http.MethodPut, "/groups/" + a + "/grants", tn.AdminToken, map[string]any{}, 400},
			{"unknown user", http.MethodGet, "/users/nope/access", tn.AdminToken, nil, 404},
			{"unknown account delete", http.MethodDelete, "/accounts/nope", tn.AdminToken, nil, 404},
			{"bad account id", http.MethodPut, "/accounts/Bad%20Id", tn.AdminToken, map[string]any{"name": "x"}, 400},
			{"SCIM token is not an admin token", http.MethodGet, "/roles", tn.SCIMToken, nil, 401},
			{"no token", http.MethodGet, "/roles", "", nil, 401},
			{"operator token works", http.MethodGet, "/roles", operatorToken, nil, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := h.do(tc.method, admin+tc.path, tc.token, tc.body)
				if res.status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
				}
				if tc.status >= 400 {
					res.detail()
				}
			})
		}
		h.t = t
		other := h.newTenant(1)
		h.do(http.MethodGet, admin+"/roles", other.AdminToken, nil).want(401)
	})
}

// TestAdminGroups: an enterprise admin finds groups (and their ids) through
// the admin API, with the grants each carries, and a group's members.
func TestAdminGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := "/admin/v1/tenants/" + tn.ID
		var ids []string
		for _, name := range []string{"Readers", "Admins", "Empty"} {
			ids = append(ids, h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "externalId": "ext-" + name,
			}).want(201).json()["id"].(string))
		}
		uid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("ann@x")).want(201).json()["id"].(string)
		h.do(http.MethodPatch, tn.Base+"/Groups/"+ids[0], tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", uid)).want(204)
		h.do(http.MethodPut, admin+"/groups/"+ids[1]+"/grants", tn.AdminToken,
			map[string]any{"grants": []map[string]any{{"scope": "enterprise", "role": "Enterprise Admin"}}}).want(200)

		for _, tc := range []struct {
			name, query string
			status      int
			total       float64
			names       []any
		}{
			{"all, oldest first", "", 200, 3, []any{"Readers", "Admins", "Empty"}},
			{"a page", "?startIndex=2&count=1", 200, 3, []any{"Admins"}},
			{"by name, any case", "?displayName=aDmInS", 200, 1, []any{"Admins"}},
			{"no such name", "?displayName=nobody", 200, 0, []any{}},
			{"count too large", "?count=5000", 400, 0, nil},
			{"bad startIndex", "?startIndex=0", 400, 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := h.do(http.MethodGet, admin+"/groups"+tc.query, tn.AdminToken, nil).want(tc.status)
				if tc.status != 200 {
					eq(t, res.header.Get("Content-Type"), "application/problem+json")
					return
				}
				body := res.json()
				eq(t, body["totalResults"], tc.total)
				names := []any{}
				for _, g := range asList(body["groups"]) {
					names = append(names, path(g, "displayName"))
					if _, ok := g.(map[string]any)["members"]; ok {
						t.Errorf("the list shows members: %v", g)
					}
				}
				eq(t, fmt.Sprint(names), fmt.Sprint(tc.names))
			})
		}
		list := h.do(http.MethodGet, admin+"/groups", tn.AdminToken, nil).want(200).json()
		eq(t, path(list, "groups", 1, "grants", 0, "role"), "Enterprise Admin")
		eq(t, len(asList(path(list, "groups", 0, "grants"))), 0)
		eq(t, path(list, "groups", 0, "externalId"), "ext-Readers")

		one := h.do(http.MethodGet, admin+"/groups/"+ids[0], tn.AdminToken, nil).want(200)
		if one.header.Get("ETag") == "" {
			t.Error("no ETag")
		}
		eq(t, fmt.Sprint(one.json()["members"]), fmt.Sprint([]any{uid}))
		eq(t, fmt.Sprint(h.do(http.MethodGet, admin+"/groups/"+ids[2], tn.AdminToken, nil).want(200).json()["members"]), "[]")
		h.do(http.MethodGet, admin+"/groups/nope", tn.AdminToken, nil).want(404)
		// Another tenant's admin token opens nothing here.
		other := h.newTenant(1)
		h.do(http.MethodGet, admin+"/groups", other.AdminToken, nil).want(401)
	})
}
