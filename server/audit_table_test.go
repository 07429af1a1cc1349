package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const patchOp = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

// TestEveryChangeIsAudited: one table over every mutating SCIM and admin
// call, each checked for the audit event it must leave (action, target,
// source, actor), through the server as serve builds it (the metered store
// included). The calls run in order on one tenant; each finds the ids the
// earlier ones made in ids.
func TestEveryChangeIsAudited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)
		const ines = "ines@acme.example"
		adminTok := h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": ines}).want(201).json()["token"].(string)
		ids := map[string]string{}
		id := func(name string) func() string { return func() string { return ids[name] } }
		fixed := func(v string) func() string { return func() string { return v } }
		scimTok := tn.SCIMToken

		type want struct {
			action, targetType string
			targetID           func() string
		}
		steps := []struct {
			name         string
			method, path string
			token        func() string
			body         func() any
			status       int
			keep         string // the answer's id is kept under this name
			events       []want // newest first
			active       any    // the answer's and the event's new "active", when not nil
		}{
			{"scim create user", "POST", "/Users", nil, func() any { return userBody("ann@x") }, 201, "ann", []want{{"user.create", "User", id("ann")}}, nil},
			{"scim create second user", "POST", "/Users", nil, func() any { return userBody("bo@x") }, 201, "bo", []want{{"user.create", "User", id("bo")}}, nil},
			{"scim replace user", "PUT", "/Users/{ann}", nil, func() any { return userBody("ann@x", `,"displayName":"Ann"`) }, 200, "", []want{{"user.replace", "User", id("ann")}}, nil},
			{"scim patch user", "PATCH", "/Users/{ann}", nil, func() any {
				return `{` + patchOp + `,"Operations":[{"op":"Replace","path":"displayName","value":"Ann B"}]}`
			}, 200, "", []want{{"user.update", "User", id("ann")}}, nil},
			{"scim create group", "POST", "/Groups", nil, func() any {
				return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Readers","members":[{"value":"` + ids["ann"] + `"}]}`
			}, 201, "readers", []want{{"group.create", "Group", id("readers")}}, nil},
			{"scim add member", "PATCH", "/Groups/{readers}", nil, func() any {
				return `{` + patchOp + `,"Operations":[{"op":"Add","path":"members","value":[{"value":"` + ids["bo"] + `"}]}]}`
			}, 204, "", []want{{"group.update", "Group", id("readers")}}, nil},
			{"scim remove member", "PATCH", "/Groups/{readers}", nil, func() any {
				return `{` + patchOp + `,"Operations":[{"op":"Remove","path":"members","value":[{"value":"` + ids["bo"] + `"}]}]}`
			}, 204, "", []want{{"group.update", "Group", id("readers")}}, nil},
			{"scim rename group", "PATCH", "/Groups/{readers}", nil, func() any {
				return `{` + patchOp + `,"Operations":[{"op":"Replace","path":"displayName","value":"Readers 2"}]}`
			}, 204, "", []want{{"group.update", "Group", id("readers")}}, nil},
			{"scim replace group", "PUT", "/Groups/{readers}", nil, func() any {
				return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Readers","members":[{"value":"` + ids["bo"] + `"}]}`
			}, 200, "", []want{{"group.replace", "Group", id("readers")}}, nil},
			{"scim delete group", "DELETE", "/Groups/{readers}", nil, nil, 204, "", []want{{"group.delete", "Group", id("readers")}}, nil},
			{"scim delete user", "DELETE", "/Users/{bo}", nil, nil, 204, "", []want{{"user.delete", "User", id("bo")}}, nil},

			{"admin put account", "PUT", "{admin}/accounts/news", nil, func() any { return map[string]any{"name": "Newsroom"} }, 201, "", []want{{"account.put", "Account", fixed("news")}}, nil},
			{"admin put role", "PUT", "{admin}/roles/Desk%20Chief", nil, func() any {
				return map[string]any{"level": "account", "permissions": []string{"publish"}}
			}, 201, "", []want{{"role.put", "Role", fixed("Desk Chief")}}, nil},
			{"admin create group", "POST", "{admin}/groups", nil, func() any { return map[string]any{"displayName": "Desk", "members": []string{ids["ann"]}} }, 201, "desk", []want{{"group.create", "Group", id("desk")}}, nil},
			{"admin change group", "PATCH", "{admin}/groups/{desk}", nil, func() any { return map[string]any{"displayName": "Desk 2"} }, 200, "", []want{{"group.update", "Group", id("desk")}}, nil},
			{"admin grants", "PUT", "{admin}/groups/{desk}/grants", nil, func() any {
				return map[string]any{"grants": []any{map[string]any{"scope": "account", "account": "news", "role": "Desk Chief"}}}
			}, 200, "", []want{{"group.grants", "Group", id("desk")}}, nil},
			{"admin delete group", "DELETE", "{admin}/groups/{desk}", nil, nil, 200, "", []want{{"group.delete", "Group", id("desk")}}, nil},
			{"admin delete account", "DELETE", "{admin}/accounts/news", nil, nil, 204, "", []want{{"account.delete", "Account", fixed("news")}}, nil},
			{"admin create admin token", "POST", "{admin}/admin-tokens", nil, func() any { return map[string]any{"name": "temp"} }, 201, "", []want{{"adminToken.create", "AdminToken", fixed("temp")}}, nil},
			{"admin revoke admin token", "DELETE", "{admin}/admin-tokens/temp", nil, nil, 200, "", []want{{"adminToken.revoke", "AdminToken", fixed("temp")}}, nil},
			{"admin create decision token", "POST", "{admin}/decision-tokens", nil, func() any { return map[string]any{"name": "login-service"} }, 201, "", []want{{"decisionToken.create", "DecisionToken", fixed("login-service")}}, nil},
			{"admin revoke decision token", "DELETE", "{admin}/decision-tokens/login-service", nil, nil, 200, "", []want{{"decisionToken.revoke", "DecisionToken", fixed("login-service")}}, nil},
			{"admin provisioning mode", "PUT", "{admin}/provisioning", nil, func() any { return map[string]any{"mode": "manual", "unmatchedUsers": "deactivate"} }, 200, "", []want{{"provisioning.update", "Tenant", fixed(tn.ID)}}, nil},
			{"admin create user", "POST", "{admin}/users", nil, func() any { return map[string]any{"userName": "cy.local", "email": "cy@x.test"} }, 201, "cy", []want{{"user.create", "User", id("cy")}}, nil},
			{"admin change user", "PATCH", "{admin}/users/{cy}", nil, func() any { return map[string]any{"department": "Sports"} }, 200, "", []want{{"user.update", "User", id("cy")}}, nil},
			{"admin deactivate user", "POST", "{admin}/users/{cy}/deactivate", nil, nil, 200, "", []want{{"user.update", "User", id("cy")}}, false},
			{"admin reactivate user", "POST", "{admin}/users/{cy}/reactivate", nil, nil, 200, "", []want{{"user.update", "User", id("cy")}}, true},
			{"admin finalize", "POST", "{admin}/provisioning/finalize", nil, nil, 200, "", []want{
				{"provisioning.finalize", "Tenant", fixed(tn.ID)},
				{"user.deactivate", "User", id("cy")},
			}, nil},
			{"admin rotate scim token", "POST", "{admin}/scim-token", nil, nil, 200, "", []want{{"tenant.scimToken.rotate", "Tenant", fixed(tn.ID)}}, nil},
			{"operator changes the tenant", "PATCH", "/admin/v1/tenants/" + tn.ID, func() string { return operatorToken }, func() any { return map[string]any{"licenseLimit": 50} }, 200, "", []want{{"tenant.update", "Tenant", fixed(tn.ID)}}, nil},
			{"operator puts an account", "PUT", "{admin}/accounts/sports", func() string { return operatorToken }, func() any { return map[string]any{"name": "Sports"} }, 201, "", []want{{"account.put", "Account", fixed("sports")}}, nil},
		}
		last := newestEvent(h, admin, tn.AdminToken)
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				h.t = t
				p := strings.ReplaceAll(st.path, "{admin}", admin)
				scim := strings.HasPrefix(p, "/")
				if !strings.HasPrefix(p, "/admin/") {
					p = tn.Base + p
				} else {
					scim = false
				}
				for name, v := range ids {
					p = strings.ReplaceAll(p, "{"+name+"}", v)
				}
				token, actor := adminTok, ines
				switch {
				case st.token != nil:
					token, actor = st.token(), "operator"
				case scim:
					token, actor = scimTok, ""
				}
				var body any
				if st.body != nil {
					body = st.body()
				}
				res := h.do(st.method, p, token, body).want(st.status)
				if st.keep != "" {
					ids[st.keep] = res.json()["id"].(string)
				}
				if st.name == "admin rotate scim token" {
					scimTok = res.json()["scimToken"].(string)
				}
				got := eventsSince(h, admin, tn.AdminToken, last)
				if len(got) != len(st.events) {
					t.Fatalf("%d audit events, want %d: %v", len(got), len(st.events), got)
				}
				for i, w := range st.events {
					ev := got[i]
					eq(t, ev["action"], w.action)
					eq(t, ev["targetType"], w.targetType)
					eq(t, ev["targetId"], w.targetID())
					checkActor(t, ev, scim, actor)
				}
				last = got[0]["id"].(string)
				if st.active != nil {
					eq(t, res.json()["active"], st.active)
					found := false
					for _, c := range asList(got[0]["changes"]) {
						if path(c, "attribute") == "active" {
							found = true
							eq(t, path(c, "new"), st.active)
						}
					}
					if !found {
						t.Errorf("event without a change of active: %v", got[0])
					}
				}
			})
		}
		h.t = t
	})
}

// checkActor checks an event's source and who acted. It reads the actor
// field whatever its shape (a name, or an object naming it), so that only
// what it says is pinned: SCIM events name no person and carry no address;
// admin events name the token's holder (or the operator) and the address.
func checkActor(t *testing.T, ev map[string]any, scim bool, actor string) {
	t.Helper()
	raw, err := json.Marshal(ev["actor"])
	if err != nil {
		t.Fatal(err)
	}
	if scim {
		eq(t, ev["source"], "scim")
		if strings.Contains(string(raw), "@") || strings.Contains(string(raw), "operator") {
			t.Errorf("a SCIM event names an admin: %s", raw)
		}
		if ip, _ := ev["ip"].(string); ip != "" {
			t.Errorf("a SCIM event has an address: %v", ev)
		}
		return
	}
	eq(t, ev["source"], "admin")
	if !strings.Contains(string(raw), actor) {
		t.Errorf("actor %s does not name %q", raw, actor)
	}
	if ip, _ := ev["ip"].(string); ip == "" {
		t.Errorf("an admin event without an address: %v", ev)
	}
}

// newestEvent is the id of the tenant's newest audit event ("" if none).
func newestEvent(h *harness, admin, token string) string {
	h.t.Helper()
	events := asList(h.do(http.MethodGet, admin+"/audit?count=1", token, nil).want(200).json()["events"])
	if len(events) == 0 {
		return ""
	}
	return path(events, 0, "id").(string)
}

// eventsSince lists the events newer than the one with id since, newest first.
func eventsSince(h *harness, admin, token, since string) []map[string]any {
	h.t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		q := admin + "/audit?count=20"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page := h.do(http.MethodGet, q, token, nil).want(200).json()
		events := asList(page["events"])
		for _, e := range events {
			m := e.(map[string]any)
			if m["id"] == since {
				return out
			}
			out = append(out, m)
		}
		cursor, _ = page["nextCursor"].(string)
		if len(events) == 0 || cursor == "" {
			return out
		}
	}
}
