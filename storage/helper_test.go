package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// Every storage test runs on an embedded miniredis and, when REDIS_URL is
// set, on that Redis too. The real one is shared: tests never flush it and
// never use KEYS; each works inside its own random tenant and deletes it.

// env is one test's store, its raw client (for checking keys directly) and
// a fresh tenant.
type env struct {
	s      *Store
	rdb    redis.UniversalClient
	tenant string
}

// backend is a Redis to run a test on.
type backend struct {
	name string
	rdb  redis.UniversalClient
}

// backends starts an embedded server for t and adds REDIS_URL when set.
func backends(t *testing.T) []backend {
	t.Helper()
	e, err := StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	bs := []backend{{name: "miniredis", rdb: openClient(t, e.URL())}}
	if url := os.Getenv("REDIS_URL"); url != "" {
		bs = append(bs, backend{name: "redis", rdb: openClient(t, url)})
	}
	return bs
}

func openClient(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	rdb, err := NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return rdb
}

// run runs fn once per backend, each time with a new tenant whose license
// limit is limit.
func run(t *testing.T, opts Options, limit int64, fn func(t *testing.T, e env)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := New(b.rdb, opts)
			fn(t, env{s: s, rdb: b.rdb, tenant: newTenant(t, s, limit)})
		})
	}
}

// newTenant creates a tenant "st-<8 hex>" and deletes it when t ends.
func newTenant(t *testing.T, s *Store, limit int64) string {
	t.Helper()
	id := randomTenantID(t)
	ten := Tenant{ID: id, Name: "Test " + id, LicenseLimit: limit, Mode: "idp", Created: t0}
	if err := s.CreateTenant(t.Context(), ten); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := s.DeleteTenant(context.Background(), id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("delete tenant %s: %v", id, err)
		}
	})
	return id
}

func randomTenantID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "st-" + hex.EncodeToString(b)
}

// t0 is the tests' clock: storage never reads the time itself.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// user builds an active user with a JSON doc; opts adjust it.
func user(id, userName string, opts ...func(*User)) User {
	u := User{
		ID:        id,
		Version:   1,
		Created:   t0,
		Modified:  t0,
		ManagedBy: "scim",
		Active:    true,
		UserName:  userName,
		Doc:       []byte(fmt.Sprintf(`{"userName":%q}`, userName)),
	}
	for _, o := range opts {
		o(&u)
	}
	return u
}

func inactive(u *User) { u.Active = false }

func group(id, displayName string) Group {
	return Group{
		ID:          id,
		Version:     1,
		Created:     t0,
		Modified:    t0,
		DisplayName: displayName,
		Doc:         []byte(fmt.Sprintf(`{"displayName":%q}`, displayName)),
	}
}

// errPlain stands for "some error that is none of the sentinels" in tables.
var errPlain = errors.New("a plain error")

// checkErr fails t unless got matches want: nil, a sentinel (errors.Is), a
// *UniquenessError or *LicenseError (errors.As and equal), or errPlain.
func checkErr(t *testing.T, got, want error) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		if got != nil {
			t.Fatalf("err = %v, want nil", got)
		}
	case *UniquenessError:
		var g *UniquenessError
		if !errors.As(got, &g) {
			t.Fatalf("err = %v, want %v", got, want)
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Fatalf("UniquenessError (-want +got):\n%s", d)
		}
	case *LicenseError:
		var g *LicenseError
		if !errors.As(got, &g) {
			t.Fatalf("err = %v, want %v", got, want)
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Fatalf("LicenseError (-want +got):\n%s", d)
		}
	default:
		if want == errPlain {
			for _, s := range []error{ErrNotFound, ErrExists, ErrVersionConflict, ErrLicenseExhausted,
				ErrMemberNotFound, ErrUnavailable, ErrUniqueness} {
				if errors.Is(got, s) {
					t.Fatalf("err = %v, want a plain error", got)
				}
			}
			if got == nil {
				t.Fatal("err = nil, want a plain error")
			}
			return
		}
		if !errors.Is(got, want) {
			t.Fatalf("err = %v, want %v", got, want)
		}
	}
}

// must fails t on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tenantKeys lists the tenant's keys with SCAN (tests only). On a cluster a
// SCAN goes to whichever master the client picks, so it is sent to the
// master of the tenant's slot, which holds every key under the tag.
func tenantKeys(t *testing.T, rdb redis.UniversalClient, tenant string) []string {
	t.Helper()
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		master, err := cc.MasterForKey(t.Context(), tenantKey(tenant))
		must(t, err)
		rdb = master
	}
	var keys []string
	iter := rdb.Scan(t.Context(), 0, tenantPattern(tenant), 1000).Iterator()
	for iter.Next(t.Context()) {
		keys = append(keys, iter.Val())
	}
	must(t, iter.Err())
	return keys
}
