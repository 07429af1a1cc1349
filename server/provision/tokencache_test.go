package provision

import (
	"testing"
	"time"
)

// TestTokenCacheGenerations: a check that read the tenant before its tokens
// changed must not put the old token back once the change forgot it.
func TestTokenCacheGenerations(t *testing.T) {
	now := time.Unix(0, 0)
	c := newTokenCache(5*time.Second, func() time.Time { return now })
	tests := []struct {
		name   string
		change func() // lands between the check's read and its remember
		cached bool
	}{
		{"no change: remembered", func() {}, true},
		{"the tenant's tokens changed: not remembered", func() { c.forgetTenant("acme") }, false},
		{"another tenant's changed: remembered", func() { c.forgetTenant("other") }, true},
		{"all forgotten (resubscribed): not remembered", c.forgetAll, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.forgetTenant("acme")
			g := c.generation("acme")
			tt.change()
			c.remember("acme", "scim:h", "", g)
			c.rememberRaw("acme", "scim", "tok", g)
			if got := c.valid("acme", "scim:h"); got != tt.cached {
				t.Fatalf("cached %v, want %v", got, tt.cached)
			}
			if got := c.validRaw("acme", "scim", "tok"); got != tt.cached {
				t.Fatalf("token cached %v, want %v", got, tt.cached)
			}
		})
	}
	// Only the token remembered, for its tenant and kind, is known.
	g := c.generation("acme")
	c.rememberRaw("acme", "scim", "tok", g)
	for _, k := range []struct{ tenant, kind, token string }{
		{"acme", "scim", "tok2"}, {"acme", "scim", "to"}, {"acme", "scim", ""}, {"acme", "admin", "tok"}, {"other", "scim", "tok"},
	} {
		if c.validRaw(k.tenant, k.kind, k.token) {
			t.Errorf("validRaw(%q, %q, %q) after remembering acme's scim token tok", k.tenant, k.kind, k.token)
		}
	}
	// A forgotten tenant's token is not known; another tenant's stays.
	c.rememberRaw("other", "scim", "tok", c.generation("other"))
	c.forgetTenant("acme")
	if c.validRaw("acme", "scim", "tok") || !c.validRaw("other", "scim", "tok") {
		t.Errorf("after forgetting acme: acme %v, other %v; want false, true", c.validRaw("acme", "scim", "tok"), c.validRaw("other", "scim", "tok"))
	}
	// Entries expire after the TTL.
	g = c.generation("acme")
	c.remember("acme", "scim:h", "", g)
	c.rememberRaw("acme", "scim", "tok", g)
	now = now.Add(5 * time.Second)
	if c.valid("acme", "scim:h") || c.validRaw("acme", "scim", "tok") {
		t.Fatal("an entry outlived its TTL")
	}
}
