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
			if got := c.valid("acme", "scim:h"); got != tt.cached {
				t.Fatalf("cached %v, want %v", got, tt.cached)
			}
		})
	}
	// Entries expire after the TTL.
	g := c.generation("acme")
	c.remember("acme", "scim:h", "", g)
	now = now.Add(5 * time.Second)
	if c.valid("acme", "scim:h") {
		t.Fatal("an entry outlived its TTL")
	}
}
