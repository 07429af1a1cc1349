package storage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestTenantLifecycle(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		id := randomTenantID(t)
		want := Tenant{
			ID: id, Name: "Acme", LicenseLimit: 3, Mode: "manual", Created: t0.Add(time.Hour),
			SCIMTokenHash: "sha256:aa", AdminTokenHash: "sha256:bb",
		}
		must(t, e.s.CreateTenant(ctx, want))
		t.Cleanup(func() {
			if err := e.s.DeleteTenant(context.Background(), id); err != nil {
				t.Error(err)
			}
		})
		got, err := e.s.GetTenant(ctx, id)
		must(t, err)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("GetTenant (-want +got):\n%s", d)
		}

		checkErr(t, e.s.CreateTenant(ctx, Tenant{ID: id, Name: "Again"}), ErrExists)

		upd := want
		upd.Name, upd.LicenseLimit, upd.Mode = "Acme Inc", 7, "idp"
		upd.SCIMTokenHash, upd.AdminTokenHash = "sha256:cc", "sha256:dd"
		upd.Created = t0.Add(48 * time.Hour) // not overwritten
		must(t, e.s.UpdateTenant(ctx, want, upd, nil))
		got, err = e.s.GetTenant(ctx, id)
		must(t, err)
		upd.Created = want.Created
		if d := cmp.Diff(upd, got); d != "" {
			t.Errorf("GetTenant after update (-want +got):\n%s", d)
		}

		// Both tenants of this test are listed, oldest first (other tests'
		// tenants may be listed too on a shared Redis).
		all, err := e.s.ListTenants(ctx)
		must(t, err)
		var ours []string
		for _, ten := range all {
			if ten.ID == e.tenant || ten.ID == id {
				ours = append(ours, ten.ID)
			}
		}
		if d := cmp.Diff([]string{e.tenant, id}, ours); d != "" {
			t.Errorf("ListTenants (-want +got):\n%s", d)
		}
	})
}

// ListTenants reads the settings of many tenants, whose keys sit in
// different slots, in one pipeline: on a cluster go-redis splits it by node.
// On a cluster the test makes tenants until they sit on two masters at least.
func TestListTenantsAcrossSlots(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		cc, cluster := e.rdb.(*redis.ClusterClient)
		masters := map[string]bool{}
		var want []string
		for id := e.tenant; ; id = newTenant(t, e.s, 1) {
			want = append(want, id)
			if cluster {
				m, err := cc.MasterForKey(ctx, tenantKey(id))
				must(t, err)
				masters[m.Options().Addr] = true
			}
			if len(want) >= 6 && (!cluster || len(masters) >= 2 || len(want) >= 40) {
				break
			}
		}
		if cluster && len(masters) < 2 {
			t.Fatalf("%d tenants all on one master", len(want))
		}
		all, err := e.s.ListTenants(ctx)
		must(t, err)
		var ours []string
		for _, ten := range all {
			if slices.Contains(want, ten.ID) {
				ours = append(ours, ten.ID)
			}
		}
		slices.Sort(want) // same creation time: the tenant list orders by id
		if d := cmp.Diff(want, ours); d != "" {
			t.Errorf("ListTenants (-want +got):\n%s", d)
		}
	})
}

func TestTenantErrors(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		missing := randomTenantID(t)
		tests := []struct {
			name string
			call func() error
			want error
		}{
			{"get missing", func() error { _, err := e.s.GetTenant(ctx, missing); return err }, ErrNotFound},
			{"update missing", func() error { return e.s.UpdateTenant(ctx, Tenant{ID: missing}, Tenant{ID: missing}, nil) }, ErrNotFound},
			{"delete missing", func() error { return e.s.DeleteTenant(ctx, missing) }, ErrNotFound},
			{"create taken", func() error { return e.s.CreateTenant(ctx, Tenant{ID: e.tenant}) }, ErrExists},
			{"create invalid id", func() error { return e.s.CreateTenant(ctx, Tenant{ID: "a}b"}) }, errPlain},
			{"get invalid id", func() error { _, err := e.s.GetTenant(ctx, "a*"); return err }, ErrNotFound},
			{"delete invalid id", func() error { return e.s.DeleteTenant(ctx, "*") }, ErrNotFound},
			{"update invalid id", func() error { return e.s.UpdateTenant(ctx, Tenant{ID: ""}, Tenant{ID: ""}, nil) }, ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.call(), tt.want) })
		}
		// A failed update created nothing.
		if keys := tenantKeys(t, e.rdb, missing); len(keys) != 0 {
			t.Errorf("keys of missing tenant: %v", keys)
		}
	})
}

func TestDeleteTenantRemovesEverything(t *testing.T) {
	run(t, Options{ScanBatch: 3}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "alice", func(u *User) {
			u.ExternalID, u.WorkEmail, u.EmployeeNumber = "x1", "a@x.com", "7"
		}), []byte(`{"op":"create"}`)))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "bob"), nil))
		g := group("g1", "Admins")
		g.ExternalID = "gx"
		must(t, e.s.CreateGroup(ctx, e.tenant, g, []string{"u1", "u2"}, []byte(`{}`)))
		if n := len(tenantKeys(t, e.rdb, e.tenant)); n < 10 {
			t.Fatalf("only %d keys before delete", n)
		}

		must(t, e.s.DeleteTenant(ctx, e.tenant))
		if keys := tenantKeys(t, e.rdb, e.tenant); len(keys) != 0 {
			t.Errorf("keys left: %v", keys)
		}
		all, err := e.s.ListTenants(ctx)
		must(t, err)
		if slices.ContainsFunc(all, func(x Tenant) bool { return x.ID == e.tenant }) {
			t.Error("tenant still listed")
		}
		checkErr(t, e.s.DeleteTenant(ctx, e.tenant), ErrNotFound)
		checkErr(t, e.s.CreateUser(ctx, e.tenant, user("u3", "carol"), nil), ErrNotFound)
	})
}

// A DeleteTenant that stopped after removing the settings hash is finished
// by the next call, and the half-deleted tenant is not listed meanwhile.
func TestDeleteTenantResumes(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "alice"), nil))
		must(t, e.rdb.Del(ctx, tenantKey(e.tenant)).Err())

		all, err := e.s.ListTenants(ctx)
		must(t, err)
		if slices.ContainsFunc(all, func(x Tenant) bool { return x.ID == e.tenant }) {
			t.Error("half-deleted tenant listed")
		}
		must(t, e.s.DeleteTenant(ctx, e.tenant))
		if keys := tenantKeys(t, e.rdb, e.tenant); len(keys) != 0 {
			t.Errorf("keys left: %v", keys)
		}
	})
}

func TestSeatsUsed(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		n, err := e.s.SeatsUsed(ctx, e.tenant)
		must(t, err)
		if n != 0 {
			t.Errorf("SeatsUsed = %d, want 0", n)
		}
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "alice"), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "bob", inactive), nil))
		n, err = e.s.SeatsUsed(ctx, e.tenant)
		must(t, err)
		if n != 1 {
			t.Errorf("SeatsUsed = %d, want 1", n)
		}
	})
}

func TestTenantSettingsAndAdminTokens(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		prev, err := e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		ten := prev
		ten.MatchBy, ten.UnmatchedUsers, ten.AdminName = []string{"email", "userName"}, "deactivate", "root@acme"
		must(t, e.s.UpdateTenant(ctx, prev, ten, nil))
		must(t, e.s.RecordLicenseRefusal(ctx, e.tenant, t0))
		must(t, e.s.RecordLicenseRefusal(ctx, e.tenant, t0.Add(time.Minute)))
		got, err := e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		want := ten
		want.LicenseRefusals, want.LastLicenseRefusal = 2, t0.Add(time.Minute)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("tenant (-want +got):\n%s", d)
		}
		// UpdateTenant leaves the counters alone.
		must(t, e.s.UpdateTenant(ctx, ten, ten, nil))
		got, err = e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		if got.LicenseRefusals != 2 {
			t.Errorf("refusals %d after update, want 2", got.LicenseRefusals)
		}

		must(t, e.s.PutAdminToken(ctx, e.tenant, "h1", "alice@acme", []byte(`{"x":1}`)))
		name, err := e.s.AdminTokenName(ctx, e.tenant, "h1")
		must(t, err)
		if name != "alice@acme" {
			t.Errorf("name %q", name)
		}
		_, err = e.s.AdminTokenName(ctx, e.tenant, "h2")
		checkErr(t, err, ErrNotFound)
		checkErr(t, e.s.PutAdminToken(ctx, "st-none", "h", "x", nil), ErrNotFound)
		checkErr(t, e.s.RecordLicenseRefusal(ctx, "st-none", t0), ErrNotFound)
		if n, err := e.rdb.Exists(ctx, tenantKey("st-none")).Result(); err != nil || n != 0 {
			t.Errorf("a refusal recreated a missing tenant: %d %v", n, err)
		}
	})
}

// TestUpdateTenantCompareAndSet: a settings change lands only over the
// values it read, with its audit event in the same script; an empty
// MatchBy (link on nothing) stays distinct from an unset one.
func TestUpdateTenantCompareAndSet(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		read, err := e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		with := func(f func(*Tenant)) Tenant {
			t := read
			f(&t)
			return t
		}
		manual := with(func(t *Tenant) { t.Mode = "manual" })
		tests := []struct {
			name      string
			prev, t   Tenant
			want      error
			wantState Tenant
			audited   bool
		}{
			{"first change lands", read, manual, nil, manual, true},
			{"a change read before it is refused", read, with(func(t *Tenant) { t.MatchBy = []string{"email"} }),
				ErrVersionConflict, manual, false},
			{"read again, it lands on top", manual, with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = []string{"email"} }), nil,
				with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = []string{"email"} }), true},
			{"empty matchBy stays empty", with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = []string{"email"} }),
				with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = []string{} }), nil,
				with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = []string{} }), true},
			{"unset matchBy stays unset", with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = []string{} }),
				with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = nil }), nil,
				with(func(t *Tenant) { t.Mode = "manual"; t.MatchBy = nil }), true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
				must(t, err)
				checkErr(t, e.s.UpdateTenant(ctx, tt.prev, tt.t, []byte(`{"action":"tenant.update"}`)), tt.want)
				got, err := e.s.GetTenant(ctx, e.tenant)
				must(t, err)
				if d := cmp.Diff(tt.wantState, got); d != "" {
					t.Errorf("tenant (-want +got):\n%s", d)
				}
				after, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
				must(t, err)
				if audited := after == before+1; audited != tt.audited || after > before+1 {
					t.Errorf("audit events %d -> %d, want one more: %v", before, after, tt.audited)
				}
			})
		}
	})
}

// TestRevokeAdminTokens: revoking a name removes every token of that name,
// the first token (in the settings) included, audited; other names stay.
func TestRevokeAdminTokens(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		prev, err := e.s.GetTenant(ctx, e.tenant)
		must(t, err)
		first := prev
		first.AdminTokenHash, first.AdminName = "h0", ""
		must(t, e.s.UpdateTenant(ctx, prev, first, nil))
		must(t, e.s.PutAdminToken(ctx, e.tenant, "h1", "ines", nil))
		must(t, e.s.PutAdminToken(ctx, e.tenant, "h2", "ines", nil))
		must(t, e.s.PutAdminToken(ctx, e.tenant, "h3", "omar", nil))

		names, err := e.s.AdminTokenNames(ctx, e.tenant, "tenant-admin")
		must(t, err)
		if d := cmp.Diff(map[string]int{"tenant-admin": 1, "ines": 2, "omar": 1}, names); d != "" {
			t.Errorf("names (-want +got):\n%s", d)
		}
		tests := []struct {
			name    string
			revoke  string
			want    int64
			wantErr error
			left    map[string]int
		}{
			{"two of one name", "ines", 2, nil, map[string]int{"tenant-admin": 1, "omar": 1}},
			{"again: none left", "ines", 0, ErrNotFound, map[string]int{"tenant-admin": 1, "omar": 1}},
			{"the first token", "tenant-admin", 1, nil, map[string]int{"omar": 1}},
			{"no such name", "nobody", 0, ErrNotFound, map[string]int{"omar": 1}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
				must(t, err)
				n, err := e.s.RevokeAdminTokens(ctx, e.tenant, tt.revoke, "tenant-admin", []byte(`{"action":"adminToken.revoke"}`))
				checkErr(t, err, tt.wantErr)
				if n != tt.want {
					t.Errorf("revoked %d, want %d", n, tt.want)
				}
				left, err := e.s.AdminTokenNames(ctx, e.tenant, "tenant-admin")
				must(t, err)
				if d := cmp.Diff(tt.left, left); d != "" {
					t.Errorf("left (-want +got):\n%s", d)
				}
				after, _ := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
				if audited := after == before+1; audited != (tt.wantErr == nil) {
					t.Errorf("audit %d -> %d", before, after)
				}
			})
		}
		_, err = e.s.AdminTokenName(ctx, e.tenant, "h1")
		checkErr(t, err, ErrNotFound)
		_, err = e.s.RevokeAdminTokens(ctx, "st-none", "x", "tenant-admin", nil)
		checkErr(t, err, ErrNotFound)
	})
}
