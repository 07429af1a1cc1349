package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMain keeps the servers' access logs (a line per request, at info,
// through the default logger) out of test output; warnings still show.
// Started by the deployment test with runAsScimd set, the binary is scimd.
func TestMain(m *testing.M) {
	if os.Getenv(runAsScimd) != "" {
		main()
		return
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// writeFile writes content to name in a temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testOperatorToken is the operator token of the servers tests start: serve
// refuses one shorter than minOperatorToken.
const testOperatorToken = "test-operator-token-0123456789abcdef"

// env is a fake environment for parseServeEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// TestConfigPrecedence: a flag wins over its variable, a variable over the
// config file, the file over the default.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "scimd.conf", `
# scimd settings
addr = 127.0.0.1:3000
body-limit = 3000
log-format = "json"
public-url = https://scim.example.com
`)
	type got struct {
		Addr      string
		BodyLimit int
		LogFormat string
		PublicURL string
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want got
	}{
		{"defaults", nil, nil,
			got{"127.0.0.1:8080", 1 << 20, "text", ""}},
		{"file", []string{"--config", file}, nil,
			got{"127.0.0.1:3000", 3000, "json", "https://scim.example.com"}},
		{"file named by the environment", nil, map[string]string{"SCIMD_CONFIG": file},
			got{"127.0.0.1:3000", 3000, "json", "https://scim.example.com"}},
		{"environment over file", []string{"--config", file}, map[string]string{"SCIMD_ADDR": "127.0.0.1:2000", "SCIMD_BODY_LIMIT": "2000"},
			got{"127.0.0.1:2000", 2000, "json", "https://scim.example.com"}},
		{"environment over default", nil, map[string]string{"SCIMD_ADDR": "127.0.0.1:2000", "SCIMD_LOG_FORMAT": "json"},
			got{"127.0.0.1:2000", 1 << 20, "json", ""}},
		{"flag over environment and file", []string{"--config", file, "--addr", "127.0.0.1:1000", "--body-limit", "1000"}, map[string]string{"SCIMD_ADDR": "127.0.0.1:2000", "SCIMD_BODY_LIMIT": "2000"},
			got{"127.0.0.1:1000", 1000, "json", "https://scim.example.com"}},
		{"flag set to the default still wins", []string{"--config", file, "--log-format", "text"}, nil,
			got{"127.0.0.1:3000", 3000, "text", "https://scim.example.com"}},
		{"empty variable is unset", []string{"--config", file}, map[string]string{"SCIMD_ADDR": "", "SCIMD_PUBLIC_URL": ""},
			got{"127.0.0.1:3000", 3000, "json", "https://scim.example.com"}},
		{"--config flag over SCIMD_CONFIG", []string{"--config", file}, map[string]string{"SCIMD_CONFIG": "/nonexistent/scimd.conf"},
			got{"127.0.0.1:3000", 3000, "json", "https://scim.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServeEnv(tc.args, io.Discard, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got{c.Addr, c.BodyLimit, c.LogFormat, c.PublicURL}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigErrors: mistakes in any layer stop the start with a message
// that names where they are.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		args       []string
		env        map[string]string
		want       string
	}{
		{"unknown key", "addr = :1\nredis-uri = redis://x\n", nil, nil, `line 2: unknown key "redis-uri"`},
		{"underscored key", "redis_url = redis://x\n", nil, nil, `unknown key "redis_url" (did you mean "redis-url"?)`},
		{"no equals sign", "addr :1\n", nil, nil, "line 1: want name = value"},
		{"repeated key", "addr = :1\naddr = :2\n", nil, nil, `line 2: "addr" is already set on line 1`},
		{"nested config", "config = other.conf\n", nil, nil, "cannot name another"},
		{"bad number in file", "body-limit = lots\n", nil, nil, `line 1: body-limit = "lots"`},
		{"bad number in environment", "", nil, map[string]string{"SCIMD_RATE_LIMIT": "fast"}, `SCIMD_RATE_LIMIT="fast"`},
		{"missing file", "", []string{"--config", "/nonexistent/scimd.conf"}, nil, "--config: open /nonexistent/scimd.conf"},
		{"cert without key", "tls-cert = cert.pem\n", nil, nil, "--tls-cert and --tls-key go together"},
		{"key without cert", "", []string{"--tls-key", "key.pem"}, nil, "--tls-cert and --tls-key go together"},
		{"bad log level", "", nil, map[string]string{"SCIMD_LOG_LEVEL": "loud"}, "--log-level must be"},
		{"negative rate", "", []string{"--rate-limit", "-1"}, nil, "--rate-limit must be"},
		{"infinite rate", "", []string{"--rate-limit", "+Inf"}, nil, "--rate-limit must be"},
		{"rate too small to count", "", []string{"--rate-limit", "0.0000001"}, nil, "--rate-limit must be"},
		{"negative burst", "", []string{"--rate-limit", "5", "--rate-burst", "-2"}, nil, "--rate-burst must be"},
		{"shared without a limit", "", []string{"--rate-limit-shared"}, nil, "--rate-limit-shared needs --rate-limit"},
		{"short operator token", "", []string{"--operator-token", "op-secret"}, nil, "--operator-token must be at least 32 characters (it has 9)"},
		{"no connections", "", []string{"--max-conns", "0"}, nil, "--max-conns must be 1 or more"},
		{"negative per-address cap", "", []string{"--max-conns-per-ip", "-1"}, nil, "--max-conns-per-ip must be 0"},
		{"short operator token in environment", "", nil, map[string]string{"SCIMD_OPERATOR_TOKEN": strings.Repeat("x", 31)}, "--operator-token must be at least 32"},
		{"wait replicas without redis", "", []string{"--redis-wait-replicas", "1"}, nil, "needs --redis-url"},
		{"zero users quota", "", []string{"--quota-users", "0"}, nil, "--quota-users, --quota-groups and --quota-members must be 1 or more"},
		{"negative members quota", "quota-members = -5\n", nil, nil, "must be 1 or more"},
		{"rollout tag with a brace", "", []string{"--policy-rollout-tag", "a}b"}, nil, "--policy-rollout-tag must be"},
		{"empty rollout tag", "", []string{"--policy-rollout-tag="}, nil, "--policy-rollout-tag must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeFile(t, "scimd.conf", tc.file)}, args...)
			}
			_, err := parseServeEnv(args, io.Discard, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestServeHelp: --help documents every flag with its variable.
func TestServeHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseServeEnv([]string{"--help"}, &out, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, name := range []string{"config", "addr", "redis-url", "operator-token", "public-url", "body-limit", "preflight-body-limit",
		"rate-limit", "rate-burst", "rate-limit-shared", "redis-wait-replicas", "redis-wait-timeout",
		"log-format", "log-level", "audit-max-len", "quota-users", "quota-groups", "quota-members", "policy-dir", "policy-tests", "metrics-addr", "tls-cert", "tls-key", "max-conns", "max-conns-per-ip"} {
		// A boolean flag's line has no type after its name.
		documented := strings.Contains(out.String(), "-"+name+" ") || strings.Contains(out.String(), "-"+name+"\n")
		if !documented || !strings.Contains(out.String(), "(env "+envName(name)+")") {
			t.Errorf("help does not document --%s with %s", name, envName(name))
		}
	}
}

// startServe parses args, starts the server and stops it when the test ends.
func startServe(t *testing.T, args ...string) *instance {
	t.Helper()
	cfg, err := parseServeEnv(append([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, args...), io.Discard, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
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
	return m
}

// selfSigned writes a certificate for 127.0.0.1 and its key to a temporary
// directory and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "scimd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: with --tls-cert and --tls-key the API answers HTTPS only,
// with TLS 1.2 or later, and builds https URLs from the request.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	m := startServe(t, "--tls-cert", certFile, "--tls-key", keyFile)
	addr := m.ln.Addr().String()
	client := func(tc *tls.Config) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	}

	resp, err := client(&tls.Config{RootCAs: pool}).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over HTTPS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || !strings.Contains(string(body), "ok") {
		t.Fatalf("healthz: %d %s over %+v", resp.StatusCode, body, resp.TLS)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Error("no X-Request-ID over HTTPS")
	}

	if _, err := client(&tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}).Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	if _, err := client(&tls.Config{}).Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a client that does not trust the certificate was served")
	}
	if resp, err := client(nil).Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Error("plain HTTP was served on the TLS listener")
	}
}

// TestServeTLSBadFiles: a certificate that does not load stops the start.
func TestServeTLSBadFiles(t *testing.T) {
	certFile, _, _ := selfSigned(t)
	cfg, err := parseServeEnv([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken, "--tls-cert", certFile, "--tls-key", certFile}, io.Discard, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard); err == nil {
		m.close()
		t.Fatal("started with a certificate as its own key")
	} else if !strings.Contains(err.Error(), "--tls-cert/--tls-key") {
		t.Errorf("error %v does not name the flags", err)
	}
}

// TestServeMetricsAddr: --metrics-addr moves /metrics to a listener of its
// own, which sees the API's requests and the service's counts.
func TestServeMetricsAddr(t *testing.T) {
	m := startServe(t, "--metrics-addr", "127.0.0.1:0")
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	api, metrics := "http://"+m.ln.Addr().String(), "http://"+m.metricsLn.Addr().String()
	if code, _ := get(api + "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d", code)
	}
	if code, _ := get(api + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the API listener: %d, want 404", code)
	}
	code, text := get(metrics + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics on the metrics listener: %d", code)
	}
	for _, want := range []string{
		`scimd_http_requests_total{api="health",method="GET",route="/healthz",status="200"} 1`,
		"scimd_redis_errors_total 0", "scimd_license_refusals_total 0", "scimd_audit_events_total 0",
		"go_goroutines ", "process_start_time_seconds ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
