package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestEmptyListsAreArrays: every list the admin and SCIM APIs answer is
// [] when empty, never null. Only values that are single and absent may be
// null (lastRefusal before any refusal, enterprise access without an
// enterprise grant).
func TestEmptyListsAreArrays(t *testing.T) {
	// An audit event without an actor or an IP (SCIM's, the access
	// resolver's) says so with null, as documented.
	mayBeNull := map[string]bool{"lastRefusal": true, "enterprise": true, "actor": true, "ip": true}
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		admin := "/admin/v1/tenants/" + tn.ID
		h.do(http.MethodPut, admin+"/provisioning", tn.AdminToken, map[string]any{"mode": "manual"}).want(200)
		var user, group struct{ ID string }
		h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "empty-lists@example.com"}).want(201).decode(&user)
		h.do(http.MethodPost, admin+"/groups", tn.AdminToken, map[string]any{"displayName": "Empty lists"}).want(201).decode(&group)
		for _, p := range []struct{ path, token string }{
			{admin, operatorToken},
			{admin + "/accounts", tn.AdminToken},
			{admin + "/roles", tn.AdminToken},
			{admin + "/users", tn.AdminToken},
			{admin + "/users?managedBy=scim", tn.AdminToken},
			{admin + "/users/" + user.ID, tn.AdminToken},
			{admin + "/users/" + user.ID + "/access", tn.AdminToken},
			{admin + "/groups", tn.AdminToken},
			{admin + "/groups/" + group.ID, tn.AdminToken},
			{admin + "/groups/" + group.ID + "/grants", tn.AdminToken},
			{admin + "/admin-tokens", tn.AdminToken},
			{admin + "/audit", tn.AdminToken},
			{admin + "/audit?since=2100-01-01T00:00:00Z", tn.AdminToken},
			{admin + "/audit?action=no.such.action", tn.AdminToken},
			{admin + "/license", tn.AdminToken},
			{admin + "/provisioning", tn.AdminToken},
			{tn.Base + "/Users?filter=userName%20eq%20%22nobody%22", tn.SCIMToken},
			{tn.Base + "/Groups?filter=displayName%20eq%20%22nobody%22", tn.SCIMToken},
		} {
			res := h.do(http.MethodGet, p.path, p.token, nil)
			if res.status != http.StatusOK {
				t.Errorf("GET %s: %d %s", p.path, res.status, res.body)
				continue
			}
			var doc any
			if err := json.Unmarshal(res.body, &doc); err != nil {
				t.Fatalf("GET %s: %v", p.path, err)
			}
			for _, key := range nullKeys(doc, "") {
				if !mayBeNull[key] {
					t.Errorf("GET %s: %q is null, want [] or a value: %s", p.path, key, res.body)
				}
			}
		}
	})
}

// nullKeys lists the keys whose value is null anywhere in doc.
func nullKeys(doc any, key string) []string {
	switch v := doc.(type) {
	case nil:
		return []string{key}
	case map[string]any:
		var out []string
		for k, e := range v {
			out = append(out, nullKeys(e, k)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, nullKeys(e, key)...)
		}
		return out
	}
	return nil
}
