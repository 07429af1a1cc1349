package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSeatRequests: a tenant admin's "request more seats" is recorded with
// the license as it stood, audited with its actor, listed for the tenant and
// in the operator's list across tenants; bad requests are precise 400s and
// other tenants' tokens are refused.
func TestSeatRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ten := h.newTenant(2)
		other := h.newTenant(1)
		base := "/admin/v1/tenants/" + ten.ID
		h.do(http.MethodPut, base+"/provisioning", ten.AdminToken, map[string]any{"mode": "manual"}).want(200)
		for i := range 2 {
			h.do(http.MethodPost, base+"/users", ten.AdminToken, map[string]any{"userName": "u" + string(rune('a'+i)) + "@example.com"}).want(201)
		}
		res := h.do(http.MethodPost, base+"/license/requests", ten.AdminToken, map[string]any{"seats": 25, "note": "  new hires in March "}).want(201)
		got := res.json()
		if got["seats"] != float64(25) || got["note"] != "new hires in March" || got["limit"] != float64(2) || got["seatsUsed"] != float64(2) || got["by"] == nil {
			t.Errorf("request %v", got)
		}
		h.do(http.MethodPost, base+"/license/requests", operatorToken, map[string]any{"seats": 1}).want(201)

		list := h.do(http.MethodGet, base+"/license/requests", ten.AdminToken, nil).want(200).json()
		reqs, _ := list["seatRequests"].([]any)
		if len(reqs) != 2 || path(reqs, 1, "seats") != float64(25) || path(reqs, 0, "by") != nil {
			t.Errorf("tenant list %v", list)
		}
		h.do(http.MethodGet, "/admin/v1/tenants/"+other.ID+"/license/requests", other.AdminToken, nil).want(200)

		all := h.do(http.MethodGet, "/admin/v1/license-requests", operatorToken, nil).want(200).json()
		n := 0
		for _, r := range all["seatRequests"].([]any) {
			if path(r, "tenant") == ten.ID {
				n++
			}
			if path(r, "tenant") == other.ID {
				t.Errorf("a tenant that asked nothing is listed: %v", r)
			}
		}
		if n != 2 {
			t.Errorf("operator list holds %d of the tenant's requests, want 2: %v", n, all)
		}
		h.do(http.MethodGet, "/admin/v1/license-requests", ten.AdminToken, nil).want(401)

		audit := h.do(http.MethodGet, base+"/audit?action=license.seats_requested", ten.AdminToken, nil).want(200).json()
		evs, _ := audit["events"].([]any)
		if len(evs) != 2 || path(evs, 1, "actor", "kind") != "admin" || path(evs, 1, "changes", 0, "new") != float64(25) {
			t.Errorf("audit %v", audit)
		}

		for name, c := range map[string]struct {
			body   any
			detail string
		}{
			"zero seats":    {map[string]any{"seats": 0}, "seats must be between"},
			"too many":      {map[string]any{"seats": 1_000_001}, "seats must be between"},
			"no seats":      {map[string]any{"note": "x"}, `{"seats": N`},
			"unknown field": {map[string]any{"seats": 1, "sets": 2}, "unknown field"},
			"long note":     {map[string]any{"seats": 1, "note": strings.Repeat("x", 1001)}, "at most 1000"},
			"not a number":  {`{"seats":"5"}`, `{"seats": N`},
		} {
			t.Run(name, func(t *testing.T) {
				d := h.do(http.MethodPost, base+"/license/requests", ten.AdminToken, c.body).want(400).detail()
				if !strings.Contains(d, c.detail) {
					t.Errorf("detail %q, want it to say %q", d, c.detail)
				}
			})
		}
		h.do(http.MethodPost, base+"/license/requests", other.AdminToken, map[string]any{"seats": 1}).want(401)
		h.do(http.MethodPost, "/admin/v1/tenants/e2e-none/license/requests", operatorToken, map[string]any{"seats": 1}).want(404)
	})
}
