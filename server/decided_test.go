package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// Stored decisions (issue 12): writes through the SCIM and admin APIs are
// re-decided by the resolver, which stores each user's decision and a feed
// entry for each change.

// tenantOwners maps each tenant a harness made to the name of its test.
// Tests share REDIS_URL (with other packages' tests too): a test's
// resolvers keep to its own tenants (access.Options.Tenants), so they never
// decide for a test that writes decision records by hand, nor take over
// another test's job.
var tenantOwners sync.Map

// newResolverHarness is a harness whose resolver runs, sweeping often, over
// the tenants its test makes (every harness of the test: replicas share).
func newResolverHarness(t *testing.T, url string) *harness {
	t.Helper()
	return newResolverHarnessEngine(t, url, testEngine(t))
}

// newResolverHarnessEngine is newResolverHarness running the policies of eng.
func newResolverHarnessEngine(t *testing.T, url string, eng *policies.Engine) *harness {
	t.Helper()
	return newResolverHarnessWith(t, url, eng, storage.Options{}, access.Options{})
}

// newResolverHarnessWith is newResolverHarnessEngine with the store's and
// the resolver's options (Sweep and Tenants are the test's).
func newResolverHarnessWith(t *testing.T, url string, eng *policies.Engine, sopts storage.Options, ao access.Options) *harness {
	t.Helper()
	name := t.Name()
	ao.Sweep = 20 * time.Millisecond
	ao.Tenants = func(tenant string) bool { o, ok := tenantOwners.Load(tenant); return ok && o == name }
	cfg := server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: 64 << 10, Access: ao}
	h := assembleEngine(t, url, cfg, sopts, provision.Options{}, eng)
	h.srv.Resolver.Start()
	t.Cleanup(h.srv.Resolver.Stop)
	return h
}

// settle waits until the admin API says the tenant's stored decisions are
// current: no cause pending, no job, the running revision.
func (h *harness) settle(tn tenant) map[string]any {
	h.t.Helper()
	return h.settleAt(tn, testEngine(h.t).Revision())
}

// settleAt is settle for decisions made at revision.
func (h *harness) settleAt(tn tenant, revision string) map[string]any {
	h.t.Helper()
	var st map[string]any
	deadline := time.Now().Add(time.Minute)
	for {
		st = h.do(http.MethodGet, adminPath(tn)+"/access/status", tn.AdminToken, nil).want(200).json()
		if st["pendingCauses"] == 0.0 && st["job"] == nil && st["revision"] == revision {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("stored decisions never settled: %v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// decision is a user's stored record.
func (h *harness) decision(tn tenant, uid string) access.Record {
	h.t.Helper()
	raw, err := h.st.AccessDecision(context.Background(), tn.ID, uid)
	if err != nil {
		h.t.Fatalf("decision of %s: %v", uid, err)
	}
	var r access.Record
	if err := json.Unmarshal(raw, &r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// feed returns the tenant's feed entries after the first skip.
func (h *harness) feed(tn tenant, skip int) []access.FeedEntry {
	h.t.Helper()
	var out []access.FeedEntry
	after := ""
	for {
		page, _, err := h.st.FeedRange(context.Background(), tn.ID, after, 1000)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			var fe access.FeedEntry
			if err := json.Unmarshal(e.Entry, &fe); err != nil {
				h.t.Fatal(err)
			}
			out = append(out, fe)
		}
		after = page[len(page)-1].ID
	}
	return out[min(skip, len(out)):]
}

// TestDecidedOnWrite: membership, grants, a custom role's edit, a new
// sub-account, deactivation and reactivation, each through the API,
// change the stored decision and write its feed entry with the cause.
func TestDecidedOnWrite(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newResolverHarness(t, url)
			f := newAccessFixture(t, h)
			h.settle(f.tn)
			if r := h.decision(f.tn, f.user); !r.Active || r.Enterprise != nil || r.Revision != testEngine(t).Revision() {
				t.Fatalf("first decision %+v", r)
			}
			seen := len(h.feed(f.tn, 0))
			// next returns the feed entries since the last call.
			next := func() []access.FeedEntry {
				out := h.feed(f.tn, seen)
				seen += len(out)
				return out
			}
			only := func(what string, entries []access.FeedEntry, kind, id string) access.FeedEntry {
				t.Helper()
				if len(entries) != 1 || entries[0].User != f.user || entries[0].Cause.Kind != kind || entries[0].Cause.ID != id {
					t.Fatalf("%s: feed %+v, want one entry for %s with cause %s %s", what, entries, f.user, kind, id)
				}
				return entries[0]
			}

			// Membership: the user joins a group granting Enterprise Admin.
			admins := h.do(http.MethodPost, f.admin+"/groups", f.tn.AdminToken, map[string]any{"displayName": "Admins"}).want(201).json()["id"].(string)
			h.do(http.MethodPut, f.admin+"/groups/"+admins+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{
				map[string]any{"scope": "enterprise", "role": "Enterprise Admin"}}}).want(200)
			h.settle(f.tn)
			if got := next(); len(got) != 0 {
				t.Fatalf("grants on an empty group changed %+v", got)
			}
			h.do(http.MethodPatch, f.admin+"/groups/"+admins, f.tn.AdminToken, map[string]any{"addMembers": []string{f.user}}).want(200)
			h.settle(f.tn)
			e := only("membership", next(), "membership", admins)
			if e.Old == nil || e.Old.Enterprise != nil || e.New == nil || e.New.Enterprise == nil || e.New.Enterprise.Role != "Enterprise Admin" {
				t.Errorf("membership entry old %+v new %+v", e.Old, e.New)
			}
			if r := h.decision(f.tn, f.user); r.Enterprise == nil || r.Enterprise.Role != "Enterprise Admin" || r.Accounts["news"] == nil {
				t.Errorf("after joining Admins: %+v", r)
			}

			// A custom role granted in news, then edited: the score moves.
			h.do(http.MethodPut, f.admin+"/roles/Desk", f.tn.AdminToken, map[string]any{"level": "account", "permissions": []string{"view_content"}}).want(201)
			h.settle(f.tn)
			if got := next(); len(got) != 0 {
				t.Fatalf("a role nobody is granted changed %+v", got)
			}
			h.do(http.MethodPut, f.admin+"/groups/"+f.group+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{
				map[string]any{"scope": "account", "account": "news", "role": "Desk"}}}).want(200)
			h.settle(f.tn)
			only("grants", next(), "grants", f.group)
			before := h.decision(f.tn, f.user).Accounts["news"]
			if before == nil || before.Role != "Desk" {
				t.Fatalf("news after the Desk grant: %+v", before)
			}
			h.do(http.MethodPut, f.admin+"/roles/Desk", f.tn.AdminToken, map[string]any{"level": "account", "permissions": []string{"view_content", "publish"}}).want(200)
			h.settle(f.tn)
			only("role edit", next(), "role", "Desk")
			if after := h.decision(f.tn, f.user).Accounts["news"]; after.Score <= before.Score {
				t.Errorf("Desk's score %d after adding publish, was %d", after.Score, before.Score)
			}

			// A new sub-account: the enterprise role's full access reaches it.
			h.do(http.MethodPut, f.admin+"/accounts/weather", f.tn.AdminToken, map[string]any{"name": "Weather"}).want(201)
			h.settle(f.tn)
			only("sub-account", next(), "account", "weather")
			if a := h.decision(f.tn, f.user).Accounts["weather"]; a == nil || a.Role != "Enterprise Admin" {
				t.Errorf("weather: %+v", a)
			}

			// Deactivation: active false and no role, as the policy says;
			// reactivation: the roles again.
			active := func(v string) string {
				return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"` + v + `"}]}`
			}
			h.do(http.MethodPatch, f.tn.Base+"/Users/"+f.user, f.tn.SCIMToken, active("False")).want(200)
			h.settle(f.tn)
			only("deactivation", next(), "active", f.user)
			if r := h.decision(f.tn, f.user); r.Active || r.Enterprise != nil || r.Accounts["news"] != nil {
				t.Errorf("deactivated: %+v", r)
			}
			h.do(http.MethodPatch, f.tn.Base+"/Users/"+f.user, f.tn.SCIMToken, active("True")).want(200)
			h.settle(f.tn)
			only("reactivation", next(), "active", f.user)
			if r := h.decision(f.tn, f.user); !r.Active || r.Enterprise == nil || r.Accounts["news"].Role != "Desk" {
				t.Errorf("reactivated: %+v", r)
			}

			st := h.settle(f.tn)
			if st["generation"] != st["resolvedGeneration"] || st["generation"] == 0.0 {
				t.Errorf("status %v: generations differ after settling", st)
			}
		})
	}
}

// addMembers creates n users in the store and a group holding them, for
// the big-group tests (through storage: thousands of SCIM creates would
// only slow the test; the change under test goes through the API).
func addMembers(t *testing.T, h *harness, tn tenant, n int) (string, []string) {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%05d", i)
		now := time.Now()
		if err := h.st.CreateUser(ctx, tn.ID, storage.User{ID: ids[i], Version: 1, Created: now, Modified: now, ManagedBy: "scim", Active: true,
			UserName: ids[i] + "@x", Doc: []byte(`{}`)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	gid := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Everyone"}).want(201).json()["id"].(string)
	for i := 0; i < n; i += 500 {
		if _, err := h.st.ChangeMembers(ctx, tn.ID, gid, ids[i:min(i+500, n)], nil, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	return gid, ids
}

// checkOnce fails unless the entries of the cause name each of users
// exactly once, and the audit log has the cause's one access.change event.
func checkOnce(t *testing.T, h *harness, tn tenant, entries []access.FeedEntry, kind, id string, users []string) {
	t.Helper()
	count := map[string]int{}
	var gen int64
	for _, e := range entries {
		if e.Cause.Kind == kind && e.Cause.ID == id {
			count[e.User]++
			gen = e.Cause.Generation
		}
	}
	if len(count) != len(users) {
		t.Errorf("%d users in the feed for %s %s, want %d", len(count), kind, id, len(users))
	}
	for _, u := range users {
		if count[u] != 1 {
			t.Errorf("user %s: %d entries for %s %s, want 1", u, count[u], kind, id)
		}
	}
	audit, err := h.st.ReadAudit(context.Background(), tn.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, a := range audit {
		var ev struct {
			Action  string
			Changes []struct{ New json.RawMessage }
		}
		if err := json.Unmarshal(a.Event, &ev); err != nil {
			t.Fatal(err)
		}
		var c access.Cause
		if ev.Action != "access.change" || json.Unmarshal(ev.Changes[0].New, &c) != nil || c.Kind != kind || c.ID != id || c.Generation != gen {
			continue
		}
		events++
		if n := string(ev.Changes[1].New); n != fmt.Sprint(len(users)) {
			t.Errorf("access.change says %s users, want %d", n, len(users))
		}
	}
	if events != 1 {
		t.Errorf("%d access.change events for %s %s, want 1", events, kind, id)
	}
}

// TestDecidedBigGroup: a grant on a group of 5,000 re-decides every
// member in the background, one feed entry each, and one audit event.
func TestDecidedBigGroup(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newResolverHarness(t, url)
			tn := h.newTenant(10000)
			gid, members := addMembers(t, h, tn, 5000)
			h.settle(tn)
			seen := len(h.feed(tn, 0))
			h.do(http.MethodPut, adminPath(tn)+"/groups/"+gid+"/grants", tn.AdminToken, map[string]any{"grants": []any{
				map[string]any{"scope": "enterprise", "role": "Enterprise Admin"}}}).want(200)
			h.settle(tn)
			entries := h.feed(tn, seen)
			checkOnce(t, h, tn, entries, "grants", gid, members)
			for _, u := range []string{members[0], members[len(members)-1]} {
				if r := h.decision(tn, u); r.Enterprise == nil || r.Enterprise.Role != "Enterprise Admin" {
					t.Errorf("%s: %+v", u, r.Enterprise)
				}
			}
		})
	}
}

// TestDecidedTwoReplicas: two servers on one store share the work under
// the tenant's lease; each change is written once.
func TestDecidedTwoReplicas(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newResolverHarness(t, url)
			other := newResolverHarness(t, url)
			tn := h.newTenant(10000)
			gid, members := addMembers(t, h, tn, 1000)
			h.settle(tn)
			seen := len(h.feed(tn, 0))
			// Through the other replica: the first learns of it by its
			// sweep, or takes turns on the lease.
			other.do(http.MethodPut, adminPath(tn)+"/groups/"+gid+"/grants", tn.AdminToken, map[string]any{"grants": []any{
				map[string]any{"scope": "enterprise", "role": "Enterprise Admin"}}}).want(200)
			h.settle(tn)
			checkOnce(t, h, tn, h.feed(tn, seen), "grants", gid, members)
		})
	}
}

// penaltyEngine runs the built-in policies with the Group Manager penalty
// raised from 10 to 200: a new policy revision.
func penaltyEngine(t *testing.T) *policies.Engine {
	t.Helper()
	eng, err := rollout.PenaltyEngineForTest()
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestDecidedOnPolicyRevision: when the replicas run a new policy revision
// (here the old replica stops and one running the new revision starts),
// every stored decision is re-made at that revision, and the feed names
// exactly the users whose role changed, with the policy revision as cause.
func TestDecidedOnPolicyRevision(t *testing.T) {
	edited := penaltyEngine(t)
	if edited.Revision() == testEngine(t).Revision() {
		t.Fatal("the edited policies have the built-in revision")
	}
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newResolverHarness(t, url)
			f := newAccessFixture(t, h) // pat, in Staff
			h.do(http.MethodPut, f.admin+"/roles/Auditor", f.tn.AdminToken, map[string]any{
				"level": "enterprise", "permissions": []string{"view_content", "view_reports"}}).want(201)
			sam := h.do(http.MethodPost, f.tn.Base+"/Users", f.tn.SCIMToken, userBody("sam@x")).want(201).json()["id"].(string)
			// Both hold Enterprise Group Manager (Staff, and Managers for
			// sam); pat also holds Auditor, which outscores it once the
			// penalty is 200.
			managers := h.do(http.MethodPost, f.admin+"/groups", f.tn.AdminToken, map[string]any{"displayName": "Managers"}).want(201).json()["id"].(string)
			h.do(http.MethodPatch, f.admin+"/groups/"+managers, f.tn.AdminToken, map[string]any{"addMembers": []string{sam}}).want(200)
			auditors := h.do(http.MethodPost, f.admin+"/groups", f.tn.AdminToken, map[string]any{"displayName": "Auditors"}).want(201).json()["id"].(string)
			h.do(http.MethodPatch, f.admin+"/groups/"+auditors, f.tn.AdminToken, map[string]any{"addMembers": []string{f.user}}).want(200)
			for g, role := range map[string]string{f.group: "Enterprise Group Manager", managers: "Enterprise Group Manager", auditors: "Auditor"} {
				h.do(http.MethodPut, f.admin+"/groups/"+g+"/grants", f.tn.AdminToken, map[string]any{"grants": []any{
					map[string]any{"scope": "enterprise", "role": role}}}).want(200)
			}
			h.settle(f.tn)
			for _, u := range []string{f.user, sam} {
				if r := h.decision(f.tn, u); r.Enterprise == nil || r.Enterprise.Role != "Enterprise Group Manager" {
					t.Fatalf("before: %s has %+v", u, r.Enterprise)
				}
			}
			seen := len(h.feed(f.tn, 0))

			h.srv.Resolver.Stop()
			next := newResolverHarnessEngine(t, url, edited)
			next.settleAt(f.tn, edited.Revision())
			// Both decisions moved: pat's role, and the score of sam's.
			byUser := map[string]access.FeedEntry{}
			for _, e := range next.feed(f.tn, seen) {
				if _, twice := byUser[e.User]; twice || e.Cause.Kind != "policy" || e.Cause.ID != edited.Revision() || e.Revision != edited.Revision() {
					t.Fatalf("feed entry %+v: want one per user, with cause policy %s", e, edited.Revision())
				}
				byUser[e.User] = e
			}
			pat, samE := byUser[f.user], byUser[sam]
			if len(byUser) != 2 || pat.Old == nil || pat.Old.Enterprise == nil || pat.Old.Enterprise.Role != "Enterprise Group Manager" ||
				pat.New == nil || pat.New.Enterprise == nil || pat.New.Enterprise.Role != "Auditor" {
				t.Fatalf("feed after the new revision: %+v", byUser)
			}
			if samE.Old == nil || samE.Old.Enterprise == nil || samE.New == nil || samE.New.Enterprise == nil || samE.New.Enterprise.Role != "Enterprise Group Manager" ||
				samE.New.Enterprise.Score != samE.Old.Enterprise.Score-190 {
				t.Fatalf("sam's entry %+v", samE)
			}
			for _, u := range []string{f.user, sam} {
				if r := next.decision(f.tn, u); r.Revision != edited.Revision() || r.Stale {
					t.Fatalf("%s after the new revision: %+v", u, r)
				}
			}
		})
	}
}
