package server_test

import (
	"net/http"
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
				if m := res.json(); m["status"] != float64(tc.status) || m["detail"] == "" {
					t.Fatalf("not a problem document: %s", res.body)
				}
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
