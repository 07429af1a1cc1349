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
	"github.com/scimd/scimd/storage/storagetest"
)

// diffTenant stores a tenant "acme" holding rollout.SeedDiffExampleForTest's
// users (alice and erin change role with the raised Group Manager penalty)
// in an embedded Redis, and returns its URL.
func diffTenant(t *testing.T) string {
	t.Helper()
	url, rdb := storagetest.Embedded(t)
	ctx := t.Context()
	st := storage.New(rdb, storage.Options{})
	at := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	if err := st.CreateTenant(ctx, storage.Tenant{ID: "acme", Name: "Acme", LicenseLimit: 10, Mode: "idp", Created: at}); err != nil {
		t.Fatal(err)
	}
	if err := rollout.SeedDiffExampleForTest(ctx, st, "acme", at); err != nil {
		t.Fatal(err)
	}
	return url
}

// editedPolicyDir writes rollout.PenaltyEditForTest's policies (the Group
// Manager penalty raised from 10 to 200) to a directory.
func editedPolicyDir(t *testing.T) string {
	t.Helper()
	files, err := rollout.PenaltyEditForTest()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
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
