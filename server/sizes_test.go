package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAttributeSizeCaps: a string value over 4 KiB or a record over 64 KiB
// is refused with a 400 naming the attribute, on every write path of both
// edges, and nothing of it is stored (issue 11 item 5: 40 PATCHes of a
// 1 MB displayName grew Redis by 86 MB).
func TestAttributeSizeCaps(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessWith(t, url, 1<<20) // the caps, not the body limit, must answer
			tn := h.newTenant(100)
			big := strings.Repeat("x", 4<<10+1)
			fits := strings.Repeat("y", 4<<10)
			var addresses []string
			for i := 0; i < 20; i++ {
				addresses = append(addresses, `{"type":"work","streetAddress":"`+fits+`"}`)
			}
			huge := `,"addresses":[` + strings.Join(addresses, ",") + `]`

			u := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("sized@x", `,"displayName":"ok"`)).want(201).json()
			uid := u["id"].(string)
			g := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"sized"}`).want(201).json()
			gid := g["id"].(string)
			patch := func(path, value string) string {
				return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"` + path + `","value":"` + value + `"}]}`
			}
			admin := "/admin/v1/tenants/" + tn.ID

			cases := []struct {
				name, method, path, token string
				body                      string
				attr                      string
			}{
				{"SCIM POST user value", http.MethodPost, tn.Base + "/Users", tn.SCIMToken, userBody("big@x", `,"displayName":"`+big+`"`), "displayName"},
				{"SCIM POST user nested value", http.MethodPost, tn.Base + "/Users", tn.SCIMToken, userBody("big@x", `,"name":{"givenName":"`+big+`"}`), "name.givenName"},
				{"SCIM POST user record", http.MethodPost, tn.Base + "/Users", tn.SCIMToken, userBody("big@x", huge), "addresses"},
				{"SCIM PUT user value", http.MethodPut, tn.Base + "/Users/" + uid, tn.SCIMToken, userBody("sized@x", `,"emails":[{"type":"work","value":"`+big+`"}]`), "emails.value"},
				{"SCIM PUT user record", http.MethodPut, tn.Base + "/Users/" + uid, tn.SCIMToken, userBody("sized@x", huge), "addresses"},
				{"SCIM PATCH user value", http.MethodPatch, tn.Base + "/Users/" + uid, tn.SCIMToken, patch("displayName", big), "displayName"},
				{"SCIM POST group value", http.MethodPost, tn.Base + "/Groups", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + big + `"}`, "displayName"},
				{"SCIM PUT group value", http.MethodPut, tn.Base + "/Groups/" + gid, tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + big + `"}`, "displayName"},
				{"SCIM PATCH group value", http.MethodPatch, tn.Base + "/Groups/" + gid, tn.SCIMToken, patch("displayName", big), "displayName"},
				{"admin POST user value", http.MethodPost, admin + "/users", tn.AdminToken, `{"userName":"adm@x","department":"` + big + `"}`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
				{"admin PATCH user value", http.MethodPatch, admin + "/users/" + uid, tn.AdminToken, `{"givenName":"` + big + `"}`, "name.givenName"},
				{"admin POST group value", http.MethodPost, admin + "/groups", tn.AdminToken, `{"displayName":"` + big + `"}`, "displayName"},
				{"admin PATCH group value", http.MethodPatch, admin + "/groups/" + gid, tn.AdminToken, `{"displayName":"` + big + `"}`, "displayName"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					res := h.do(c.method, c.path, c.token, c.body).want(http.StatusBadRequest).json()
					if strings.HasPrefix(c.path, "/scim/") {
						eq(t, res["scimType"], "invalidValue")
					}
					detail, _ := res["detail"].(string)
					if !strings.HasPrefix(detail, c.attr+" ") && !strings.Contains(detail, "("+c.attr+" alone") {
						t.Errorf("detail %q does not name %s", detail, c.attr)
					}
				})
			}

			// Nothing of it was stored: one user and one group, as they were.
			list := h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200).json()
			eq(t, list["totalResults"], float64(1))
			got := h.do(http.MethodGet, tn.Base+"/Users/"+uid, tn.SCIMToken, nil).want(200).json()
			eq(t, got["displayName"], "ok")
			eq(t, got["meta"].(map[string]any)["version"], `W/"1"`)
			gl := h.do(http.MethodGet, tn.Base+"/Groups", tn.SCIMToken, nil).want(200).json()
			eq(t, gl["totalResults"], float64(1))
			eq(t, h.do(http.MethodGet, tn.Base+"/Groups/"+gid, tn.SCIMToken, nil).want(200).json()["displayName"], "sized")

			// At the caps, writes pass.
			h.do(http.MethodPatch, tn.Base+"/Users/"+uid, tn.SCIMToken, patch("displayName", fits)).want(200)
		})
	}
}

// TestAdminObjectCaps: sub-account names, role permissions and grants per
// group are capped, with a problem naming what is too big.
func TestAdminObjectCaps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		admin := "/admin/v1/tenants/" + tn.ID
		g := h.do(http.MethodPost, admin+"/groups", tn.AdminToken, `{"displayName":"caps"}`).want(201).json()
		perms := make([]string, 101)
		for i := range perms {
			perms[i] = fmt.Sprintf("p%d", i)
		}
		grants := make([]map[string]string, 101)
		for i := range grants {
			grants[i] = map[string]string{"scope": "enterprise", "role": "Enterprise Admin"}
		}
		cases := []struct {
			name, method, path string
			body               any
			want               string
		}{
			{"account name", http.MethodPut, admin + "/accounts/a1", map[string]string{"name": strings.Repeat("n", 257)}, "name is 257 bytes"},
			{"role permissions", http.MethodPut, admin + "/roles/Big", map[string]any{"level": "enterprise", "permissions": perms}, "at most 100 permissions"},
			{"grants per group", http.MethodPut, admin + "/groups/" + g["id"].(string) + "/grants", map[string]any{"grants": grants}, "at most 100 grants"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := h.do(c.method, c.path, tn.AdminToken, c.body).want(http.StatusBadRequest).json()
				if d, _ := res["detail"].(string); !strings.Contains(d, c.want) {
					t.Errorf("detail %q, want it to say %q", d, c.want)
				}
			})
		}
		h.do(http.MethodPut, admin+"/accounts/a1", tn.AdminToken, map[string]string{"name": strings.Repeat("n", 256)}).want(201)
		if accs := h.do(http.MethodGet, admin+"/accounts", tn.AdminToken, nil).want(200).text(); strings.Count(accs, `"id"`) != 1 {
			t.Errorf("accounts: %s", accs)
		}
	})
}
