package provision

import (
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
)

var admin = Actor{Source: "admin", IP: "127.0.0.1"}

// serviceWithTenant is a Service over embeddedEnv with one tenant of 10
// seats, and its store.
func serviceWithTenant(t *testing.T, tenant string) (*Service, *storage.Store) {
	t.Helper()
	st, pol := embeddedEnv(t)
	svc := New(st, pol, Options{})
	limit := int64(10)
	if _, _, err := svc.CreateTenant(t.Context(), NewTenant{ID: tenant, Name: tenant, LicenseLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// TestActiveStatedAndKept: a user's document says active whenever the user
// counts as active, a PUT that leaves active out keeps the user's state,
// and a document stored without active by an earlier release reads with
// the default, so that a write leaving the user as it is stays no write.
func TestActiveStatedAndKept(t *testing.T) {
	const tenant = "active"
	svc, st := serviceWithTenant(t, tenant)
	ctx := t.Context()
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
	// Left out, or null, active is not asserted (RFC 7644 §3.5.1): no write.
	u, err = svc.ReplaceUser(ctx, tenant, id, body(), "", SCIM)
	check(t, u, err, 2, false)
	null := body()
	null["active"] = nil
	u, err = svc.ReplaceUser(ctx, tenant, id, null, "", SCIM)
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

	// Stored without active and before the size caps, over them: the
	// write that trims it goes through.
	prev, err = st.GetUser(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	old = prev
	old.Version++
	old.Doc = []byte(`{"displayName":"` + strings.Repeat("x", 5000) + `","userName":"a@x"}`)
	if err := st.UpdateUser(ctx, tenant, prev, old, nil); err != nil {
		t.Fatal(err)
	}
	u, err = svc.PatchUser(ctx, tenant, id, "", SCIM, func(doc map[string]any) error {
		doc["displayName"] = "short"
		return nil
	})
	check(t, u, err, 7, true)
}

// TestLinkKeepsActiveLeftOut: a SCIM create that links a disabled manual
// user keeps it disabled when it leaves active out, as a PUT does, and
// enables it when it says so.
func TestLinkKeepsActiveLeftOut(t *testing.T) {
	const tenant = "linkactive"
	svc, st := serviceWithTenant(t, tenant)
	ctx := t.Context()
	manual := "manual"
	if _, err := svc.UpdateProvisioning(ctx, tenant, ProvisioningChange{Mode: &manual}, admin); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sent   map[string]any
		active bool
	}{
		{"left out", map[string]any{"userName": "out@x"}, false},
		{"null", map[string]any{"userName": "null@x", "active": nil}, false},
		{"said", map[string]any{"userName": "said@x", "active": true}, true},
		{"said, over an earlier release's document", map[string]any{"userName": "legacy@x", "active": true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := svc.CreateManualUser(ctx, tenant, map[string]any{"userName": tc.sent["userName"], "active": tc.sent["userName"] == "legacy@x"}, admin)
			if err != nil {
				t.Fatal(err)
			}
			if tc.sent["userName"] == "legacy@x" { // stored without active, as before 8a66fdc
				prev, err := st.GetUser(ctx, tenant, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				old := prev
				old.Version++
				old.Doc = []byte(`{"userName":"legacy@x"}`)
				if err := st.UpdateUser(ctx, tenant, prev, old, nil); err != nil {
					t.Fatal(err)
				}
			}
			u, err := svc.CreateUser(ctx, tenant, tc.sent, SCIM)
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != m.ID || u.ManagedBy != "scim" {
				t.Fatalf("created %s managed by %s, want the manual user %s linked", u.ID, u.ManagedBy, m.ID)
			}
			stored, err := svc.GetUser(ctx, tenant, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Active != tc.active || u.Attrs["active"] != tc.active || stored.Active != tc.active || stored.Attrs["active"] != tc.active {
				t.Errorf("active %v/%v, stored %v/%v; want %v", u.Active, u.Attrs["active"], stored.Active, stored.Attrs["active"], tc.active)
			}
			// The link's audit event names active only when its state changed.
			page, err := svc.Audit(ctx, tenant, AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			var link *AuditEvent
			for i := range page.Events {
				if e := &page.Events[i]; e.Action == "user.link" && e.TargetID == u.ID {
					link = &e.AuditEvent
				}
			}
			if link == nil {
				t.Fatalf("no user.link event for %s", u.ID)
			}
			changed := slices.ContainsFunc(link.Changes, func(c Change) bool { return c.Attribute == "active" })
			if want := tc.name == "said"; changed != want {
				t.Errorf("link event changes %+v: active named %v, want %v", link.Changes, changed, want)
			}
		})
	}
}
