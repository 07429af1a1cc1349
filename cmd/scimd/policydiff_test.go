package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// diffTenant stores a tenant "acme" whose users hold the Group Manager
// role beside others: alice and erin also hold Auditor (a custom
// enterprise role scoring 7, below Enterprise Group Manager's 130), bob
// only Enterprise Group Manager, carol the same as alice but deactivated,
// dave only Auditor, frank Enterprise Admin too; erin is also a Publisher
// in news. It returns the Redis URL.
func diffTenant(t *testing.T) string {
	t.Helper()
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	rdb, err := storage.NewClient(e.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	ctx := t.Context()
	st := storage.New(rdb, storage.Options{})
	at := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateTenant(ctx, storage.Tenant{ID: "acme", Name: "Acme", LicenseLimit: 10, Mode: "idp", Created: at}))
	_, err = st.PutAccount(ctx, "acme", storage.Account{ID: "news", Name: "News", Created: at}, nil)
	must(err)
	_, err = st.PutRole(ctx, "acme", storage.Role{Name: "Auditor", Level: "enterprise", Permissions: []string{"view_content", "view_reports"}}, nil)
	must(err)
	for i, u := range []struct {
		id, name string
		active   bool
	}{{"u1", "alice", true}, {"u2", "bob", true}, {"u3", "carol", false}, {"u4", "dave", true}, {"u5", "erin", true}, {"u6", "frank", true}} {
		must(st.CreateUser(ctx, "acme", storage.User{ID: u.id, Version: 1, Created: at.Add(time.Duration(i) * time.Second), Modified: at,
			Active: u.active, UserName: u.name, ManagedBy: "scim", Doc: []byte(`{}`)}, nil))
	}
	for _, g := range []struct {
		id      string
		grant   storage.Grant
		members []string
	}{
		{"g-gm", storage.Grant{Scope: "enterprise", Role: "Enterprise Group Manager"}, []string{"u1", "u2", "u3", "u5", "u6"}},
		{"g-aud", storage.Grant{Scope: "enterprise", Role: "Auditor"}, []string{"u1", "u3", "u4", "u5"}},
		{"g-admin", storage.Grant{Scope: "enterprise", Role: "Enterprise Admin"}, []string{"u6"}},
		{"g-pub", storage.Grant{Scope: "account", Account: "news", Role: "Publisher"}, []string{"u5"}},
	} {
		must(st.CreateGroup(ctx, "acme", storage.Group{ID: g.id, Version: 1, Created: at, Modified: at, DisplayName: g.id, ManagedBy: "scim", Doc: []byte(`{}`)}, g.members, nil))
		custom := map[string]string{}
		if g.grant.Role == "Auditor" {
			custom["Auditor"] = "enterprise"
		}
		must(st.PutGrants(ctx, "acme", g.id, []storage.Grant{g.grant}, custom, nil))
	}
	return e.URL()
}

// editedPolicyDir is a copy of the built-in policies with the Group Manager
// penalty raised from 10 to 200.
func editedPolicyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := policies.WriteEmbedded(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "roles", "data.json")
	bs, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(bs), `"group_manager_penalty": 10,`, `"group_manager_penalty": 200,`, 1)
	if edited == string(bs) {
		t.Fatal(`no "group_manager_penalty": 10 in roles/data.json`)
	}
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPolicyDiffGroupManagerPenalty: after the Group Manager penalty is
// raised in a copy of the policies, the diff names exactly the users whose
// role changes (alice and erin: Auditor now outscores Enterprise Group
// Manager), and nobody else; the same policies compared with themselves
// change nobody.
func TestPolicyDiffGroupManagerPenalty(t *testing.T) {
	url := diffTenant(t)
	dir := editedPolicyDir(t)
	t.Setenv("SCIMD_REDIS_URL", url)

	code, stdout, stderr := runCLI("policy", "diff", "--policy-dir", dir, "--tenant", "acme", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var rep rollout.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	want := []rollout.Change{{
		Level: policies.LevelEnterprise, From: "Enterprise Group Manager", To: "Auditor", Count: 2,
		Users: []rollout.ReportUser{{ID: "u1", UserName: "alice"}, {ID: "u5", UserName: "erin"}},
	}}
	if diff := cmp.Diff(want, rep.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if rep.Users != 6 || rep.Changed != 2 || len(rep.Errors) != 0 || rep.Base == rep.Edited {
		t.Errorf("report %+v", rep)
	}

	code, stdout, stderr = runCLI("policy", "diff", "--policy-dir", dir, "--tenant", "acme", "--list", "1")
	if code != 0 || !strings.Contains(stdout, "2 users would change role:\n  Enterprise Group Manager -> Auditor at enterprise level: 2 users: alice (u1) and 1 more\n") {
		t.Errorf("text report: exit %d\n%s%s", code, stdout, stderr)
	}

	same := t.TempDir()
	if err := policies.WriteEmbedded(same); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI("policy", "diff", "--policy-dir", same, "--tenant", "acme")
	if code != 0 || !strings.Contains(stdout, "no user's role would change") {
		t.Errorf("unchanged policies: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestPolicyDiffUsage(t *testing.T) {
	url := diffTenant(t)
	dir := editedPolicyDir(t)
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no policy dir", []string{"--tenant", "acme", "--redis-url", url}, 2, "--policy-dir is required"},
		{"no tenant", []string{"--policy-dir", dir, "--redis-url", url}, 2, "--tenant is required"},
		{"no redis", []string{"--policy-dir", dir, "--tenant", "acme"}, 2, "SCIMD_REDIS_URL is required"},
		{"negative list", []string{"--policy-dir", dir, "--tenant", "acme", "--list", "-1"}, 2, "--list"},
		{"unknown tenant", []string{"--policy-dir", dir, "--tenant", "nope", "--redis-url", url}, 1, `no tenant "nope"`},
		{"bad policy dir", []string{"--policy-dir", t.TempDir(), "--tenant", "acme", "--redis-url", url}, 1, "--policy-dir: policies: invalid policy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SCIMD_REDIS_URL", "")
			code, _, stderr := runCLI(append([]string{"policy", "diff"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestPolicyExplainLiveUser: explain reads the user's groups and grants
// from the store (no input written by hand).
func TestPolicyExplainLiveUser(t *testing.T) {
	url := diffTenant(t)
	t.Setenv("SCIMD_REDIS_URL", url)
	code, stdout, stderr := runCLI("policy", "explain", "--tenant", "acme", "--user", "u5")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var got struct {
		Tenant, User, Revision string
		Explanation            policies.Explanation
		Stored                 json.RawMessage
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if got.Explanation.Enterprise == nil || got.Explanation.Enterprise.Role != "Enterprise Group Manager" ||
		got.Explanation.Accounts["news"] == nil || got.Explanation.Accounts["news"].Role != "Publisher" ||
		len(got.Explanation.Enterprise.Candidates) != 2 || got.Revision == "" || string(got.Stored) != "null" {
		t.Errorf("explanation %s", stdout)
	}
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--tenant", "acme"}, 2, "give --tenant and --user"},
		{[]string{"--tenant", "acme", "--user", "u1", "--input", "x.json"}, 2, "give --tenant and --user"},
		{[]string{"--tenant", "acme", "--user", "nobody"}, 1, "nobody"},
	} {
		code, _, stderr := runCLI(append([]string{"policy", "explain"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
}
