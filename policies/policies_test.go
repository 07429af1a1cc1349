package policies

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/format"
)

// testDir holds the Rego tests of the embedded policies.
const testDir = "../policytests"

// minCoverage is the line coverage of the policies below which the Rego tests
// fail; they cover every line today.
const minCoverage = 90.0

// TestRego runs every test_ rule of policytests/ against the embedded
// policies, as `opa test policies policytests` does, each as a subtest, and
// checks the coverage of the policies.
func TestRego(t *testing.T) {
	policies, err := readSource(embedded, "policies", false)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := readSource(os.DirFS(testDir), "policytests", true)
	if err != nil {
		t.Fatal(err)
	}
	cov := cover.New()
	results, err := runTests(context.Background(), policies, tests, cov, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests ran")
	}
	for _, r := range results {
		t.Run(strings.TrimPrefix(r.Package, "data.")+"."+r.Name, func(t *testing.T) {
			switch {
			case r.Skip:
				t.Skip("todo_test_")
			case r.Error != nil:
				t.Errorf("%s: error: %v", r.Location, r.Error)
			case r.Fail:
				t.Errorf("%s: fail\n%s", r.Location, r.Output)
			}
		})
	}
	// The report also counts the lines of the tests that ran; keep the
	// policies' own files.
	report := cov.Report(policies.modules)
	var covered, notCovered int
	for name := range policies.modules {
		f := report.Files[name]
		if f == nil {
			t.Errorf("%s: no coverage recorded", name)
			continue
		}
		covered += f.CoveredLines
		notCovered += f.NotCoveredLines
		t.Logf("%s: line coverage %.1f%%", name, f.Coverage)
		for _, r := range f.NotCovered {
			t.Logf("not covered: %s:%d-%d", name, r.Start.Row, r.End.Row)
		}
	}
	coverage := 100 * float64(covered) / float64(max(covered+notCovered, 1))
	t.Logf("%d Rego tests; policy line coverage %.1f%% (%d lines covered, %d not)", len(results), coverage, covered, notCovered)
	if coverage < minCoverage {
		t.Errorf("policy line coverage %.1f%%, want at least %.1f%%", coverage, minCoverage)
	}
}

// TestRegoFormatted checks that every .rego file is as `opa fmt` writes it.
func TestRegoFormatted(t *testing.T) {
	for _, root := range []string{".", testDir} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			got, err := format.Source(path, src)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			if !bytes.Equal(got, src) {
				t.Errorf("%s is not formatted: run opa fmt -w %s", path, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestStrictCompile compiles the policies and tests together in strict mode,
// as `opa check --strict policies policytests` does.
func TestStrictCompile(t *testing.T) {
	policies, err := readSource(embedded, "policies", false)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := readSource(os.DirFS(testDir), "policytests", true)
	if err != nil {
		t.Fatal(err)
	}
	all, err := policies.union(tests)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile(all.modules, false); err != nil {
		t.Fatal(err)
	}
}

// TestAnnotations checks that every package and every entrypoint carries
// METADATA, and that the engine's queries are entrypoints.
func TestAnnotations(t *testing.T) {
	policies, err := readSource(embedded, "policies", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := compile(policies.modules, false)
	if err != nil {
		t.Fatal(err)
	}
	var entrypoints []string
	for name, m := range policies.modules {
		var pkgDoc bool
		for _, a := range m.Annotations {
			switch a.Scope {
			case "package":
				pkgDoc = a.Title != "" && a.Description != ""
			case "rule":
				if a.Title == "" || a.Description == "" {
					t.Errorf("%s: %v: METADATA without title or description", name, a.Location)
				}
			}
		}
		if !pkgDoc {
			t.Errorf("%s: package %v has no METADATA with title and description", name, m.Package.Path)
		}
	}
	for _, ar := range c.GetAnnotationSet().Flatten() {
		if ar.Annotations.Entrypoint {
			entrypoints = append(entrypoints, ar.Path.String())
		}
	}
	sort.Strings(entrypoints)
	want := []string{queryDecision, queryAccess, queryExplain, queryScores, queryCatalog}
	sort.Strings(want)
	if strings.Join(entrypoints, ",") != strings.Join(want, ",") {
		t.Errorf("entrypoints = %v, want %v", entrypoints, want)
	}
}

func TestNewWithDir(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		opts    func(dir string) Options
		corrupt func(t *testing.T, dir string) // changes the copy of the policies
		wantErr error
		wantMsg string
	}{
		{
			name: "copy of the embedded policies with their tests",
			opts: func(dir string) Options { return Options{Dir: dir, TestDir: testDir} },
		},
		{
			name: "policy failing its tests",
			opts: func(dir string) Options { return Options{Dir: dir, TestDir: testDir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "data.json"), `"group_manager_penalty": 10`, `"group_manager_penalty": 0`)
			},
			wantErr: ErrTestsFailed,
			wantMsg: "roles_test.test_group_manager_penalty_decides_between_identical_roles (fail)",
		},
		{
			name: "policy not compiling in strict mode",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "locks", "locks.rego"), "package locks\n", "package locks\n\nimport data.roles\n")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "import data.roles unused",
		},
		{
			name: "policy not parsing",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "roles.rego"), "access := {", "access := {{")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "roles/roles.rego",
		},
		{
			name: "policy ignoring the prepared input",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "roles.rego"), `"enterprise": object.get(input.granted, "enterprise", []),`, `"enterprise": [],`)
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "decides on input.catalog and input.granted otherwise",
		},
		{
			name: "data without full_access",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "data.json"), "\"full_access\": true,", "")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: `built-in role "Enterprise Admin" does not say "full_access"`,
		},
		{
			name: "policy ignoring full_access",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "roles.rego"), "} else := said if {", "} else := true if {")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "ignores full_access",
		},
		{
			name: "policy ignoring input.active",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "roles.rego"), "access := {\n\t\"active\": _active,", "access := {\n\t\"active\": true,")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "answers active true for a user whose input.active is false",
		},
		{
			name: "policy without active in its answer",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "roles", "roles.rego"), "access := {\n\t\"active\": _active,", "access := {")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: `"active": missing`,
		},
		{
			name: "missing entrypoint",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "locks", "locks.rego"), "decision :=", "verdict :=")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "no rule defines data.locks.decision",
		},
		{
			name: "decision of the wrong shape",
			opts: func(dir string) Options { return Options{Dir: dir} },
			corrupt: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "locks", "locks.rego"), "\"allow\": true,", "\"allow\": \"yes\",")
			},
			wantErr: ErrInvalidPolicy,
			wantMsg: "wrong shape",
		},
		{
			name:    "missing directory",
			opts:    func(dir string) Options { return Options{Dir: filepath.Join(dir, "nope")} },
			wantErr: ErrInvalidPolicy,
		},
		{
			name:    "missing test directory",
			opts:    func(dir string) Options { return Options{Dir: dir, TestDir: filepath.Join(dir, "nope")} },
			wantErr: ErrTestsFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyEmbedded(t)
			if tt.corrupt != nil {
				tt.corrupt(t, dir)
			}
			e, err := New(tt.opts(dir))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.ResolveRoles(ctx, RoleInput{Accounts: []string{"news"}, Grants: []Grant{
					{Group: "A", Scope: LevelAccount, Account: "news", Role: "Editor"},
				}})
				if err != nil {
					t.Fatal(err)
				}
				if got.Accounts["news"].Role != "Editor" {
					t.Errorf("news role = %q, want Editor", got.Accounts["news"].Role)
				}
				if e.Revision() != mustNew(t).Revision() {
					t.Errorf("revision %s of a copy differs from the embedded %s", e.Revision(), mustNew(t).Revision())
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New() error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("New() error = %v, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	if err := Verify(ctx, Options{TestDir: testDir}); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, Options{}); !errors.Is(err, ErrTestsFailed) {
		t.Errorf("Verify(no test dir) = %v, want ErrTestsFailed", err)
	}
	if err := Verify(ctx, Options{TestDir: t.TempDir()}); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Verify(empty test dir) = %v, want ErrInvalidPolicy (no .rego files)", err)
	}
	noTests := t.TempDir()
	if err := os.WriteFile(filepath.Join(noTests, "helpers.rego"), []byte("package helpers\n\nx := 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, Options{TestDir: noTests}); !errors.Is(err, ErrTestsFailed) {
		t.Errorf("Verify(dir without tests) = %v, want ErrTestsFailed", err)
	}
}

func TestDataConflict(t *testing.T) {
	dir := copyEmbedded(t)
	if err := os.MkdirAll(filepath.Join(dir, "roles", "group_manager_penalty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roles", "group_manager_penalty", "data.json"), []byte(`{"x": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Dir: dir})
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "data.roles.group_manager_penalty") {
		t.Errorf("New() error = %v, want ErrInvalidPolicy naming data.roles.group_manager_penalty", err)
	}
}

// copyEmbedded writes the embedded policies to a temporary directory.
func copyEmbedded(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyEmbeddedTo(t, dir)
	return dir
}

// copyEmbeddedTo writes the embedded policies to dir.
func copyEmbeddedTo(t *testing.T, dir string) {
	t.Helper()
	err := fs.WalkDir(embedded, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, path), 0o755)
		}
		bs, err := fs.ReadFile(embedded, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), bs, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	bs, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bs, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(bs, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRevisionPathForms: the revision is the digest of the files, whatever
// form the directory is given in; an edited copy has another one.
func TestRevisionPathForms(t *testing.T) {
	builtin := mustNew(t).Revision()
	root := t.TempDir()
	for _, name := range []string{"policies", "edited"} {
		copyEmbeddedTo(t, filepath.Join(root, name))
	}
	edit(t, filepath.Join(root, "edited", "roles", "data.json"), `"group_manager_penalty": 10`, `"group_manager_penalty": 11`)
	t.Chdir(root)
	for _, tt := range []struct {
		dir  string
		same bool
	}{
		{"./policies", true},
		{"policies", true},
		{"policies/", true},
		{"./policies/", true},
		{filepath.Join(root, "policies"), true},
		{"./edited", false},
		{"edited", false},
		{filepath.Join(root, "edited"), false},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			e, err := New(Options{Dir: tt.dir})
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Revision() == builtin; got != tt.same {
				t.Errorf("Revision() = %s, built-in %s: same = %v, want %v", e.Revision(), builtin, got, tt.same)
			}
		})
	}
}
