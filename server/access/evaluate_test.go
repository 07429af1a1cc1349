package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

var (
	engineOnce sync.Once
	engine     *policies.Engine
	engineErr  error
)

func testEngine(t *testing.T) *policies.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = policies.New(policies.Options{}) })
	if engineErr != nil {
		t.Fatalf("policies: %v", engineErr)
	}
	return engine
}

// counting counts the policy evaluations and can fail the inputs fail
// says.
type counting struct {
	Engine
	calls atomic.Int64
	mu    sync.Mutex
	fail  func(policies.RoleInput) bool
}

func (c *counting) failing(f func(policies.RoleInput) bool) {
	c.mu.Lock()
	c.fail = f
	c.mu.Unlock()
}

func (c *counting) ResolveRoles(ctx context.Context, in policies.RoleInput) (policies.Access, error) {
	c.calls.Add(1)
	c.mu.Lock()
	fail := c.fail
	c.mu.Unlock()
	if fail != nil && fail(in) {
		return policies.Access{}, fmt.Errorf("%w: injected", policies.ErrEval)
	}
	return c.Engine.ResolveRoles(ctx, in)
}

// stores returns a store per backend: embedded always, REDIS_URL when set.
func stores(t *testing.T) map[string]*storage.Store {
	t.Helper()
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	urls := map[string]string{"miniredis": e.URL()}
	if u := os.Getenv("REDIS_URL"); u != "" {
		urls["redis"] = u
	}
	out := map[string]*storage.Store{}
	for name, u := range urls {
		rdb, err := storage.NewClient(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		out[name] = storage.New(rdb, storage.Options{})
	}
	return out
}

// newTenant creates a tenant of its own for the test and deletes it after.
// ownTenants are the tenants this test binary made: its resolvers keep to
// them (Options.Tenants), since other packages' tests share REDIS_URL and
// run resolvers of their own.
var ownTenants sync.Map

// ours is the Options.Tenants of this package's resolvers.
func ours(tenant string) bool { _, ok := ownTenants.Load(tenant); return ok }

func newTenant(t *testing.T, st *storage.Store) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := "ac-" + hex.EncodeToString(b[:])
	ownTenants.Store(id, true)
	if err := st.CreateTenant(t.Context(), storage.Tenant{ID: id, Name: id, LicenseLimit: 1 << 20, Mode: "idp", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.DeleteTenant(context.Background(), id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("delete tenant: %v", err)
		}
	})
	return id
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func addUser(t *testing.T, st *storage.Store, tenant, id string, active bool) {
	t.Helper()
	must(t, st.CreateUser(t.Context(), tenant, storage.User{ID: id, Version: 1, Created: time.Now(), Modified: time.Now(),
		ManagedBy: "scim", Active: active, UserName: id + "@x", ExternalID: "ext-" + id, Doc: []byte(`{}`)}, nil))
}

func addGroup(t *testing.T, st *storage.Store, tenant, id string, members []string, grants ...storage.Grant) {
	t.Helper()
	must(t, st.CreateGroup(t.Context(), tenant, storage.Group{ID: id, Version: 1, Created: time.Now(), Modified: time.Now(), DisplayName: id, Doc: []byte(`{}`)}, members, nil))
	if len(grants) > 0 {
		must(t, st.PutGrants(t.Context(), tenant, id, grants, nil, nil))
	}
}

// TestEvaluate: every user gets the decision the policies give its input
// alone, users with the same input are decided once, a policy failure
// stays with the users of that input, and a missing user gets none.
func TestEvaluate(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			tenant := newTenant(t, st)
			_, err := st.PutAccount(ctx, tenant, storage.Account{ID: "acc1", Name: "One", Created: time.Now()}, nil)
			must(t, err)
			for _, u := range []string{"a1", "a2", "a3", "b1", "c1"} {
				addUser(t, st, tenant, u, true)
			}
			addUser(t, st, tenant, "off", false)
			addGroup(t, st, tenant, "admins", []string{"a1", "a2", "a3", "off"}, storage.Grant{Scope: "enterprise", Role: "Enterprise Admin"})
			addGroup(t, st, tenant, "pubs", []string{"b1"}, storage.Grant{Scope: "account", Account: "acc1", Role: "Publisher"})
			addGroup(t, st, tenant, "plain", []string{"a3", "c1"}) // no grants: a3 shares a1's input

			eng := &counting{Engine: testEngine(t), fail: func(in policies.RoleInput) bool {
				return len(in.Grants) == 1 && in.Grants[0].Role == "Publisher"
			}}
			ev, err := Evaluate(ctx, eng, st, tenant, []string{"a1", "a2", "a3", "b1", "c1", "off", "gone"})
			must(t, err)
			// a*, b1, c1 (no grants), off: four inputs.
			if ev.Signatures != 4 || eng.calls.Load() != 4 {
				t.Errorf("signatures %d, evaluations %d; want 4 and 4", ev.Signatures, eng.calls.Load())
			}
			if _, ok := ev.Decisions["gone"]; ok || ev.Subjects[6].Exists {
				t.Error("a missing user got a decision")
			}
			if !errors.Is(ev.Decisions["b1"].Err, policies.ErrEval) {
				t.Errorf("b1: err %v, want the injected failure", ev.Decisions["b1"].Err)
			}
			if ev.Decisions["a1"].InputHash != ev.Decisions["a3"].InputHash || ev.Decisions["a1"].InputHash == ev.Decisions["c1"].InputHash {
				t.Error("input hashes do not follow the inputs")
			}
			// The reference: the policies asked for a1 alone.
			alone, err := testEngine(t).ResolveRoles(ctx, policies.RoleInput{Roles: map[string]policies.Role{}, Accounts: []string{"acc1"},
				Grants: []policies.Grant{{Group: "admins", Scope: policies.LevelEnterprise, Role: "Enterprise Admin"}}})
			must(t, err)
			if d := cmp.Diff(alone, ev.Decisions["a1"].Access); d != "" {
				t.Errorf("a1 (-alone +batch):\n%s", d)
			}
			if alone.Enterprise == nil || alone.Enterprise.Role != "Enterprise Admin" {
				t.Errorf("a1's enterprise role %+v, want Enterprise Admin", alone.Enterprise)
			}
			if off := ev.Decisions["off"].Access; off.Active || off.Enterprise != nil {
				t.Errorf("deactivated user: %+v, want inactive without a role", off)
			}
		})
	}
}
