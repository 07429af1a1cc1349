package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
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
	st := storage.New(rdb, storage.Options{})
	if err := st.CreateTenant(t.Context(), storage.Tenant{ID: "acme", Name: "acme", LicenseLimit: 10, Mode: "idp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutRole(t.Context(), "acme", storage.Role{Name: "enterprise admin", Level: "enterprise", Permissions: []string{"publish"}}, nil); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"check", "--tenant", "acme", "--redis-url", e.URL()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "role-case-duplicate") || !strings.Contains(stdout.String(), `built-in role "Enterprise Admin"`) {
		t.Fatalf("exit %d, want 1 with the case duplicate named:\n%s%s", code, stdout.String(), stderr.String())
	}
}
