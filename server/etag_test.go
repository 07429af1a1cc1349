package server_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestConditionalRequests is the If-Match/ETag matrix: for every resource
// (SCIM and admin, users and groups) and every method that changes it, a
// stale If-Match is 412 and changes nothing; the current ETag lets the
// change through, a 200 answer carries the new ETag (the one a GET then
// shows, and meta.version on SCIM), and the old ETag is stale afterwards.
func TestConditionalRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		idp := h.newTenant(100)
		manual := h.newTenant(100)
		h.do(http.MethodPut, adminPath(manual)+"/provisioning", manual.AdminToken, map[string]any{"mode": "manual"}).want(200)
		n := 0
		uniq := func() int { n++; return n }
		scimUser := func() string {
			return h.do(http.MethodPost, idp.Base+"/Users", idp.SCIMToken, userBody(fmt.Sprintf("etag%d@x", uniq()))).want(201).json()["id"].(string)
		}
		member := scimUser()
		scimGroup := func() string {
			return h.do(http.MethodPost, idp.Base+"/Groups", idp.SCIMToken, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g%d"}`, uniq())).want(201).json()["id"].(string)
		}
		adminUser := func() string {
			return h.do(http.MethodPost, adminPath(manual)+"/users", manual.AdminToken, map[string]any{"userName": fmt.Sprintf("m%d.local", uniq())}).want(201).json()["id"].(string)
		}
		adminMember := adminUser()
		adminGroup := func() string {
			return h.do(http.MethodPost, adminPath(manual)+"/groups", manual.AdminToken, map[string]any{"displayName": fmt.Sprintf("a%d", uniq())}).want(201).json()["id"].(string)
		}
		scimPatch := func(ops string) func(int) any {
			return func(int) any { return `{` + patchOp + `,"Operations":[` + ops + `]}` }
		}
		for _, tc := range []struct {
			name   string
			base   string // the collection
			token  string
			scim   bool
			create func() string
			method string
			suffix string          // after the resource's path
			body   func(i int) any // i makes each change differ
			status int             // of the change that goes through
			after  func(t *testing.T, got map[string]any)
		}{
			{name: "SCIM user PUT", base: idp.Base + "/Users", token: idp.SCIMToken, scim: true, create: scimUser, method: "PUT",
				body: func(i int) any { return userBody(fmt.Sprintf("put%d-%d@x", i, uniq())) }, status: 200},
			{name: "SCIM user PATCH", base: idp.Base + "/Users", token: idp.SCIMToken, scim: true, create: scimUser, method: "PATCH",
				body: func(i int) any {
					return fmt.Sprintf(`{`+patchOp+`,"Operations":[{"op":"Replace","path":"displayName","value":"D %d"}]}`, i)
				}, status: 200},
			{name: "SCIM user DELETE", base: idp.Base + "/Users", token: idp.SCIMToken, scim: true, create: scimUser, method: "DELETE", status: 204},
			{name: "SCIM group PUT", base: idp.Base + "/Groups", token: idp.SCIMToken, scim: true, create: scimGroup, method: "PUT",
				body: func(i int) any {
					return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"put %d %d"}`, i, uniq())
				}, status: 200},
			{name: "SCIM group PATCH displayName", base: idp.Base + "/Groups", token: idp.SCIMToken, scim: true, create: scimGroup, method: "PATCH",
				body: func(i int) any {
					return fmt.Sprintf(`{`+patchOp+`,"Operations":[{"op":"Replace","path":"displayName","value":"renamed %d %d"}]}`, i, uniq())
				}, status: 204},
			{name: "SCIM group PATCH members", base: idp.Base + "/Groups", token: idp.SCIMToken, scim: true, create: scimGroup, method: "PATCH",
				body: scimPatch(`{"op":"Add","path":"members","value":[{"value":"` + member + `"}]}`), status: 204,
				after: func(t *testing.T, got map[string]any) { eq(t, len(asList(got["members"])), 1) }},
			{name: "SCIM group DELETE", base: idp.Base + "/Groups", token: idp.SCIMToken, scim: true, create: scimGroup, method: "DELETE", status: 204},
			{name: "admin user PATCH", base: adminPath(manual) + "/users", token: manual.AdminToken, create: adminUser, method: "PATCH",
				body: func(i int) any { return map[string]any{"department": fmt.Sprintf("D%d", i)} }, status: 200},
			{name: "admin user deactivate", base: adminPath(manual) + "/users", token: manual.AdminToken, create: adminUser, method: "POST", suffix: "/deactivate", status: 200,
				after: func(t *testing.T, got map[string]any) { eq(t, got["active"], false) }},
			{name: "admin user reactivate", base: adminPath(manual) + "/users", token: manual.AdminToken, create: func() string {
				id := adminUser()
				h.do(http.MethodPost, adminPath(manual)+"/users/"+id+"/deactivate", manual.AdminToken, nil).want(200)
				return id
			}, method: "POST", suffix: "/reactivate", status: 200,
				after: func(t *testing.T, got map[string]any) { eq(t, got["active"], true) }},
			{name: "admin group PATCH", base: adminPath(manual) + "/groups", token: manual.AdminToken, create: adminGroup, method: "PATCH",
				body: func(i int) any { return map[string]any{"displayName": fmt.Sprintf("renamed %d %d", i, uniq())} }, status: 200},
			{name: "admin group PATCH members", base: adminPath(manual) + "/groups", token: manual.AdminToken, create: adminGroup, method: "PATCH",
				body: func(int) any { return map[string]any{"addMembers": []string{adminMember}} }, status: 200},
			{name: "admin group DELETE", base: adminPath(manual) + "/groups", token: manual.AdminToken, create: adminGroup, method: "DELETE", status: 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				defer func() { h.t = t }()
				id := tc.create()
				res := tc.base + "/" + id
				get := func() (string, map[string]any) {
					t.Helper()
					r := h.do(http.MethodGet, res, tc.token, nil).want(200)
					m := r.json()
					e := r.header.Get("ETag")
					if e == "" {
						t.Fatalf("GET without an ETag: %s", r.body)
					}
					if tc.scim {
						eq(t, path(m, "meta", "version"), e)
					}
					return e, m
				}
				body := func(i int) any {
					if tc.body == nil {
						return nil
					}
					return tc.body(i)
				}
				before, doc := get()

				// Stale: 412, nothing changes.
				stale := h.do(tc.method, res+tc.suffix, tc.token, body(1), "If-Match", `W/"stale-0"`)
				if stale.status != http.StatusPreconditionFailed {
					t.Fatalf("stale If-Match: status %d, want 412: %s", stale.status, stale.body)
				}
				if e, now := get(); e != before || fmt.Sprint(now) != fmt.Sprint(doc) {
					t.Fatalf("a refused change changed the resource: ETag %s -> %s", before, e)
				}

				// Current: the change lands.
				ok := h.do(tc.method, res+tc.suffix, tc.token, body(2), "If-Match", before).want(tc.status)
				if tc.method == http.MethodDelete {
					h.do(http.MethodGet, res, tc.token, nil).want(404)
					return
				}
				after, got := get()
				if after == before {
					t.Fatalf("the change kept the ETag %s", after)
				}
				if tc.status == http.StatusOK {
					eq(t, ok.header.Get("ETag"), after)
					if tc.scim {
						eq(t, path(ok.json(), "meta", "version"), after)
					}
				}
				if tc.after != nil {
					tc.after(t, got)
				}

				// The old ETag is stale now.
				again := h.do(tc.method, res+tc.suffix, tc.token, body(3), "If-Match", before)
				if again.status != http.StatusPreconditionFailed {
					t.Fatalf("If-Match of the version replaced: status %d, want 412: %s", again.status, again.body)
				}
			})
		}
	})
}
