package server_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestTokensStayInTheirTenant: every kind of token opens only what it is
// for, also once the token cache is warm. Each token is first used where it
// is valid (so a cache that keyed entries by the token alone would now hold
// it), then tried on every tenant route of both tenants, twice: a cached
// token of tenant A must not open tenant B, a SCIM token must not open the
// admin API nor an admin token SCIM, and the operator reaches every tenant's
// admin API but no SCIM API.
func TestTokensStayInTheirTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		a, b := h.newTenant(10), h.newTenant(10)
		admin := func(tn tenant) string { return "/admin/v1/tenants/" + tn.ID + "/users" }
		routes := []struct{ name, path string }{
			{"A scim", a.Base + "/Users"},
			{"A admin", admin(a)},
			{"B scim", b.Base + "/Users"},
			{"B admin", admin(b)},
		}
		tokens := []struct {
			name, token string
			opens       map[string]bool // the routes answering 200; every other answers 401
		}{
			{"A's SCIM token", a.SCIMToken, map[string]bool{"A scim": true}},
			{"A's admin token", a.AdminToken, map[string]bool{"A admin": true}},
			{"B's SCIM token", b.SCIMToken, map[string]bool{"B scim": true}},
			{"B's admin token", b.AdminToken, map[string]bool{"B admin": true}},
			{"the operator token", operatorToken, map[string]bool{"A admin": true, "B admin": true}},
		}
		// Warm the cache: each token once where it is valid.
		for _, tk := range tokens {
			for _, r := range routes {
				if tk.opens[r.name] {
					h.do(http.MethodGet, r.path, tk.token, nil).want(200)
				}
			}
		}
		for round := 1; round <= 2; round++ {
			for _, tk := range tokens {
				for _, r := range routes {
					t.Run(fmt.Sprintf("round %d/%s on %s", round, tk.name, r.name), func(t *testing.T) {
						want := http.StatusUnauthorized
						if tk.opens[r.name] {
							want = http.StatusOK
						}
						res := h.do(http.MethodGet, r.path, tk.token, nil)
						if res.status != want {
							t.Fatalf("status %d, want %d: %s", res.status, want, res.body)
						}
						if want == http.StatusUnauthorized && res.header.Get("WWW-Authenticate") == "" {
							t.Errorf("401 without WWW-Authenticate")
						}
					})
				}
			}
		}
	})
}
