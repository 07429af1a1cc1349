package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// runCLI runs a command line and returns its exit code and output.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestUsageHidesSecrets: help and flag mistakes print each flag's default;
// a secret from the environment is never one of them.
func TestUsageHidesSecrets(t *testing.T) {
	const token, password = "op-token-from-env-8f3a", "redis-password-from-env-c41d"
	t.Setenv("SCIMD_OPERATOR_TOKEN", token)
	t.Setenv("SCIMD_REDIS_URL", "redis://:"+password+"@127.0.0.1:1/0")
	t.Setenv("SCIMD_URL", "http://u:"+password+"@127.0.0.1:1")
	for _, args := range [][]string{
		{"tenant", "get", "--help"}, {"tenant", "get", "--bogus"}, {"tenant", "create", "--license-limit", "many"},
		{"tenant", "delete", "-h"}, {"tenant", "list", "extra"}, {"tenant", "rotate-scim-token", "--help"},
		{"check", "--help"}, {"check", "--bogus"}, {"migrate", "--help"}, {"migrate", "--bogus"}, {"serve", "--help"}, {"serve", "--bogus"},
	} {
		code, stdout, stderr := runCLI(args...)
		if code != 0 && code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
		if !strings.Contains(stdout+stderr, "Usage") {
			t.Errorf("%v printed no usage: %q", args, stdout+stderr)
		}
		if strings.Contains(stdout+stderr, token) || strings.Contains(stdout+stderr, password) {
			t.Errorf("%v shows a secret from the environment:\n%s%s", args, stdout, stderr)
		}
	}
	// The environment still counts once the flags are parsed: the token
	// and the URL from it are the ones used.
	code, _, stderr := runCLI("tenant", "list")
	if code != 1 || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("tenant list did not use SCIMD_URL: %d %q", code, stderr)
	}
	if strings.Contains(stderr, token) {
		t.Errorf("tenant list shows the token: %q", stderr)
	}
}

// TestCommandHelp: every command and subcommand has its own help, which
// lists its flags and no other subcommand's.
func TestCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"--help"}, []string{"scimd serve", "scimd tenant create", "scimd tenant list", "scimd tenant get", "scimd tenant delete",
			"scimd tenant rotate-scim-token", "scimd policy explain", "scimd policy test", "scimd check", "scimd migrate", "scimd healthcheck", "scimd version"}, nil},
		{[]string{"help"}, []string{"scimd tenant rotate-scim-token"}, nil},
		{[]string{"tenant", "--help"}, []string{"create", "list", "get", "delete", "rotate-scim-token"}, []string{"-license-limit"}},
		{[]string{"tenant", "help"}, []string{"rotate-scim-token"}, nil},
		{[]string{"policy", "--help"}, []string{"explain", "test"}, []string{"-decision"}},
		{[]string{"tenant", "create", "--help"}, []string{"-id", "-name", "-license-limit", "-server", "-operator-token", "-ca-file"}, []string{"-yes"}},
		{[]string{"tenant", "list", "--help"}, []string{"-server", "-operator-token", "-ca-file"}, []string{"-id", "-license-limit", "-name", "-yes"}},
		{[]string{"tenant", "get", "--help"}, []string{"-id"}, []string{"-license-limit", "-yes"}},
		{[]string{"tenant", "delete", "--help"}, []string{"-id", "-yes"}, []string{"-license-limit"}},
		{[]string{"tenant", "rotate-scim-token", "--help"}, []string{"-id"}, []string{"-license-limit", "-yes"}},
		{[]string{"policy", "explain", "--help"}, []string{"-decision", "-input", "-policy-dir"}, nil},
		{[]string{"policy", "test", "--help"}, []string{"-tests", "-policy-dir"}, []string{"-decision", "-input"}},
		{[]string{"check", "--help"}, []string{"-tenant", "-all", "-repair", "-redis-url"}, nil},
		{[]string{"healthcheck", "--help"}, []string{"-url", "-ca-file", "-timeout"}, nil},
		{[]string{"version", "--help"}, []string{"scimd version"}, nil},
	} {
		code, stdout, stderr := runCLI(tc.args...)
		out := stdout + stderr
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tc.args, code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: help lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w+" ") || strings.Contains(out, w+"\n") {
				t.Errorf("%v: help lists %q, which is not its flag:\n%s", tc.args, w, out)
			}
		}
	}
	for _, args := range [][]string{{"tenant"}, {"policy"}, {"tenant", "frobnicate"}, {"policy", "frobnicate"}, {"nonsense"}} {
		if code, _, stderr := runCLI(args...); code != 2 || !strings.Contains(stderr, "Usage") {
			t.Errorf("%v: exit %d, %q; want 2 and the usage", args, code, stderr)
		}
	}
}

// TestVersion: `scimd version` and `--version` tell the build apart: the
// module version, the VCS revision (stamped by the image build) and Go's.
func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI("version")
	if code != 0 || !strings.Contains(stdout, runtime.Version()) {
		t.Fatalf("version: %d %q, want the Go version %s", code, stdout, runtime.Version())
	}
	if code, again, _ := runCLI("--version"); code != 0 || again != stdout {
		t.Errorf("--version: %d %q, want %q", code, again, stdout)
	}
	version, revision = "v1.2.3", "0123abcd"
	t.Cleanup(func() { version, revision = "", "" })
	want := fmt.Sprintf("scimd v1.2.3 (revision 0123abcd, %s)\n", runtime.Version())
	if _, stdout, _ := runCLI("version"); stdout != want {
		t.Errorf("stamped version: %q, want %q", stdout, want)
	}
	// The running server exports it.
	m := startServe(t)
	resp, err := http.Get("http://" + m.ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metric := fmt.Sprintf(`scimd_build_info{goversion=%q,revision="0123abcd",version="v1.2.3"} 1`, runtime.Version())
	if !strings.Contains(string(body), metric) {
		t.Errorf("/metrics lacks %s", metric)
	}
}

// TestHealthcheck: `scimd healthcheck` finds the local server from the serve
// settings (plain and TLS), and fails when nothing answers there.
func TestHealthcheck(t *testing.T) {
	for _, k := range []string{"SCIMD_CONFIG", "SCIMD_TLS_CERT", "SCIMD_TLS_KEY", "SCIMD_REDIS_URL", "SCIMD_POLICY_DIR"} {
		t.Setenv(k, "")
	}
	plain := startServe(t)
	t.Setenv("SCIMD_ADDR", plain.ln.Addr().String())
	if code, stdout, stderr := runCLI("healthcheck"); code != 0 || !strings.Contains(stdout, "ok") {
		t.Errorf("plain: %d %q %q", code, stdout, stderr)
	}

	certFile, keyFile, _ := selfSigned(t)
	tlsServer := startServe(t, "--tls-cert", certFile, "--tls-key", keyFile)
	t.Setenv("SCIMD_ADDR", "0.0.0.0:"+portOf(t, tlsServer.ln.Addr().String()))
	t.Setenv("SCIMD_TLS_CERT", certFile)
	t.Setenv("SCIMD_TLS_KEY", keyFile)
	if code, stdout, stderr := runCLI("healthcheck"); code != 0 || !strings.Contains(stdout, "https://127.0.0.1:") {
		t.Errorf("TLS: %d %q %q", code, stdout, stderr)
	}
	url := "https://" + tlsServer.ln.Addr().String() + "/healthz"
	if code, _, stderr := runCLI("healthcheck", "--url", url); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("--url to a certificate nobody trusts: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI("healthcheck", "--url", url, "--ca-file", certFile); code != 0 {
		t.Errorf("--url with --ca-file: %d %q", code, stderr)
	}

	// Nothing listening: the plain server's port once it is closed.
	t.Setenv("SCIMD_TLS_CERT", "")
	t.Setenv("SCIMD_TLS_KEY", "")
	if code, _, _ := runCLI("healthcheck", "--url", "http://"+plain.ln.Addr().String()+"/nothing-here"); code != 1 {
		t.Errorf("a 404 counted as healthy: %d", code)
	}
	t.Setenv("SCIMD_ADDR", "127.0.0.1:1")
	if code, _, _ := runCLI("healthcheck"); code != 1 {
		t.Errorf("nothing listening: %d, want 1", code)
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[i+1:]
}

// TestTenantCAFile: the tenant commands talk to a TLS server whose
// certificate they are given with --ca-file (or SCIMD_CA_FILE).
func TestTenantCAFile(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	m := startServe(t, "--tls-cert", certFile, "--tls-key", keyFile)
	base := "https://" + m.ln.Addr().String()
	if code, _, stderr := runCLI("tenant", "list", "--server", base, "--operator-token", testOperatorToken); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("without --ca-file: %d %q", code, stderr)
	}
	if code, stdout, stderr := runCLI("tenant", "list", "--server", base, "--operator-token", testOperatorToken, "--ca-file", certFile); code != 0 || !strings.Contains(stdout, "ID") {
		t.Errorf("with --ca-file: %d %q %q", code, stdout, stderr)
	}
	t.Setenv("SCIMD_CA_FILE", certFile)
	if code, _, stderr := runCLI("tenant", "list", "--server", base, "--operator-token", testOperatorToken); code != 0 {
		t.Errorf("with SCIMD_CA_FILE: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI("tenant", "list", "--server", base, "--operator-token", testOperatorToken, "--ca-file", keyFile); code != 2 || !strings.Contains(stderr, "--ca-file") {
		t.Errorf("a --ca-file without certificates: %d %q", code, stderr)
	}
}

// TestTenantDeleteConfirm: delete asks at a terminal for the tenant's id,
// refuses without a terminal unless --yes, and deletes nothing unconfirmed.
func TestTenantDeleteConfirm(t *testing.T) {
	m := startServe(t)
	base := "http://" + m.ln.Addr().String()
	tenant := func(args ...string) (int, string, string) {
		return runCLI(append(append([]string{"tenant"}, args...), "--server", base, "--operator-token", testOperatorToken)...)
	}
	if code, _, stderr := tenant("create", "--id", "cli-delete-confirm", "--name", "Delete me", "--license-limit", "1"); code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	exists := func() bool {
		code, _, _ := tenant("get", "--id", "cli-delete-confirm")
		return code == 0
	}
	orig := terminal
	t.Cleanup(func() { terminal = orig })
	for _, tc := range []struct {
		name   string
		input  string
		tty    bool
		code   int
		stderr string
	}{
		{"no terminal", "cli-delete-confirm\n", false, 2, "pass --yes"},
		{"wrong id typed", "yes\n", true, 1, "not confirmed"},
		{"nothing typed", "", true, 1, "not confirmed"},
	} {
		terminal = func() (io.Reader, bool) { return strings.NewReader(tc.input), tc.tty }
		code, _, stderr := tenant("delete", "--id", "cli-delete-confirm")
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: %d %q, want %d and %q", tc.name, code, stderr, tc.code, tc.stderr)
		}
		if !exists() {
			t.Fatalf("%s: the tenant was deleted", tc.name)
		}
	}
	terminal = func() (io.Reader, bool) { return strings.NewReader("cli-delete-confirm\n"), true }
	if code, stdout, stderr := tenant("delete", "--id", "cli-delete-confirm"); code != 0 || !strings.Contains(stdout, "deleted") || !strings.Contains(stderr, "Type the tenant id") {
		t.Errorf("confirmed: %d %q %q", code, stdout, stderr)
	}
	if exists() {
		t.Error("confirmed, but the tenant is still there")
	}
	if code, _, stderr := tenant("create", "--id", "cli-delete-confirm", "--name", "Again", "--license-limit", "1"); code != 0 {
		t.Fatalf("create again: %d %s", code, stderr)
	}
	terminal = func() (io.Reader, bool) { t.Error("--yes asked"); return strings.NewReader(""), false }
	if code, _, stderr := tenant("delete", "--id", "cli-delete-confirm", "--yes"); code != 0 || exists() {
		t.Errorf("--yes: %d %q", code, stderr)
	}
}
