package provision

import (
	"sync"
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
			c.rememberRaw("acme", "scim", "tok", g, c.fresh())
			if got := valid(c, "acme", "scim:h"); got != tt.cached {
				t.Fatalf("cached %v, want %v", got, tt.cached)
			}
			if got := c.validRaw("acme", "scim", "tok"); got != tt.cached {
				t.Fatalf("token cached %v, want %v", got, tt.cached)
			}
		})
	}
	// Only the token remembered, for its tenant and kind, is known.
	g := c.generation("acme")
	c.rememberRaw("acme", "scim", "tok", g, c.fresh())
	for _, k := range []struct{ tenant, kind, token string }{
		{"acme", "scim", "tok2"}, {"acme", "scim", "to"}, {"acme", "scim", ""}, {"acme", "admin", "tok"}, {"other", "scim", "tok"},
	} {
		if c.validRaw(k.tenant, k.kind, k.token) {
			t.Errorf("validRaw(%q, %q, %q) after remembering acme's scim token tok", k.tenant, k.kind, k.token)
		}
	}
	// A forgotten tenant's token is not known; another tenant's stays.
	c.rememberRaw("other", "scim", "tok", c.generation("other"), c.fresh())
	c.forgetTenant("acme")
	if c.validRaw("acme", "scim", "tok") || !c.validRaw("other", "scim", "tok") {
		t.Errorf("after forgetting acme: acme %v, other %v; want false, true", c.validRaw("acme", "scim", "tok"), c.validRaw("other", "scim", "tok"))
	}
	// Entries expire after the TTL.
	g = c.generation("acme")
	c.remember("acme", "scim:h", "", g)
	c.rememberRaw("acme", "scim", "tok", g, c.fresh())
	now = now.Add(5 * time.Second)
	if valid(c, "acme", "scim:h") || c.validRaw("acme", "scim", "tok") {
		t.Fatal("an entry outlived its TTL")
	}
}

func valid(c *tokenCache, tenant, hash string) bool {
	_, ok := c.validUntil(tenant, hash)
	return ok
}

// TestRotatedTokenWithinTTL: on a replica that missed the rotation notice
// (best effort: "else within TokenCacheTTL"), a rotated-away SCIM token
// stops working within TokenCacheTTL of the store's last check of it, even
// when a check that hit the hash cache put it back as the tenant's last good
// token (that entry once took a fresh TTL: up to twice the TTL).
func TestRotatedTokenWithinTTL(t *testing.T) {
	st, pol := embeddedEnv(t)
	var mu sync.Mutex
	start := time.Unix(1_800_000_000, 0)
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	at := func(d time.Duration) { mu.Lock(); now = start.Add(d); mu.Unlock() }
	opts := Options{Clock: clock, TokenCacheTTL: 5 * time.Second}
	a := New(st, pol, opts) // the replica that rotates
	b := New(st, pol, opts) // one that does not hear of it
	limit := int64(10)
	_, creds, err := a.CreateTenant(t.Context(), NewTenant{ID: "rot", Name: "Rot", LicenseLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	old := creds.SCIMToken
	steps := []struct {
		at    time.Duration
		token *string
		ok    bool
	}{
		{0, &old, true}, // the store says yes: known until 5s
		{2 * time.Second, nil, true},
		{4900 * time.Millisecond, &old, true}, // from the hash cache, still within 5s
		{5100 * time.Millisecond, &old, false},
		{8 * time.Second, &old, false},
	}
	var fresh string
	for _, s := range steps {
		at(s.at)
		token := s.token
		if token == nil {
			// Rotated on a, and the new token used on b: b's last good
			// token is now the new one.
			if fresh, err = a.RotateSCIMToken(t.Context(), "rot", SCIM); err != nil {
				t.Fatal(err)
			}
			token = &fresh
		}
		err := b.AuthenticateSCIM(t.Context(), "rot", *token)
		if (err == nil) != s.ok {
			t.Fatalf("at %s: authenticated %v, want %v (%v)", s.at, err == nil, s.ok, err)
		}
	}
}
