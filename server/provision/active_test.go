package provision

import (
	"testing"
)

// TestActiveStatedAndKept: a user's document says active whenever the user
// counts as active, a PUT that leaves active out keeps the user's state,
// and a document stored without active by an earlier release reads with
// the default, so that a write leaving the user as it is stays no write.
func TestActiveStatedAndKept(t *testing.T) {
	st, pol := embeddedEnv(t)
	svc := New(st, pol, Options{})
	ctx := t.Context()
	limit := int64(10)
	const tenant = "active"
	if _, _, err := svc.CreateTenant(ctx, NewTenant{ID: tenant, Name: "Active", LicenseLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	admin := Actor{Source: "admin", IP: "127.0.0.1"}
	body := func(active ...bool) map[string]any {
		m := map[string]any{"userName": "a@x", "displayName": "A"}
		if len(active) > 0 {
			m["active"] = active[0]
		}
		return m
	}
	oldDoc := false // the stored document is an earlier release's, without active
	check := func(t *testing.T, u User, err error, wantVersion int64, wantActive bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if u.Version != wantVersion || u.Attrs["active"] != wantActive || u.Active != wantActive {
			t.Errorf("version %d, active %v (record %v); want version %d, active %v", u.Version, u.Attrs["active"], u.Active, wantVersion, wantActive)
		}
		stored, err := svc.GetUser(ctx, tenant, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Version != wantVersion || stored.Active != wantActive || stored.Attrs["active"] != wantActive && !(oldDoc && stored.Attrs["active"] == nil) {
			t.Errorf("stored: version %d, active %v; want %d, %v", stored.Version, stored.Attrs["active"], wantVersion, wantActive)
		}
	}

	u, err := svc.CreateUser(ctx, tenant, body(), SCIM)
	check(t, u, err, 1, true)
	id := u.ID
	u, err = svc.ReplaceUser(ctx, tenant, id, body(false), "", SCIM)
	check(t, u, err, 2, false)
	// Left out, active is not asserted (RFC 7644 §3.5.1): no write.
	u, err = svc.ReplaceUser(ctx, tenant, id, body(), "", SCIM)
	check(t, u, err, 2, false)
	u, err = svc.ReplaceUser(ctx, tenant, id, body(true), "", SCIM)
	check(t, u, err, 3, true)
	// Removed, active is unassigned: the user is active, and says so.
	u, err = svc.PatchUser(ctx, tenant, id, "", SCIM, func(doc map[string]any) error {
		delete(doc, "active")
		return nil
	})
	check(t, u, err, 3, true)

	// As a release before this one stored a user whose PUT left active out
	// (read as it is until it is written).
	prev, err := st.GetUser(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	old := prev
	old.Version++
	old.Doc = []byte(`{"displayName":"A","userName":"a@x"}`)
	if err := st.UpdateUser(ctx, tenant, prev, old, nil); err != nil {
		t.Fatal(err)
	}
	events := func() int {
		page, err := svc.Audit(ctx, tenant, AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	oldDoc = true
	before := events()
	u, err = svc.ReplaceUser(ctx, tenant, id, body(), "", SCIM)
	check(t, u, err, 4, true)
	u, err = svc.PatchUser(ctx, tenant, id, "", SCIM, func(map[string]any) error { return nil })
	check(t, u, err, 4, true)
	// An admin's save without a change, on a SCIM-managed user in idp mode
	// (where active is the IdP's to change): no write, and not refused.
	u, _, err = svc.UpdateManualUser(ctx, tenant, id, "", admin, func(map[string]any) error { return nil })
	check(t, u, err, 4, true)
	if n := events(); n != before {
		t.Errorf("%d audit events after writes that changed nothing, want %d", n, before)
	}
	// A real change writes active with it.
	oldDoc = false
	u, err = svc.ReplaceUser(ctx, tenant, id, map[string]any{"userName": "a@x", "displayName": "B"}, "", SCIM)
	check(t, u, err, 5, true)
}
