package provision

import (
	"sync"
	"testing"
)

// TestAccessNotified: a SCIM create, whose first try is the store's
// CreateUserUnlinked, tells the resolver of the tenant whose outbox it
// wrote to; without the notice its cause waits for the next sweep.
func TestAccessNotified(t *testing.T) {
	st, pol := embeddedEnv(t)
	var mu sync.Mutex
	notified := map[string]int{}
	svc := New(st, pol, Options{AccessChanged: func(tenant string) {
		mu.Lock()
		notified[tenant]++
		mu.Unlock()
	}})
	limit := int64(10)
	if _, _, err := svc.CreateTenant(t.Context(), NewTenant{ID: "n", Name: "N", LicenseLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := notified["n"]
	mu.Unlock()
	if _, err := svc.CreateUser(t.Context(), "n", map[string]any{"userName": "ann"}, SCIM); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if notified["n"] <= before {
		t.Fatalf("a SCIM create notified %v (before: %d)", notified, before)
	}
}
