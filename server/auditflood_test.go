package server_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// TestAdminWriteRateLimit: a tenant's admins cannot write faster than the
// limit (an admin pushed 1,000+ events a second with PUT accounts/x, rolling
// the log over in 90 s): beyond the burst, 429 with Retry-After. Reads, the
// operator and other tenants are not held back.
func TestAdminWriteRateLimit(t *testing.T) {
	for backend, url := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			// A rate so low that no refill lands during the test.
			h := newHarnessConfig(t, url, func(c *server.Config) { c.AdminRateLimit, c.AdminRateBurst = 0.001, 5 })
			tn, other := h.newTenant(1), h.newTenant(1)
			put := func(tn tenant, token string, i int) response {
				return h.do(http.MethodPut, fmt.Sprintf("/admin/v1/tenants/%s/accounts/a%d", tn.ID, i), token, map[string]any{"name": "A"})
			}
			for i := range 5 {
				put(tn, tn.AdminToken, i).want(201)
			}
			res := put(tn, tn.AdminToken, 5).want(http.StatusTooManyRequests)
			if s, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q", ct)
			}
			h.do(http.MethodDelete, "/admin/v1/tenants/"+tn.ID+"/accounts/a0", tn.AdminToken, nil).want(http.StatusTooManyRequests)
			h.do(http.MethodGet, "/admin/v1/tenants/"+tn.ID+"/accounts", tn.AdminToken, nil).want(200)
			put(tn, operatorToken, 6).want(201)
			put(other, other.AdminToken, 0).want(201)
			// SCIM has its own limit.
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "u@acme.example"}).want(201)
		})
	}
}

// TestAuditEvidenceKept: with a minimum age, no volume of writes pushes a
// recent event out of the audit log: once the log is at its length and its
// oldest event is young, writes are refused (429 with Retry-After: when it
// comes of age), by the admin API and SCIM alike, and the first event is
// still there.
func TestAuditEvidenceKept(t *testing.T) {
	for backend, url := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			rdb, err := storage.NewClient(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			st := storage.New(rdb, storage.Options{AuditMaxLen: 10, AuditMinAge: 24 * time.Hour})
			m := server.NewMetrics()
			h := &harness{t: t, app: server.New(server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", Metrics: m},
				provision.New(st, testEngine(t), provision.Options{Metrics: m}))}
			tn := h.newTenant(5)
			admin := "/admin/v1/tenants/" + tn.ID
			h.do(http.MethodPut, admin+"/accounts/evidence", tn.AdminToken, map[string]any{"name": "E"}).want(201)
			var refused response
			for i := range 20 {
				res := h.do(http.MethodPut, fmt.Sprintf("%s/accounts/flood%d", admin, i), tn.AdminToken, map[string]any{"name": "F"})
				if res.status == http.StatusTooManyRequests {
					refused = res
					break
				}
				res.want(201)
			}
			if refused.status != http.StatusTooManyRequests {
				t.Fatal("20 writes over a log of 10 young events were all accepted")
			}
			if s, err := strconv.Atoi(refused.header.Get("Retry-After")); err != nil || s < 23*3600 || s > 24*3600 {
				t.Errorf("Retry-After %q, want about a day", refused.header.Get("Retry-After"))
			}
			res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "u@acme.example"}).want(http.StatusTooManyRequests)
			if !strings.Contains(res.text(), "urn:ietf:params:scim:api:messages:2.0:Error") || res.header.Get("Retry-After") == "" {
				t.Errorf("SCIM refusal: %s %v", res.body, res.header)
			}
			ev := asList(h.do(http.MethodGet, admin+"/audit?targetId=evidence", tn.AdminToken, nil).want(200).json()["events"])
			eq(t, len(ev), 1)
			// Nothing of the refused writes was made.
			eq(t, len(asList(h.do(http.MethodGet, admin+"/accounts", tn.AdminToken, nil).want(200).json()["accounts"])), 10)
			if metrics := h.do(http.MethodGet, "/metrics", "", nil).want(200).text(); !strings.Contains(metrics, "\nscimd_audit_full_refusals_total 2\n") {
				t.Error("scimd_audit_full_refusals_total is not 2")
			}
		})
	}
}
