package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
)

// TestServeAndTenantCommands starts the real server on an embedded Redis
// and a free port, drives it with the tenant subcommands, then stops it.
func TestServeAndTenantCommands(t *testing.T) {
	var out bytes.Buffer
	cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), &out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.wait(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		m.close()
	})
	base := "http://" + m.ln.Addr().String()

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	tenantCmd := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args = append(args, "--server", base, "--operator-token", testOperatorToken)
		code := run(context.Background(), append([]string{"tenant"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, stdout, stderr := tenantCmd("create", "--id", "acme", "--name", "Acme Corp", "--license-limit", "100")
	if code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	var created struct{ SCIMBaseURL, SCIMToken string }
	if err := json.Unmarshal([]byte(stdout), &created); err != nil || created.SCIMToken == "" {
		t.Fatalf("create output %q: %v", stdout, err)
	}
	if created.SCIMBaseURL != base+"/scim/v2/acme" {
		t.Fatalf("scimBaseUrl %q", created.SCIMBaseURL)
	}
	req, _ := http.NewRequest(http.MethodGet, created.SCIMBaseURL+"/Users", nil)
	req.Header.Set("Authorization", "Bearer "+created.SCIMToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("SCIM with the new token: %v %v", resp, err)
	}
	resp.Body.Close()

	if code, stdout, _ = tenantCmd("list"); code != 0 || !strings.Contains(stdout, "acme") {
		t.Fatalf("list: %d %q", code, stdout)
	}
	if code, _, stderr = tenantCmd("create", "--id", "acme", "--name", "Again", "--license-limit", "1"); code != 1 || !strings.Contains(stderr, "409") {
		t.Fatalf("duplicate create: %d %q", code, stderr)
	}
	code, stdout, stderr = tenantCmd("rotate-scim-token", "--id", "acme")
	var rotated struct{ SCIMToken string }
	if code != 0 || json.Unmarshal([]byte(stdout), &rotated) != nil || rotated.SCIMToken == "" || rotated.SCIMToken == created.SCIMToken ||
		!strings.Contains(stderr, "shown only once") {
		t.Fatalf("rotate-scim-token: %d %q %q", code, stdout, stderr)
	}
	for token, want := range map[string]int{created.SCIMToken: 401, rotated.SCIMToken: 200} {
		req, _ := http.NewRequest(http.MethodGet, created.SCIMBaseURL+"/Users", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("SCIM after the rotation: %v %v, want %d", resp, err, want)
		}
		resp.Body.Close()
	}
	if code, _, stderr = tenantCmd("rotate-scim-token"); code != 2 {
		t.Fatalf("rotate-scim-token without --id: %d %q", code, stderr)
	}
	if code, _, stderr = tenantCmd("delete", "--id", "acme", "--yes"); code != 0 {
		t.Fatalf("delete: %d %q", code, stderr)
	}
	if code, _, _ = tenantCmd("get", "--id", "acme"); code != 1 {
		t.Fatalf("get after delete: %d", code)
	}
}

// TestServeFlags: flags win over the environment, and bad values are refused.
func TestServeFlags(t *testing.T) {
	t.Setenv("SCIMD_ADDR", "127.0.0.1:9999")
	cfg, err := parseServe(nil, io.Discard)
	if err != nil || cfg.Addr != "127.0.0.1:9999" {
		t.Fatalf("env: %+v %v", cfg, err)
	}
	cfg, err = parseServe([]string{"--addr", "127.0.0.1:7777"}, io.Discard)
	if err != nil || cfg.Addr != "127.0.0.1:7777" {
		t.Fatalf("flag over env: %+v %v", cfg, err)
	}
	for _, args := range [][]string{{"--log-format", "xml"}, {"--public-url", "scim.example.com"}, {"extra"}} {
		if _, err := parseServe(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if code := run(context.Background(), []string{"nonsense"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}

// TestPolicyDirRefusesBrokenPolicies: an edited policy that does not compile,
// or fails its tests, stops the start.
func TestPolicyDirRefusesBrokenPolicies(t *testing.T) {
	root := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "policies"), filepath.Join(root, "policies"))
	copyTree(t, filepath.Join("..", "..", "policytests"), filepath.Join(root, "policytests"))
	serve := func() error {
		cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken, "--policy-dir", filepath.Join(root, "policies")}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.PolicyTests != filepath.Join(root, "policytests") {
			t.Fatalf("policy tests %q: the policytests folder beside --policy-dir is not used", cfg.PolicyTests)
		}
		m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
		if err == nil {
			m.close()
			_ = m.app.Shutdown()
		}
		return err
	}
	if err := serve(); err != nil {
		t.Fatalf("unchanged policies refused: %v", err)
	}

	data := filepath.Join(root, "policies", "roles", "data.json")
	orig, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	// A changed matrix fails the tests that pin it.
	if err := os.WriteFile(data, bytes.Replace(orig, []byte(`"view_reports": 5`), []byte(`"view_reports": 500`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := serve(); err == nil || !strings.Contains(err.Error(), "test") {
		t.Fatalf("a policy failing its tests started: %v", err)
	}
	// A policy that does not compile.
	if err := os.WriteFile(data, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "policies", "roles", "broken.rego"), []byte("package roles\n\nthis is not rego\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := serve(); err == nil {
		t.Fatal("a policy that does not compile started")
	} else if strings.Contains(err.Error(), "policies: policies:") {
		t.Errorf("error prefixed twice: %v", err)
	}
	var stderr bytes.Buffer
	if code := runServe(context.Background(), []string{"--addr", "127.0.0.1:0", "--policy-dir", filepath.Join(root, "policies")}, io.Discard, &stderr); code == 0 {
		t.Fatalf("scimd serve exited 0 with a broken policy")
	}
}

// TestPolicyExplain: the policy author's command line.
func TestPolicyExplain(t *testing.T) {
	in := filepath.Join(t.TempDir(), "input.json")
	body := `{"roles": {}, "accounts": ["news"], "grants": [
		{"group": "A", "scope": "account", "account": "news", "role": "Reports Only"},
		{"group": "B", "scope": "account", "account": "news", "role": "Account Administrator"}]}`
	if err := os.WriteFile(in, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"policy", "explain", "--decision", "roles", "--input", in}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		Accounts map[string]struct{ Role, Rule string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%s: %v", stdout.String(), err)
	}
	if out.Accounts["news"].Role != "Account Administrator" || out.Accounts["news"].Rule != "highest_score" {
		t.Fatalf("explain: %s", stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"policy", "test", "--tests", filepath.Join("..", "..", "policytests")}, &stdout, &stderr); code != 0 {
		t.Fatalf("policy test: %d %s", code, stderr.String())
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Ext(p) != ".rego" && filepath.Ext(p) != ".json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWaitTimeoutBelowReadTimeout: a WAIT that would outlast the read of its
// reply stops the start; one below it starts.
func TestWaitTimeoutBelowReadTimeout(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct {
		name   string
		url    string
		wait   string
		starts bool
	}{
		{"default read timeout 2s, wait 1s", e.URL(), "1s", true},
		{"wait as long as the read", e.URL(), "2s", false},
		{"wait too close to the read", e.URL(), "1900ms", false},
		{"read timeout set in the URL", e.URL() + "?read_timeout=500ms", "1s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken, "--redis-url", tc.url,
				"--redis-wait-replicas", "1", "--redis-wait-timeout", tc.wait}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err == nil {
				m.close()
				_ = m.app.Shutdown()
			}
			if (err == nil) != tc.starts || err != nil && !strings.Contains(err.Error(), "below the Redis read timeout") {
				t.Fatalf("start: %v, want it to start: %v", err, tc.starts)
			}
		})
	}
}
