package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestServeAndTenantCommands starts the real server on an embedded Redis
// and a free port, drives it with the tenant subcommands, then stops it.
func TestServeAndTenantCommands(t *testing.T) {
	var out bytes.Buffer
	cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--operator-token", "op-secret"}, io.Discard)
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
		args = append(args, "--server", base, "--operator-token", "op-secret")
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
	if code, _, stderr = tenantCmd("delete", "--id", "acme"); code != 0 {
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
