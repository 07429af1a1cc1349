package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAdminUsersActive: GET users keeps only active or only deactivated
// users with ?active=, alone or with ?managedBy=, and counts only those.
func TestAdminUsersActive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)
		scimOn := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("on@x")).want(201).json()["id"].(string)
		scimOff := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("off@x", `,"active":false`)).want(201).json()["id"].(string)
		h.do(http.MethodPut, admin+"/provisioning", tn.AdminToken, map[string]any{"mode": "manual"}).want(200)
		manualOn := h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "m-on.local"}).want(201).json()["id"].(string)
		manualOff := h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "m-off.local", "active": false}).want(201).json()["id"].(string)
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{scimOn, scimOff, manualOn, manualOff}},
			{"?active=true", []string{scimOn, manualOn}},
			{"?active=false", []string{scimOff, manualOff}},
			{"?active=false&managedBy=scim", []string{scimOff}},
			{"?managedBy=manual&active=true", []string{manualOn}},
			{"?active=true&count=1", []string{scimOn}},
			{"?active=true&startIndex=2", []string{manualOn}},
		} {
			t.Run(tc.query, func(t *testing.T) {
				h.t = t
				res := h.do(http.MethodGet, admin+"/users"+tc.query, tn.AdminToken, nil).want(200).json()
				var got []string
				for _, u := range asList(res["users"]) {
					got = append(got, path(u, "id").(string))
				}
				eq(t, strings.Join(got, " "), strings.Join(tc.want, " "))
			})
		}
		h.t = t
		for _, bad := range []string{"?active=yes", "?active=True", "?active=1"} {
			if d := h.do(http.MethodGet, admin+"/users"+bad, tn.AdminToken, nil).want(400).detail(); !strings.Contains(d, "active") {
				t.Errorf("%s: detail %q does not name active", bad, d)
			}
		}
	})
}

// TestAdminUnknownQueryParameter: a query parameter an admin route does not
// read is a 400 naming it (after authentication), on every kind of route;
// the SCIM API keeps ignoring the ones it does not know, as Entra needs.
func TestAdminUnknownQueryParameter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		admin := adminPath(tn)
		for _, tc := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			names                     string // in the detail
		}{
			{"typo of active", "GET", admin + "/users?activ=false", tn.AdminToken, nil, 400, `"activ"`},
			{"users filter unknown", "GET", admin + "/users?filter=x&count=5", tn.AdminToken, nil, 400, `"filter"`},
			{"groups", "GET", admin + "/groups?displayname=x", tn.AdminToken, nil, 400, `"displayname"`},
			{"audit", "GET", admin + "/audit?actr=x", tn.AdminToken, nil, 400, `"actr"`},
			{"a route reading none", "GET", admin + "/license?verbose=1", tn.AdminToken, nil, 400, `"verbose"`},
			{"a write", "PUT", admin + "/accounts/news?dryRun=true", tn.AdminToken, map[string]any{"name": "News"}, 400, `"dryRun"`},
			{"operator route", "GET", "/admin/v1/tenants?limit=5", operatorToken, nil, 400, `"limit"`},
			{"operator on a tenant route", "GET", admin + "/roles?x=1", operatorToken, nil, 400, `"x"`},
			{"unauthenticated: 401 first", "GET", admin + "/users?activ=false", "", nil, 401, ""},
			{"known ones pass", "GET", admin + "/users?active=true&managedBy=scim&startIndex=1&count=10", tn.AdminToken, nil, 200, ""},
			{"known audit ones pass", "GET", admin + "/audit?count=5&source=admin&actor=x", tn.AdminToken, nil, 200, ""},
			{"SCIM ignores unknown ones", "GET", tn.Base + "/Users?aadOptscim062020&whatever=1", tn.SCIMToken, nil, 200, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := h.do(tc.method, tc.path, tc.token, tc.body).want(tc.status)
				if tc.names != "" {
					if d := res.detail(); !strings.Contains(d, tc.names) {
						t.Errorf("detail %q does not name %s", d, tc.names)
					}
				}
			})
		}
		h.t = t
		// A refused write wrote nothing.
		h.do(http.MethodGet, admin+"/accounts", tn.AdminToken, nil).want(200)
		if strings.Contains(h.do(http.MethodGet, admin+"/accounts", tn.AdminToken, nil).text(), "news") {
			t.Fatal("a write with an unknown parameter landed")
		}
	})
}
