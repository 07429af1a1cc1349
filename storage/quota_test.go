package storage

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkQuota fails t unless err is a *QuotaError equal to want.
func checkQuota(t *testing.T, err error, want QuotaError) {
	t.Helper()
	var q *QuotaError
	if !errors.As(err, &q) || !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("err = %v, want %v", err, &want)
	}
	if d := cmp.Diff(want, *q); d != "" {
		t.Fatalf("QuotaError (-want +got):\n%s", d)
	}
}

// TestQuotaUsers: the users quota counts inactive users too, comes from
// Options unless the tenant sets one, and a refused create writes nothing.
func TestQuotaUsers(t *testing.T) {
	run(t, Options{Quotas: Quotas{Users: 2}}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "a@x"), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "b@x", inactive), nil))
		before := tenantKeys(t, e.rdb, e.tenant)
		checkQuota(t, e.s.CreateUser(ctx, e.tenant, user("u3", "c@x", inactive), []byte(`{"e":1}`)), QuotaError{Quota: "users", Limit: 2, Used: 2})
		if after := tenantKeys(t, e.rdb, e.tenant); !cmp.Equal(before, after) {
			t.Fatalf("a refused create wrote keys: %v", cmp.Diff(before, after))
		}
		// The tenant's own quota wins over the default.
		ten, err := e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		next := ten
		next.Quotas.Users = 3
		must(t, e.s.UpdateTenant(ctx, ten, next, nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u3", "c@x"), nil))
		checkQuota(t, e.s.CreateUser(ctx, e.tenant, user("u4", "d@x"), nil), QuotaError{Quota: "users", Limit: 3, Used: 3})
		// Deleting one frees room.
		must(t, e.s.DeleteUser(ctx, e.tenant, "u1", nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u4", "d@x"), nil))
		u, err := e.s.Usage(ctx, e.tenant)
		must(t, err)
		if u.Users != 3 || u.Groups != 0 {
			t.Fatalf("usage %+v, want 3 users", u)
		}
	})
}

// TestQuotaConcurrentCreates: many creates at once never pass the quota.
func TestQuotaConcurrentCreates(t *testing.T) {
	const n, quota = 40, 7
	run(t, Options{Quotas: Quotas{Users: quota, Groups: quota}}, n, func(t *testing.T, e env) {
		errs := concurrently(n, func(i int) error {
			if i%2 == 0 {
				return e.s.CreateUser(t.Context(), e.tenant, user(fmt.Sprintf("u%02d", i), fmt.Sprintf("u%02d@x", i), inactive), nil)
			}
			return e.s.CreateGroup(t.Context(), e.tenant, group(fmt.Sprintf("g%02d", i), fmt.Sprintf("g%02d", i)), nil, nil)
		})
		made := map[bool]int{}
		for i, err := range errs {
			if err == nil {
				made[i%2 == 0]++
			} else if !errors.Is(err, ErrQuotaExceeded) {
				t.Fatalf("create %d: %v", i, err)
			}
		}
		u, err := e.s.Usage(t.Context(), e.tenant)
		must(t, err)
		if made[true] != quota || made[false] != quota || u.Users != quota || u.Groups != quota {
			t.Fatalf("made %d users and %d groups, usage %+v; want %d of each", made[true], made[false], u, quota)
		}
	})
}

// TestQuotaMembers: the members quota bounds a group's size on create, on a
// member change and on an update with members; changes that do not grow
// the group pass even at the quota.
func TestQuotaMembers(t *testing.T) {
	run(t, Options{Quotas: Quotas{Members: 3, Groups: 2}}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for i := range 5 {
			must(t, e.s.CreateUser(ctx, e.tenant, user(fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@x", i)), nil))
		}
		checkQuota(t, e.s.CreateGroup(ctx, e.tenant, group("g0", "zero"), []string{"u0", "u1", "u2", "u3"}, nil), QuotaError{Quota: "members", Limit: 3, Used: 4})
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g1", "one"), []string{"u0", "u1"}, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g2", "two"), nil, nil))
		checkQuota(t, e.s.CreateGroup(ctx, e.tenant, group("g3", "three"), nil, nil), QuotaError{Quota: "groups", Limit: 2, Used: 2})

		_, err := e.s.ChangeMembers(ctx, e.tenant, "g1", []string{"u2", "u3"}, nil, t0, nil)
		checkQuota(t, err, QuotaError{Quota: "members", Limit: 3, Used: 2})
		_, err = e.s.ChangeMembers(ctx, e.tenant, "g1", []string{"u0", "u2"}, nil, t0, nil) // u0 is in already
		must(t, err)
		_, err = e.s.ChangeMembers(ctx, e.tenant, "g1", []string{"u1", "u3"}, []string{"u2"}, t0, nil) // a swap at the quota
		must(t, err)
		_, err = e.s.ChangeMembers(ctx, e.tenant, "g1", []string{"u4"}, nil, t0, nil)
		checkQuota(t, err, QuotaError{Quota: "members", Limit: 3, Used: 3})
		if got, err := e.s.GroupMembers(ctx, e.tenant, "g1"); err != nil || len(got) != 3 {
			t.Fatalf("members %v, %v; want 3", got, err)
		}

		g, err := e.s.GetGroup(ctx, e.tenant, "g2")
		must(t, err)
		next := g
		next.Version++
		checkQuota(t, e.s.UpdateGroup(ctx, e.tenant, g, next, MemberChange{Add: []string{"u0", "u1", "u2", "u3"}}, nil), QuotaError{Quota: "members", Limit: 3, Used: 0})
		checkQuota(t, e.s.UpdateGroup(ctx, e.tenant, g, next, MemberChange{Replace: true, Add: []string{"u0", "u1", "u2", "u3"}}, nil), QuotaError{Quota: "members", Limit: 3, Used: 0})
		must(t, e.s.UpdateGroup(ctx, e.tenant, g, next, MemberChange{Replace: true, Add: []string{"u0", "u1", "u2"}}, nil))
	})
}

// TestAdminObjectCounts: sub-accounts, custom roles and admin tokens are
// capped per tenant; replacing an existing one passes at the cap.
func TestAdminObjectCounts(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		fill := func(key string, n int) {
			args := make([]any, 0, 2*n)
			for i := range n {
				args = append(args, fmt.Sprintf("x%d", i), `{"name":"x"}`)
			}
			must(t, e.rdb.HSet(ctx, key, args...).Err())
		}
		fill(accountsKey(e.tenant), MaxAccounts)
		fill(rolesKey(e.tenant), MaxCustomRoles)
		fill(adminTokensKey(e.tenant), MaxAdminTokens)

		_, err := e.s.PutAccount(ctx, e.tenant, Account{ID: "new", Name: "New"}, nil)
		checkQuota(t, err, QuotaError{Quota: "accounts", Limit: MaxAccounts, Used: MaxAccounts})
		_, err = e.s.PutAccount(ctx, e.tenant, Account{ID: "x1", Name: "Renamed"}, nil)
		must(t, err)
		_, err = e.s.PutRole(ctx, e.tenant, Role{Name: "new", Level: "enterprise", Permissions: []string{"p"}}, nil)
		checkQuota(t, err, QuotaError{Quota: "roles", Limit: MaxCustomRoles, Used: MaxCustomRoles})
		_, err = e.s.PutRole(ctx, e.tenant, Role{Name: "x1", Level: "enterprise", Permissions: []string{"p"}}, nil)
		must(t, err)
		checkQuota(t, e.s.PutAdminToken(ctx, e.tenant, "newhash", "someone", nil), QuotaError{Quota: "adminTokens", Limit: MaxAdminTokens, Used: MaxAdminTokens})
	})
}

// TestQuotaFieldsOfOldTenants: a tenant hash written before quotas existed
// (no quota fields) reads as "the defaults", and updating it works.
func TestQuotaFieldsOfOldTenants(t *testing.T) {
	run(t, Options{Quotas: Quotas{Users: 1}}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		// Rewrite the hash as an older release wrote it.
		must(t, e.rdb.HDel(ctx, tenantKey(e.tenant), fMaxUsers, fMaxGroups, fMaxMembers).Err())
		ten, err := e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		if ten.Quotas != (Quotas{}) {
			t.Fatalf("quotas %+v, want none set", ten.Quotas)
		}
		if got, want := e.s.EffectiveQuotas(ten), (Quotas{Users: 1, Groups: DefaultQuotas.Groups, Members: DefaultQuotas.Members}); got != want {
			t.Fatalf("effective %+v, want %+v", got, want)
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "a@x"), nil))
		checkQuota(t, e.s.CreateUser(ctx, e.tenant, user("u2", "b@x"), nil), QuotaError{Quota: "users", Limit: 1, Used: 1})
		next := ten
		next.Quotas.Users = 5
		must(t, e.s.UpdateTenant(ctx, ten, next, nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "b@x"), nil))
	})
}
