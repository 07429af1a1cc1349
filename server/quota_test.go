package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage"
)

// TestTenantQuotas: users (inactive ones too), groups and members per group
// are bounded per tenant, never overshot by concurrent creates from both
// APIs, refused with a 403 saying which quota, reported by GET license and
// the operator's tenant read, and changed by the operator at once.
func TestTenantQuotas(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessStore(t, url, storage.Options{Quotas: storage.Quotas{Users: 5, Groups: 2, Members: 2}}, func(*server.Config) {})
			tn := h.newTenant(100)
			admin := adminPath(tn)
			h.setMode(tn, map[string]any{"mode": "manual"})

			const n = 16
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i%2 == 0 {
						statuses[i] = h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(fmt.Sprintf("q%d@x", i), `,"active":false`)).status
					} else {
						statuses[i] = h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": fmt.Sprintf("q%d@x", i)}).status
					}
				}()
			}
			wg.Wait()
			got := map[int]int{}
			for _, s := range statuses {
				got[s]++
			}
			if got[201] != 5 || got[403] != n-5 {
				t.Fatalf("statuses %v, want 5 created and %d refused", got, n-5)
			}
			res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("late@x")).want(403).json()
			if d, _ := res["detail"].(string); !strings.Contains(d, "tenant quota reached: 5 of 5 users") {
				t.Fatalf("SCIM refusal detail: %q", d)
			}

			users := h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200).json()["Resources"].([]any)
			ids := make([]string, len(users))
			for i, u := range users {
				ids[i] = u.(map[string]any)["id"].(string)
			}
			group := func(name string) string {
				return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + name + `"}`
			}
			gid := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, group("g1")).want(201).json()["id"].(string)
			members := func(ids ...string) string {
				vals := make([]string, len(ids))
				for i, id := range ids {
					vals[i] = `{"value":"` + id + `"}`
				}
				return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[` + strings.Join(vals, ",") + `]}]}`
			}
			res = h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, members(ids[0], ids[1], ids[2])).want(403).json()
			if d, _ := res["detail"].(string); !strings.Contains(d, "at most 2 members") {
				t.Fatalf("members refusal detail: %q", d)
			}
			h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, members(ids[0], ids[1])).want(204)
			prob := h.do(http.MethodPost, admin+"/groups", tn.AdminToken, map[string]any{"displayName": "app", "members": ids[:3]}).want(403).json()
			if d, _ := prob["detail"].(string); !strings.Contains(d, "at most 2 members") {
				t.Fatalf("admin members refusal detail: %q", d)
			}
			h.do(http.MethodPost, admin+"/groups", tn.AdminToken, map[string]any{"displayName": "app"}).want(201)
			res = h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, group("g3")).want(403).json()
			if d, _ := res["detail"].(string); !strings.Contains(d, "tenant quota reached: 2 of 2 groups") {
				t.Fatalf("groups refusal detail: %q", d)
			}

			lic := h.do(http.MethodGet, admin+"/license", tn.AdminToken, nil).want(200).json()
			eq(t, path(lic, "quotas", "users", "limit"), float64(5))
			eq(t, path(lic, "quotas", "users", "used"), float64(5))
			eq(t, path(lic, "quotas", "groups", "limit"), float64(2))
			eq(t, path(lic, "quotas", "groups", "used"), float64(2))
			eq(t, path(lic, "quotas", "membersPerGroup", "limit"), float64(2))
			ten := h.do(http.MethodGet, admin, operatorToken, nil).want(200).json()
			eq(t, path(ten, "quotas", "users", "limit"), float64(5))
			eq(t, path(ten, "quotas", "users", "used"), float64(5))
			eq(t, path(ten, "quotas", "users", "default"), true)

			// The operator raises one quota; the others stay the default.
			ten = h.do(http.MethodPatch, admin, operatorToken, map[string]any{"quotas": map[string]any{"users": 6, "membersPerGroup": 3}}).want(200).json()
			eq(t, path(ten, "quotas", "users", "limit"), float64(6))
			eq(t, path(ten, "quotas", "users", "default"), false)
			eq(t, path(ten, "quotas", "groups", "default"), true)
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("late@x")).want(201)
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("later@x")).want(403)
			h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, members(ids[2])).want(204)
			// Back to the default with 0; a negative quota is refused.
			ten = h.do(http.MethodPatch, admin, operatorToken, map[string]any{"quotas": map[string]any{"users": 0}}).want(200).json()
			eq(t, path(ten, "quotas", "users", "limit"), float64(5))
			eq(t, path(ten, "quotas", "users", "default"), true)
			h.do(http.MethodPatch, admin, operatorToken, map[string]any{"quotas": map[string]any{"groups": -1}}).want(400)
		})
	}
}

// TestAdminTokenCount: a tenant's admin tokens are capped; the refusal is a
// problem naming the cap.
func TestAdminTokenCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(1)
		admin := adminPath(tn)
		for i := range storage.MaxAdminTokens {
			h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": fmt.Sprintf("admin%d", i)}).want(201)
		}
		prob := h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": "one-more"}).want(403).json()
		if d, _ := prob["detail"].(string); !strings.Contains(d, fmt.Sprintf("at most %d admin tokens", storage.MaxAdminTokens)) {
			t.Fatalf("detail %q", d)
		}
	})
}
