package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// TestPolicyDirNeedsTests: edited policies start only tested, unless the
// operator says --policy-tests none.
func TestPolicyDirNeedsTests(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "edited")
	copyTree(t, filepath.Join("..", "..", "policies"), dir)
	tests := filepath.Join("..", "..", "policytests")
	for _, tt := range []struct {
		name      string
		args      []string
		wantErr   string // from parseServe; empty: starts
		wantTests string
	}{
		{name: "no tests beside, none named", args: nil, wantErr: "--policy-tests none"},
		{name: "tests named", args: []string{"--policy-tests", tests}, wantTests: tests},
		{name: "explicitly untested", args: []string{"--policy-tests", "none"}, wantTests: "none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken, "--policy-dir", dir}, tt.args...)
			cfg, err := parseServe(args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseServe() error = %v, want one mentioning %q", err, tt.wantErr)
				}
				var stderr bytes.Buffer
				if code := runServe(context.Background(), args, io.Discard, &stderr); code == 0 {
					t.Fatalf("scimd serve exited 0 without policy tests")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PolicyTests != tt.wantTests {
				t.Errorf("PolicyTests = %q, want %q", cfg.PolicyTests, tt.wantTests)
			}
			var logs bytes.Buffer
			m, err := start(cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			m.close()
			if err := m.app.Shutdown(); err != nil {
				t.Error(err)
			}
			if untested := strings.Contains(logs.String(), "untested"); untested != (tt.wantTests == "none") {
				t.Errorf("log says untested = %v, want %v:\n%s", untested, tt.wantTests == "none", logs.String())
			}
		})
	}
}

// TestCheckFlagsCaseDuplicateRoles: `scimd check` flags a custom role stored
// under a built-in role's name but for case (refused since), with the
// policies' built-in names.
func TestCheckFlagsCaseDuplicateRoles(t *testing.T) {
	url, rdb := storagetest.Embedded(t)
	st := storage.New(rdb, storage.Options{})
	if err := st.CreateTenant(t.Context(), storage.Tenant{ID: "acme", Name: "acme", LicenseLimit: 10, Mode: "idp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutRole(t.Context(), "acme", storage.Role{Name: "enterprise admin", Level: "enterprise", Permissions: []string{"publish"}}, nil); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"check", "--tenant", "acme", "--redis-url", url}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "role-case-duplicate") || !strings.Contains(stdout.String(), `built-in role "Enterprise Admin"`) {
		t.Fatalf("exit %d, want 1 with the case duplicate named:\n%s%s", code, stdout.String(), stderr.String())
	}
}

// TestPolicyTestCommand: `scimd policy test` prints counts, lists each test
// with -v, shows a failure's file:line and the values compared, and checks
// coverage and formatting on demand.
func TestPolicyTestCommand(t *testing.T) {
	tests := filepath.Join("..", "..", "policytests")
	edited := func(t *testing.T, change func(dir string)) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "policies")
		copyTree(t, filepath.Join("..", "..", "policies"), dir)
		change(dir)
		return dir
	}
	appendTo := func(t *testing.T, path, text string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	counts := regexp.MustCompile(`(?m)^PASS: (\d+)/(\d+)$`)
	for _, tt := range []struct {
		name       string
		args       func(t *testing.T) []string
		code       int
		stdout     []string // each must appear
		notStdout  []string
		stderr     string
		allPassing bool
	}{
		{
			name:       "counts",
			args:       func(*testing.T) []string { return []string{"--tests", tests} },
			allPassing: true,
			notStdout:  []string{"test_tie_by_name_case_insensitive"},
		},
		{
			name:       "verbose lists each test",
			args:       func(*testing.T) []string { return []string{"--tests", tests, "-v"} },
			allPassing: true,
			stdout:     []string{"data.roles_test.test_tie_by_name_case_insensitive: PASS", "data.locks_test.test_edit_locks_each_enterprise_attribute_refused: PASS"},
		},
		{
			name: "a failure shows where and the values compared",
			args: func(t *testing.T) []string {
				dir := edited(t, func(dir string) {
					data := filepath.Join(dir, "roles", "data.json")
					bs, err := os.ReadFile(data)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(data, bytes.Replace(bs, []byte(`"view_reports": 5`), []byte(`"view_reports": 6`), 1), 0o644); err != nil {
						t.Fatal(err)
					}
				})
				return []string{"--policy-dir", dir, "--tests", tests}
			},
			code: 1,
			stdout: []string{
				"FAILURES",
				"data.roles_test.test_tie_by_name_two_roles: FAIL",
				"roles/roles_test.rego:", // file:line of the test and of the failing expression
				"got.accounts.news.score == 15",
				"got.accounts.news.score: 16", // the value compared
				"FAIL: ",
			},
			stderr: "tests failed",
		},
		{
			name:   "coverage",
			args:   func(*testing.T) []string { return []string{"--tests", tests, "--coverage"} },
			stdout: []string{"coverage policies/roles/roles.rego: ", "coverage: 100.0% of the policies' lines"},
		},
		{
			name: "coverage below the threshold",
			args: func(t *testing.T) []string {
				dir := edited(t, func(dir string) {
					appendTo(t, filepath.Join(dir, "locks", "locks.rego"), "\n_never_asked(x) := x + 1\n")
				})
				return []string{"--policy-dir", dir, "--tests", tests, "--threshold", "100", "-v"}
			},
			code:   1,
			stdout: []string{"not covered: ", "locks/locks.rego:"},
			stderr: "below the threshold 100.0%",
		},
		{
			name: "formatting",
			args: func(t *testing.T) []string {
				dir := edited(t, func(dir string) {
					appendTo(t, filepath.Join(dir, "locks", "locks.rego"), "\n\n\n_spaced   :=   1\n")
				})
				return []string{"--policy-dir", dir, "--tests", tests, "--fmt"}
			},
			code:   1,
			stdout: []string{"not formatted: ", "locks/locks.rego (opa fmt -w "},
			stderr: "1 files are not formatted",
		},
		{
			name:   "formatted",
			args:   func(*testing.T) []string { return []string{"--tests", tests, "--fmt"} },
			stdout: []string{"PASS: "},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"policy", "test"}, tt.args(t)...), &stdout, &stderr)
			out := stdout.String()
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q\n%s", code, tt.code, stderr.String(), tt.stderr, out)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, unwanted := range tt.notStdout {
				if strings.Contains(out, unwanted) {
					t.Errorf("stdout has %q:\n%s", unwanted, out)
				}
			}
			if tt.allPassing {
				m := counts.FindStringSubmatch(out)
				if m == nil || m[1] != m[2] || m[1] == "0" {
					t.Errorf("no PASS: n/n count:\n%s", out)
				}
			}
		})
	}
}
