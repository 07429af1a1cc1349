package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/rollout"
)

// policyTests reads the repository's policy tests, by path, as a request
// sends them.
func policyTests(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join("..", "policytests")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		bs, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(bs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPolicyDiffAPI: the operator's policy diff through HTTP, over the
// users of `scimd policy diff`'s test (rollout.SeedDiffExampleForTest):
// after the Group Manager penalty is raised, the answer names exactly the
// users whose role changes, as the CLI's report does; bad Rego is a 422
// naming the file and position; the bounds and the auth hold.
func TestPolicyDiffAPI(t *testing.T) {
	for name, u := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessConfig(t, u, func(c *server.Config) {
				c.BodyLimit = 512 << 10
				c.PolicyDiffOptions = rollout.PreviewOptions{MaxUsers: 100, MaxFiles: 8, MaxFileSize: 40 << 10}
			})
			tn := h.newTenant(10)
			if err := rollout.SeedDiffExampleForTest(t.Context(), h.st, tn.ID, time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			edited, err := rollout.PenaltyEditForTest()
			if err != nil {
				t.Fatal(err)
			}
			route := adminPath(tn) + "/policy-diff"
			diff := func(body map[string]any) rollout.Report {
				t.Helper()
				var rep rollout.Report
				h.do(http.MethodPost, route, operatorToken, body).want(200).decode(&rep)
				return rep
			}

			rep := diff(map[string]any{"policies": edited})
			want := []rollout.Change{{
				Level: policies.LevelEnterprise, From: "Enterprise Group Manager", To: "Auditor", Count: 2,
				Users: []rollout.ReportUser{{ID: "u1", UserName: "alice"}, {ID: "u5", UserName: "erin"}},
			}}
			if d := cmp.Diff(want, rep.Changes); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			if rep.Tenant != tn.ID || rep.Users != 6 || rep.Changed != 2 || len(rep.Errors) != 0 || rep.Truncated ||
				rep.Base != testEngine(t).Revision() || rep.Edited == rep.Base {
				t.Errorf("report %+v", rep)
			}
			if rep := diff(map[string]any{"policies": edited, "list": 1, "maxUsers": 3}); !rep.Truncated || rep.Users != 3 ||
				len(rep.Changes) != 1 || rep.Changes[0].Count != 1 || len(rep.Changes[0].Users) != 1 {
				t.Errorf("list 1, maxUsers 3: %+v", rep)
			}
			same, err := policies.EmbeddedFiles()
			if err != nil {
				t.Fatal(err)
			}
			// The running policies with their tests: nobody changes.
			if rep := diff(map[string]any{"policies": same, "tests": policyTests(t)}); rep.Changed != 0 || len(rep.Changes) != 0 || rep.Edited != rep.Base {
				t.Errorf("unchanged policies: %+v", rep)
			}
			// The raised penalty fails the tests that pin it.
			failed := h.do(http.MethodPost, route, operatorToken, map[string]any{"policies": edited, "tests": policyTests(t)}).want(422).json()
			if d, _ := failed["detail"].(string); !strings.Contains(d, "policy tests failed") || !strings.Contains(d, "penalty") {
				t.Errorf("tests failed: %v", failed)
			}

			// Bad Rego: the file and the position.
			broken := map[string]string{}
			for k, v := range edited {
				broken[k] = v
			}
			broken["roles/roles.rego"] += "\nbroken := \n"
			p := h.do(http.MethodPost, route, operatorToken, map[string]any{"policies": broken}).want(422).json()
			errs := asList(p["errors"])
			if len(errs) == 0 || path(errs[0], "file") != "policies/roles/roles.rego" || path(errs[0], "row").(float64) < 300 ||
				path(errs[0], "code") != "rego_parse_error" {
				t.Errorf("parse error: %v", p)
			}
			broken["roles/roles.rego"] = edited["roles/roles.rego"] + "\nunsafe := x if { y := 1 }\n"
			p = h.do(http.MethodPost, route, operatorToken, map[string]any{"policies": broken}).want(422).json()
			if errs := asList(p["errors"]); len(errs) == 0 || path(errs[0], "file") != "policies/roles/roles.rego" || path(errs[0], "code") != "rego_unsafe_var_error" {
				t.Errorf("compile error: %v", p)
			}

			for _, tt := range []struct {
				name   string
				body   any
				status int
			}{
				{"no policies", map[string]any{}, 400},
				{"unknown field", map[string]any{"policies": edited, "tenant": "x"}, 400},
				{"escaping name", map[string]any{"policies": map[string]string{"../roles.rego": "package roles"}}, 400},
				{"test among policies", map[string]any{"policies": map[string]string{"roles/roles_test.rego": "package roles_test"}}, 400},
				{"not a policy file", map[string]any{"policies": map[string]string{"roles/notes.txt": "x"}}, 400},
				{"negative list", map[string]any{"policies": edited, "list": -1}, 400},
				{"over the user cap", map[string]any{"policies": edited, "maxUsers": 101}, 400},
				{"file over the cap", map[string]any{"policies": map[string]string{"roles/roles.rego": strings.Repeat("#", 41<<10)}}, 413},
				{"too many files", map[string]any{"policies": edited, "tests": map[string]string{"a.rego": "", "b.rego": "", "c.rego": "", "d.rego": "", "e.rego": ""}}, 413},
			} {
				if r := h.do(http.MethodPost, route, operatorToken, tt.body); r.status != tt.status {
					t.Errorf("%s: status %d, want %d: %s", tt.name, r.status, tt.status, r.body)
				}
			}
			h.do(http.MethodPost, "/admin/v1/tenants/no-such-tenant/policy-diff", operatorToken, map[string]any{"policies": edited}).want(404)
			h.do(http.MethodPost, route, tn.AdminToken, map[string]any{"policies": edited}).want(401)
			h.do(http.MethodPost, route, "", map[string]any{"policies": edited}).want(401)
		})
	}
}
