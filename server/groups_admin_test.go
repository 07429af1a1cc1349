package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAppGroups: an enterprise admin makes groups in the app to grant roles
// through, also in mode idp, while the locks policy keeps a SCIM-managed
// group's name and members with the identity provider; a SCIM write to an
// app group takes it over.
func TestAppGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)
		do := func(method, path string, body any, want int) response {
			t.Helper()
			return h.do(method, admin+path, tn.AdminToken, body).want(want)
		}
		// A SCIM user in a SCIM group, and a manual user (made in mode manual).
		scimUser := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("sam@x")).want(201).json()["id"].(string)
		scimGroup := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Entra Staff",
			"members": []map[string]any{{"value": scimUser}},
		}).want(201).json()["id"].(string)
		h.setMode(tn, map[string]any{"mode": "manual"})
		manualUser := h.manualUser(tn, map[string]any{"userName": "carla@contractor"})["id"].(string)
		h.setMode(tn, map[string]any{"mode": "idp"})

		// Mode idp: an app group, with a manual and a SCIM member.
		created := do(http.MethodPost, "/groups", map[string]any{"displayName": "Contractors", "members": []string{manualUser}}, 201)
		app := created.json()
		appID := app["id"].(string)
		eq(t, app["managedBy"], "manual")
		eq(t, fmt.Sprint(app["members"]), fmt.Sprint([]any{manualUser}))
		if w := fmt.Sprint(app["warnings"]); !strings.Contains(w, "take this group over") {
			t.Errorf("create warnings %s", w)
		}
		patched := do(http.MethodPatch, "/groups/"+appID, map[string]any{"addMembers": []string{scimUser}, "displayName": "Contractors & Staff"}, 200).json()
		eq(t, len(asList(patched["members"])), 2)
		eq(t, patched["displayName"], "Contractors & Staff")
		// A user's page names its groups, app and SCIM alike.
		var inGroups []string
		for _, g := range asList(do(http.MethodGet, "/users/"+scimUser, nil, 200).json()["groups"]) {
			inGroups = append(inGroups, fmt.Sprint(path(g, "displayName"), "/", path(g, "managedBy")))
		}
		eq(t, fmt.Sprint(inGroups), "[Contractors & Staff/manual Entra Staff/scim]")
		eq(t, fmt.Sprint(do(http.MethodGet, "/users/"+manualUser, nil, 200).json()["groups"] != nil), "true")

		// The SCIM group's members, name and existence stay with the identity provider.
		for _, tc := range []struct {
			name, method string
			body         any
			reason       string
		}{
			{"add a member", http.MethodPatch, map[string]any{"addMembers": []string{manualUser}}, "members can only be changed there"},
			{"rename", http.MethodPatch, map[string]any{"displayName": "Renamed"}, "displayName can only be changed there"},
			{"delete", http.MethodDelete, nil, "delete it there"},
		} {
			t.Run("SCIM group: "+tc.name, func(t *testing.T) {
				res := do(tc.method, "/groups/"+scimGroup, tc.body, 403)
				if d, _ := res.json()["detail"].(string); !strings.Contains(d, tc.reason) {
					t.Errorf("detail %q, want %q", d, tc.reason)
				}
			})
		}
		still := do(http.MethodGet, "/groups/"+scimGroup, nil, 200).json()
		eq(t, fmt.Sprint(still["members"]), fmt.Sprint([]any{scimUser}))
		eq(t, still["displayName"], "Entra Staff")
		eq(t, still["managedBy"], "scim")

		// Roles through the app group reach its manual member.
		do(http.MethodPut, "/groups/"+appID+"/grants", map[string]any{"grants": []map[string]any{{"scope": "enterprise", "role": "Enterprise Admin"}}}, 200)
		eq(t, path(do(http.MethodGet, "/users/"+manualUser+"/access", nil, 200).json(), "enterprise", "role"), "Enterprise Admin")

		// Every change is audited with its admin.
		events := asList(do(http.MethodGet, "/audit?targetId="+appID, nil, 200).json()["events"])
		eq(t, len(events), 3)
		for i, action := range []string{"group.grants", "group.update", "group.create"} { // newest first
			eq(t, path(events, i, "action"), action)
			eq(t, path(events, i, "source"), "admin")
		}

		// Bad requests.
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			headers            []string
		}{
			{"no name", http.MethodPost, "/groups", map[string]any{"members": []string{}}, 400, nil},
			{"blank name", http.MethodPost, "/groups", map[string]any{"displayName": "  "}, 400, nil},
			{"unknown member", http.MethodPost, "/groups", map[string]any{"displayName": "Ghosts", "members": []string{"ghost"}}, 400, nil},
			{"name taken", http.MethodPost, "/groups", map[string]any{"displayName": "entra staff"}, 409, nil},
			{"unknown field", http.MethodPost, "/groups", map[string]any{"displayName": "X", "owner": "me"}, 400, nil},
			{"members on PATCH", http.MethodPatch, "/groups/" + appID, map[string]any{"members": []string{}}, 400, nil},
			{"stale If-Match", http.MethodPatch, "/groups/" + appID, map[string]any{"displayName": "Y"}, 412, []string{"If-Match", `W/"1"`}},
			{"no such group", http.MethodPatch, "/groups/nope", map[string]any{"displayName": "Y"}, 404, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := h.do(tc.method, admin+tc.path, tn.AdminToken, tc.body, tc.headers...).want(tc.status)
				eq(t, res.header.Get("Content-Type"), "application/problem+json")
			})
		}

		// Mode manual: the SCIM group is editable by hand, with a warning.
		h.setMode(tn, map[string]any{"mode": "manual"})
		warned := do(http.MethodPatch, "/groups/"+scimGroup, map[string]any{"addMembers": []string{manualUser}}, 200).json()
		if w := fmt.Sprint(warned["warnings"]); !strings.Contains(w, "may overwrite") {
			t.Errorf("warnings %s", w)
		}
		h.setMode(tn, map[string]any{"mode": "idp"})

		// The identity provider writes to the app group (Entra matched it by
		// name): it is SCIM-managed from then on, and locked in mode idp.
		h.do(http.MethodPatch, tn.Base+"/Groups/"+appID, tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"externalId","value":"entra-obj-1"}]}`).want(204)
		taken := do(http.MethodGet, "/groups/"+appID, nil, 200).json()
		eq(t, taken["managedBy"], "scim")
		eq(t, taken["externalId"], "entra-obj-1")
		last := asList(do(http.MethodGet, "/audit?targetId="+appID, nil, 200).json()["events"])[0]
		eq(t, path(last, "source"), "scim")
		if !strings.Contains(fmt.Sprint(path(last, "changes")), "managedBy") {
			t.Errorf("the takeover is not audited: %v", last)
		}
		do(http.MethodPatch, "/groups/"+appID, map[string]any{"displayName": "Z"}, 403)

		// POST answers what GET then shows, members in the same order.
		two := do(http.MethodPost, "/groups", map[string]any{"displayName": "Pair", "members": []string{scimUser, manualUser, scimUser}}, 201).json()
		again := do(http.MethodGet, "/groups/"+two["id"].(string), nil, 200).json()
		for _, k := range []string{"members", "displayName", "version", "created", "modified", "managedBy", "grants"} {
			eq(t, fmt.Sprint(two[k]), fmt.Sprint(again[k]))
		}
		eq(t, len(asList(two["members"])), 2)

		// An app group can be deleted by hand, its grants with it.
		other := do(http.MethodPost, "/groups", map[string]any{"displayName": "Temp"}, 201).json()["id"].(string)
		do(http.MethodPut, "/groups/"+other+"/grants", map[string]any{"grants": []map[string]any{{"scope": "enterprise", "role": "Enterprise Admin"}}}, 200)
		eq(t, do(http.MethodDelete, "/groups/"+other, nil, 200).json()["deleted"], true)
		do(http.MethodGet, "/groups/"+other, nil, 404)
		do(http.MethodGet, "/groups/"+other+"/grants", nil, 404)
	})
}
