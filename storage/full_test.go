package storage

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/storage/redistest"
)

// TestStoreFull: once Redis reaches maxmemory (noeviction), every read
// still answers (none needs MULTI, which Redis then refuses) and every
// write fails with ErrStoreFull, also ErrUnavailable, writing nothing.
func TestStoreFull(t *testing.T) {
	r := redistest.Start(t, 0, t.TempDir(), "--maxmemory-policy", "noeviction")
	rdb := openClient(t, r.URL())
	s := New(rdb, Options{})
	ctx := t.Context()
	tenant := newTenant(t, s, 10)
	must(t, s.CreateUser(ctx, tenant, user("u1", "a@x"), []byte(`{"a":1}`)))
	must(t, s.CreateGroup(ctx, tenant, group("g1", "one"), []string{"u1"}, nil))
	before := tenantKeys(t, rdb, tenant)

	// One byte: whatever Redis holds is over it.
	must(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err())
	t.Cleanup(func() { _ = rdb.ConfigSet(t.Context(), "maxmemory", "0").Err() })

	reads := map[string]func() error{
		"GetTenant": func() error { _, err := s.GetTenant(ctx, tenant); return err },
		"Usage":     func() error { _, err := s.Usage(ctx, tenant); return err },
		"GetUser":   func() error { _, err := s.GetUser(ctx, tenant, "u1"); return err },
		"PageUsers": func() error {
			ids, total, err := s.PageUsers(ctx, tenant, 0, 10)
			if err == nil && (len(ids) != 1 || total != 1) {
				t.Errorf("PageUsers %v %d", ids, total)
			}
			return err
		},
		"PageGroups":   func() error { _, _, err := s.PageGroups(ctx, tenant, 0, 10); return err },
		"FindUsers":    func() error { _, err := s.FindUsers(ctx, tenant, UserByUserName, "a@x"); return err },
		"GroupMembers": func() error { _, err := s.GroupMembers(ctx, tenant, "g1"); return err },
		"UserGroups":   func() error { _, err := s.UserGroups(ctx, tenant, "u1"); return err },
		"ReadAudit":    func() error { _, err := s.ReadAudit(ctx, tenant, "", 10); return err },
		"Ping":         func() error { return s.Ping(ctx) },
	}
	for name, read := range reads {
		t.Run("read "+name, func(t *testing.T) { must(t, read()) })
	}

	u, err := s.GetUser(ctx, tenant, "u1")
	must(t, err)
	next := u
	next.Version++
	writes := map[string]func() error{
		"CreateUser": func() error { return s.CreateUser(ctx, tenant, user("u2", "b@x"), nil) },
		"UpdateUser": func() error { return s.UpdateUser(ctx, tenant, u, next, nil) },
		"CreateGroup": func() error {
			return s.CreateGroup(ctx, tenant, group("g2", "two"), nil, nil)
		},
		"ChangeMembers": func() error {
			_, err := s.ChangeMembers(ctx, tenant, "g1", []string{"u1"}, nil, t0, nil)
			return err
		},
		"PutAccount": func() error { _, err := s.PutAccount(ctx, tenant, Account{ID: "a1", Name: "A"}, nil); return err },
		"UpdateTenant": func() error {
			prev, err := s.GetTenant(ctx, tenant)
			must(t, err)
			n := prev
			n.LicenseLimit++
			return s.UpdateTenant(ctx, prev, n, nil)
		},
	}
	for name, write := range writes {
		t.Run("write "+name, func(t *testing.T) {
			err := write()
			if !errors.Is(err, ErrStoreFull) || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrStoreFull and ErrUnavailable", err)
			}
		})
	}
	if after := tenantKeys(t, rdb, tenant); !cmp.Equal(before, after) {
		t.Fatalf("refused writes changed keys: %s", cmp.Diff(before, after))
	}
	got, err := s.GetUser(ctx, tenant, "u1")
	must(t, err)
	if got.Version != u.Version {
		t.Fatalf("version %d, want %d", got.Version, u.Version)
	}

	// With memory again, writes land.
	must(t, rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	must(t, s.CreateUser(ctx, tenant, user("u2", "b@x"), nil))
}
