package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestOperatorUnknownTenant: the operator token on a tenant that does not
// exist answers 404 on every tenant route (reads answered an empty 200, and
// writes reached the store), and the route list comes from the app itself,
// so that a route added later is checked too.
func TestOperatorUnknownTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		seen := 0
		for _, r := range h.app.GetRoutes(true) {
			if !strings.HasPrefix(r.Path, "/admin/v1/tenants/:tenant") || r.Method == http.MethodHead {
				continue
			}
			path := strings.NewReplacer(":tenant", "nosuch-operator", ":id", "x", ":name", "x").Replace(r.Path)
			t.Run(r.Method+" "+r.Path, func(t *testing.T) {
				res := h.do(r.Method, path, operatorToken, "{}")
				if res.status != http.StatusNotFound {
					t.Errorf("%s %s: status %d, want 404; body: %s", r.Method, path, res.status, res.body)
				}
			})
			seen++
		}
		if seen < 30 {
			t.Fatalf("only %d tenant routes found", seen)
		}
	})
}
