package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTenantAdmin covers the operator's tenant API.
func TestTenantAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		got := h.do(http.MethodGet, "/admin/v1/tenants/"+tn.ID, operatorToken, nil).want(200).json()
		eq(t, got["id"], tn.ID)
		eq(t, got["licenseLimit"], float64(100))
		eq(t, got["seatsUsed"], float64(0))
		eq(t, got["scimBaseUrl"], "http://scimd.test/scim/v2/"+tn.ID)
		if strings.Contains(h.do(http.MethodGet, "/admin/v1/tenants/"+tn.ID, operatorToken, nil).text(), "Token") {
			t.Fatal("tokens are shown again after creation")
		}
		list := h.do(http.MethodGet, "/admin/v1/tenants", operatorToken, nil).want(200).json()
		found := false
		for _, x := range asList(list["tenants"]) {
			found = found || path(x, "id") == tn.ID
		}
		if !found {
			t.Fatalf("tenant not listed: %v", list)
		}

		for _, tc := range []struct {
			name, method, path, token string
			body                      any
			status                    int
		}{
			{"no operator token", http.MethodGet, "/admin/v1/tenants", "", nil, 401},
			{"tenant token is not the operator's", http.MethodGet, "/admin/v1/tenants", tn.AdminToken, nil, 401},
			{"duplicate id", http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": tn.ID, "name": "x", "licenseLimit": 1}, 409},
			{"bad id", http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": "Acme Corp", "name": "x", "licenseLimit": 1}, 400},
			{"missing limit", http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": "no-limit", "name": "x"}, 400},
			{"negative limit", http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": "neg", "name": "x", "licenseLimit": -1}, 400},
			{"unknown field", http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": "typo", "name": "x", "licenceLimit": 1}, 400},
			{"not JSON", http.MethodPost, "/admin/v1/tenants", operatorToken, "{", 400},
			{"unknown tenant", http.MethodGet, "/admin/v1/tenants/nope-nope", operatorToken, nil, 404},
			{"delete unknown tenant", http.MethodDelete, "/admin/v1/tenants/nope-nope", operatorToken, nil, 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := h.do(tc.method, tc.path, tc.token, tc.body)
				if res.status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
				}
				if m := res.json(); m["status"] != float64(tc.status) {
					t.Fatalf("not a problem document: %s", res.body)
				}
				res.detail()
			})
		}
		h.t = t

		// Deleting a tenant removes its data and its tokens stop working.
		other := h.newTenant(5)
		h.do(http.MethodPost, other.Base+"/Users", other.SCIMToken, userBody("gone@x")).want(201)
		h.do(http.MethodDelete, "/admin/v1/tenants/"+other.ID, operatorToken, nil).want(204)
		h.do(http.MethodGet, "/admin/v1/tenants/"+other.ID, operatorToken, nil).want(404)
		h.do(http.MethodGet, other.Base+"/Users", other.SCIMToken, nil).want(401)
	})
}

// TestHealth: liveness and readiness answer.
func TestHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		h.do(http.MethodGet, "/healthz", "", nil).want(200)
		h.do(http.MethodGet, "/readyz", "", nil).want(200)
	})
}

// TestRotateSCIMToken: the tenant admin (or the operator) rotates the SCIM
// token: the new one is shown once, the old one stops working at once, and
// the audit log says who rotated it, never the token.
func TestRotateSCIMToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		other := h.newTenant(10)
		path := "/admin/v1/tenants/" + tn.ID + "/scim-token"
		h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200) // cached now

		res := h.do(http.MethodPost, path, tn.AdminToken, nil).want(200)
		eq(t, res.header.Get("Cache-Control"), "no-store")
		rotated, _ := res.json()["scimToken"].(string)
		if !strings.HasPrefix(rotated, "scimd_scim_") || rotated == tn.SCIMToken {
			t.Fatalf("rotated token %q", rotated)
		}
		h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(401)
		h.do(http.MethodGet, tn.Base+"/Users", rotated, nil).want(200)
		// The operator may rotate too; then the admin's rotated token is old.
		again := h.do(http.MethodPost, path, operatorToken, `{}`).want(200).json()["scimToken"].(string)
		h.do(http.MethodGet, tn.Base+"/Users", rotated, nil).want(401)
		h.do(http.MethodGet, tn.Base+"/Users", again, nil).want(200)

		audit := h.do(http.MethodGet, "/admin/v1/tenants/"+tn.ID+"/audit?action=tenant.scimToken.rotate", tn.AdminToken, nil).want(200)
		eq(t, len(asList(audit.json()["events"])), 2)
		if strings.Contains(audit.text(), "scimd_scim_") {
			t.Fatal("a token reached the audit log")
		}
		for _, tc := range []struct {
			name, token string
			body        any
			status      int
		}{
			{"another tenant's admin", other.AdminToken, nil, 401},
			{"the SCIM token", again, nil, 401},
			{"a body that is not {}", tn.AdminToken, `{"token":"mine"}`, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.do(http.MethodPost, path, tc.token, tc.body).want(tc.status)
			})
		}
		h.do(http.MethodGet, tn.Base+"/Users", again, nil).want(200) // nothing above rotated it
	})
}

// TestAdminTokenRevocation: admin tokens are listed by name and revoked by
// name (all tokens of it, the tenant's first token too), at once, audited.
func TestAdminTokenRevocation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		admin := "/admin/v1/tenants/" + tn.ID
		mint := func(name string) string {
			return h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": name}).want(201).json()["token"].(string)
		}
		ines1, ines2, omar := mint("ines@acme.example"), mint("ines@acme.example"), mint("omar@acme.example")
		list := h.do(http.MethodGet, admin+"/admin-tokens", omar, nil).want(200)
		eq(t, fmt.Sprint(list.json()["adminTokens"]), "[map[name:ines@acme.example tokens:2] map[name:omar@acme.example tokens:1] map[name:tenant-admin tokens:1]]")
		if strings.Contains(list.text(), "scimd_adm_") {
			t.Fatal("the listing shows a token")
		}
		h.do(http.MethodGet, admin+"/users", ines1, nil).want(200) // cached now

		res := h.do(http.MethodDelete, admin+"/admin-tokens/"+url.PathEscape("ines@acme.example"), omar, nil).want(200).json()
		eq(t, res["revoked"], float64(2))
		h.do(http.MethodGet, admin+"/users", ines1, nil).want(401)
		h.do(http.MethodGet, admin+"/users", ines2, nil).want(401)
		h.do(http.MethodGet, admin+"/users", omar, nil).want(200)

		// The first token, and then the operator can still mint a new one.
		eq(t, h.do(http.MethodDelete, admin+"/admin-tokens/tenant-admin", operatorToken, nil).want(200).json()["revoked"], float64(1))
		h.do(http.MethodGet, admin+"/users", tn.AdminToken, nil).want(401)
		h.do(http.MethodDelete, admin+"/admin-tokens/nobody", omar, nil).want(404)

		events := asList(h.do(http.MethodGet, admin+"/audit?action=adminToken.revoke", omar, nil).want(200).json()["events"])
		eq(t, len(events), 2)
		eq(t, path(events, 1, "actor", "name"), "omar@acme.example")
		eq(t, path(events, 1, "targetId"), "ines@acme.example")
	})
}
