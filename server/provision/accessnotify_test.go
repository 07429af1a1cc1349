package provision

import (
	"sync"
	"testing"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// TestAccessNotified: a SCIM create, whose first try is the store's
// CreateUserUnlinked, tells the resolver of the tenant whose outbox it
// wrote to; without the notice its cause waits for the next sweep.
func TestAccessNotified(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	rdb, err := storage.NewClient(e.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	pol, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	notified := map[string]int{}
	svc := New(storage.New(rdb, storage.Options{}), pol, Options{AccessChanged: func(tenant string) {
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
