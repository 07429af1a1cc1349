package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/scimapi"
)

// TestScanBudgetPerRequest: a filter without an index behind it examines
// every record of the tenant; beyond the per-request scan budget it
// answers 400 tooMany saying so, on every query form, while indexed
// filters and plain listing stay free.
func TestScanBudgetPerRequest(t *testing.T) {
	for name, u := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessConfig(t, u, func(c *server.Config) { c.Scan = scimapi.ScanBudget{MaxRecords: 3} })
			tn, uids, _ := queryDirectory(h, 4, 3)
			search := func(f string) map[string]any {
				return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": f}
			}
			for _, tc := range []struct {
				name, method, path string
				body               any
				want               int
			}{
				{"co on users", "GET", "/Users?filter=" + url.QueryEscape(`userName co "example"`), nil, 400},
				{"ew on users", "GET", "/Users?filter=" + url.QueryEscape(`userName ew ".com"`), nil, 400},
				{"pr on users", "GET", "/Users?filter=" + url.QueryEscape(`title pr`), nil, 400},
				{"not on users", "GET", "/Users?filter=" + url.QueryEscape(`not (userName eq "q1@example.com")`), nil, 400},
				{"displayName eq on users", "GET", "/Users?filter=" + url.QueryEscape(`displayName eq "Person 1"`), nil, 400},
				{"search form", "POST", "/Users/.search", search(`title eq "T"`), 400},
				{"root", "GET", "/?filter=" + url.QueryEscape(`displayName co "1"`), nil, 400},
				{"root search", "POST", "/.search", search(`displayName co "1"`), 400},
				{"groups within budget", "GET", "/Groups?filter=" + url.QueryEscape(`displayName co "1"`), nil, 200},
				{"userName eq", "GET", "/Users?filter=" + url.QueryEscape(`userName eq "q1@example.com"`), nil, 200},
				{"indexed and scan", "GET", "/Users?filter=" + url.QueryEscape(`id eq "`+uids[2]+`" and title co "T"`), nil, 200},
				{"userName sw", "GET", "/Users?filter=" + url.QueryEscape(`userName sw "q"`), nil, 200},
				{"plain listing", "GET", "/Users", nil, 200},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := h.do(tc.method, tn.Base+tc.path, tn.SCIMToken, tc.body).want(tc.want)
					if tc.want != 400 {
						return
					}
					m := r.json()
					eq(t, m["scimType"], "tooMany")
					if d, _ := m["detail"].(string); !strings.Contains(d, "scan budget") || !strings.Contains(d, "4 records") {
						t.Errorf("detail %q does not say the scan budget of 4 records is exceeded", d)
					}
				})
			}
		})
	}
}

// TestScanBudgetPerTenant: the records a tenant's scans examine are
// charged to that tenant; once its budget is spent its scans answer 429
// with Retry-After, its indexed filters still answer, and another tenant's
// scans are not charged.
func TestScanBudgetPerTenant(t *testing.T) {
	for name, u := range backends(t) {
		t.Run(name, func(t *testing.T) {
			// 10 records at once, refilled at one record every 1,000 s.
			h := newHarnessConfig(t, u, func(c *server.Config) { c.Scan = scimapi.ScanBudget{Rate: 0.001, Burst: 10} })
			a, _, _ := queryDirectory(h, 4, 0)
			b, _, _ := queryDirectory(h, 4, 0)
			scan := "/Users?filter=" + url.QueryEscape(`title co "T"`)
			h.do(http.MethodGet, a.Base+scan, a.SCIMToken, nil).want(200) // 4 of 10
			h.do(http.MethodGet, a.Base+scan, a.SCIMToken, nil).want(200) // 8 of 10
			r := h.do(http.MethodGet, a.Base+scan, a.SCIMToken, nil).want(429)
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if d, _ := r.json()["detail"].(string); !strings.Contains(d, "scan budget") {
				t.Errorf("detail %q", d)
			}
			h.do(http.MethodGet, a.Base+"/Users?filter="+url.QueryEscape(`userName eq "q0@example.com"`), a.SCIMToken, nil).want(200)
			h.do(http.MethodGet, b.Base+scan, b.SCIMToken, nil).want(200)
			h.do(http.MethodGet, b.Base+scan, b.SCIMToken, nil).want(200)
			// A scan bigger than the budget can ever hold is no reason to wait.
			big := newHarnessConfig(t, u, func(c *server.Config) { c.Scan = scimapi.ScanBudget{Rate: 1, Burst: 3, MaxRecords: -1} })
			m := big.do(http.MethodGet, b.Base+scan, b.SCIMToken, nil).want(400).json()
			eq(t, m["scimType"], "tooMany")
		})
	}
}

// TestScanBudgetShared: with Shared, a tenant's scan budget is one for
// every replica on the Redis: what it spent through one is gone on the
// other.
func TestScanBudgetShared(t *testing.T) {
	for name, u := range backends(t) {
		t.Run(name, func(t *testing.T) {
			budget := scimapi.ScanBudget{Rate: 0.001, Burst: 10, Shared: true}
			one := newHarnessConfig(t, u, func(c *server.Config) { c.Scan = budget })
			two := newHarnessConfig(t, u, func(c *server.Config) { c.Scan = budget })
			a, _, _ := queryDirectory(one, 4, 0)
			scan := a.Base + "/Users?filter=" + url.QueryEscape(`title co "T"`)
			one.do(http.MethodGet, scan, a.SCIMToken, nil).want(200) // 4 of 10
			two.do(http.MethodGet, scan, a.SCIMToken, nil).want(200) // 8 of 10
			r := one.do(http.MethodGet, scan, a.SCIMToken, nil).want(429)
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			two.do(http.MethodGet, scan, a.SCIMToken, nil).want(429)
		})
	}
}

// TestScanBudgetIndexedReads: an index can name many records (a repeated
// externalId, a large group's members); reading more of them than
// IndexedFree is charged like a scan of that many, so one tenant cannot
// make a request read its whole directory through an index for free.
func TestScanBudgetIndexedReads(t *testing.T) {
	for name, u := range backends(t) {
		t.Run(name, func(t *testing.T) {
			setup := func(h *harness) (tenant, string) {
				tn := h.newTenant(10)
				var members []map[string]any
				for i := range 4 {
					id := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, map[string]any{
						"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
						"userName": fmt.Sprintf("ix%d@example.com", i), "externalId": "shared",
					}).want(201).json()["id"].(string)
					members = append(members, map[string]any{"value": id})
				}
				g := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
					"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
					"displayName": "Everyone", "members": members,
				}).want(201).json()
				return tn, g["id"].(string)
			}
			h := newHarnessConfig(t, u, func(c *server.Config) { c.Scan = scimapi.ScanBudget{MaxRecords: 3, IndexedFree: 2} })
			tn, gid := setup(h)
			for _, tc := range []struct {
				name, filter string
				want         int
			}{
				{"groups.value eq", `groups.value eq "` + gid + `"`, 400},
				{"externalId eq (fast path)", `externalId eq "shared"`, 400},
				{"externalId eq and", `externalId eq "shared" and active eq true`, 400},
				{"userName sw", `userName sw "ix"`, 400},
				{"userName eq", `userName eq "ix1@example.com"`, 200},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(tc.filter), tn.SCIMToken, nil)
					if r.status != tc.want {
						t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
					}
					if tc.want == 400 {
						m := r.json()
						eq(t, m["scimType"], "tooMany")
						if d, _ := m["detail"].(string); !strings.Contains(d, "scan budget") || !strings.Contains(d, "4 records") {
							t.Errorf("detail %q", d)
						}
					}
				})
			}
			// Within the per-request bound, the reads are charged to the
			// tenant: 4 of 6, then the rest is spent.
			h2 := newHarnessConfig(t, u, func(c *server.Config) {
				c.Scan = scimapi.ScanBudget{MaxRecords: -1, Rate: 0.001, Burst: 6, IndexedFree: 2}
			})
			tn2, _ := setup(h2)
			byExt := tn2.Base + "/Users?filter=" + url.QueryEscape(`externalId eq "shared"`)
			h2.do(http.MethodGet, byExt, tn2.SCIMToken, nil).want(200)
			r := h2.do(http.MethodGet, byExt, tn2.SCIMToken, nil)
			if r.status != 429 || r.header.Get("Retry-After") == "" {
				t.Errorf("second read of 4 indexed records with 2 of 6 left: status %d, Retry-After %q; want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
			}
			h2.do(http.MethodGet, tn2.Base+"/Users?filter="+url.QueryEscape(`userName eq "ix1@example.com"`), tn2.SCIMToken, nil).want(200)
		})
	}
}
