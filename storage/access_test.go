package storage

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAccountsRolesGrants(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		created, err := e.s.PutAccount(ctx, e.tenant, Account{ID: "news", Name: "Newsroom", Created: t0}, []byte(`{"a":1}`))
		must(t, err)
		if !created {
			t.Error("first PutAccount not reported as a creation")
		}
		created, err = e.s.PutAccount(ctx, e.tenant, Account{ID: "news", Name: "News", Created: t0.Add(99)}, nil)
		must(t, err)
		if created {
			t.Error("rename reported as a creation")
		}
		_, err = e.s.PutAccount(ctx, e.tenant, Account{ID: "sports", Name: "Sports", Created: t0}, nil)
		must(t, err)
		accounts, err := e.s.ListAccounts(ctx, e.tenant)
		must(t, err)
		want := []Account{{ID: "news", Name: "News", Created: t0}, {ID: "sports", Name: "Sports", Created: t0}}
		if d := cmp.Diff(want, accounts); d != "" {
			t.Errorf("accounts (-want +got):\n%s", d)
		}

		_, err = e.s.PutRole(ctx, e.tenant, Role{Name: "Desk Chief", Level: "account", Permissions: []string{"publish"}}, nil)
		must(t, err)
		roles, err := e.s.ListRoles(ctx, e.tenant)
		must(t, err)
		if d := cmp.Diff([]Role{{Name: "Desk Chief", Level: "account", Permissions: []string{"publish"}}}, roles); d != "" {
			t.Errorf("roles (-want +got):\n%s", d)
		}

		must(t, e.s.CreateGroup(ctx, e.tenant, group("g1", "Editors"), nil, nil))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g2", "Admins"), nil, nil))
		g1 := []Grant{{Scope: "account", Account: "news", Role: "Editor"}, {Scope: "account", Account: "sports", Role: "Viewer"}}
		g2 := []Grant{{Scope: "enterprise", Role: "Enterprise Admin"}}
		must(t, e.s.PutGrants(ctx, e.tenant, "g1", g1, nil, []byte(`{"b":2}`)))
		must(t, e.s.PutGrants(ctx, e.tenant, "g2", g2, nil, nil))

		for _, tc := range []struct {
			name   string
			group  string
			grants []Grant
			want   error
		}{
			{"unknown group", "nope", nil, ErrNotFound},
			{"unknown account", "g1", []Grant{{Scope: "account", Account: "weather", Role: "Viewer"}}, &AccountNotFoundError{ID: "weather"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := e.s.PutGrants(ctx, e.tenant, tc.group, tc.grants, nil, nil)
				var anf *AccountNotFoundError
				if want, ok := tc.want.(*AccountNotFoundError); ok {
					if !errors.As(err, &anf) || anf.ID != want.ID || !errors.Is(err, ErrNotFound) {
						t.Fatalf("err %v, want %v", err, want)
					}
					return
				}
				checkErr(t, err, tc.want)
			})
		}

		got, err := e.s.Grants(ctx, e.tenant, []string{"g1", "g2", "g3"})
		must(t, err)
		if d := cmp.Diff(map[string][]Grant{"g1": g1, "g2": g2}, got); d != "" {
			t.Errorf("grants (-want +got):\n%s", d)
		}

		// Deleting a sub-account takes its grants along.
		n, err := e.s.DeleteAccount(ctx, e.tenant, "sports", nil)
		must(t, err)
		if n != 1 {
			t.Errorf("DeleteAccount removed %d grants, want 1", n)
		}
		_, err = e.s.DeleteAccount(ctx, e.tenant, "sports", nil)
		checkErr(t, err, ErrNotFound)
		got, err = e.s.Grants(ctx, e.tenant, []string{"g1"})
		must(t, err)
		if d := cmp.Diff(map[string][]Grant{"g1": g1[:1]}, got); d != "" {
			t.Errorf("grants after account delete (-want +got):\n%s", d)
		}
		// The last grant of a group going removes the group's entry.
		_, err = e.s.DeleteAccount(ctx, e.tenant, "news", nil)
		must(t, err)
		if n, err := e.rdb.HExists(ctx, grantsKey(e.tenant), "g1").Result(); err != nil || n {
			t.Errorf("g1 grants left after its last account went: %v %v", n, err)
		}

		// Deleting a group removes its grants; an empty list removes them too.
		must(t, e.s.DeleteGroup(ctx, e.tenant, "g2", nil))
		got, err = e.s.Grants(ctx, e.tenant, []string{"g2"})
		must(t, err)
		if len(got) != 0 {
			t.Errorf("grants of a deleted group: %v", got)
		}

		// Every change above was audited where an event was given.
		entries, err := e.s.ReadAudit(ctx, e.tenant, "", 10)
		must(t, err)
		if len(entries) < 2 {
			t.Errorf("audit entries %d, want at least 2", len(entries))
		}
	})
}

func TestAccessUnknownTenant(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		_, err := e.s.PutAccount(ctx, "st-none", Account{ID: "a", Name: "A"}, nil)
		checkErr(t, err, ErrNotFound)
		_, err = e.s.PutRole(ctx, "st-none", Role{Name: "R", Level: "account"}, nil)
		checkErr(t, err, ErrNotFound)
		checkErr(t, e.s.PutGrants(ctx, "st-none", "g", nil, nil, nil), ErrNotFound)
		_, err = e.s.DeleteAccount(ctx, "st-none", "a", nil)
		checkErr(t, err, ErrNotFound)
	})
}
