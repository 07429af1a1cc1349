package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownClosesSilentConnections: a connection that never sends a
// request (over TLS: one that completed its handshake and stopped) does not
// hold the graceful shutdown past its deadline (wait would return the
// deadline's error), while a request sent on another connection during the
// shutdown is answered.
func TestShutdownClosesSilentConnections(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	for _, tc := range []struct {
		name  string
		flags []string
		dial  func(addr string) (net.Conn, error)
	}{
		{"plain", nil, func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }},
		{"TLS", []string{"--tls-cert", certFile, "--tls-key", keyFile}, func(addr string) (net.Conn, error) {
			c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
			if err != nil {
				return nil, err
			}
			return c, c.Handshake()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe(append([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, tc.flags...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer m.close()
			addr := m.ln.Addr().String()

			silent, err := tc.dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			busy, err := tc.dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			// Both are accepted, and known silent, before the shutdown begins.
			deadline := time.Now().Add(10 * time.Second)
			for m.silent[0].count() < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections known silent, want 2", m.silent[0].count())
				}
				time.Sleep(5 * time.Millisecond)
			}

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.wait(ctx) }()
			cancel()
			if _, err := io.WriteString(busy, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(busy), nil)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("a request sent during the shutdown: %v %v", res, err)
			}
			res.Body.Close()
			if err := <-done; err != nil {
				t.Fatalf("shutdown with a silent connection open: %v", err)
			}
			if n, err := silent.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("the silent connection is still open: %d, %v", n, err)
			}
		})
	}
}

// count is how many accepted connections have not sent a byte.
func (l *silentConns) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.silent)
}

// TestConnsPerIP: one client address holds at most --max-conns-per-ip
// connections (the next gets 429 over plain HTTP, a closed connection over
// TLS), another address is not affected, and a closed connection frees its
// slot. Over TLS, requests are still known to be HTTPS (the SCIM base URL
// of a new tenant says https).
func TestConnsPerIP(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	for _, tc := range []struct {
		name   string
		flags  []string
		scheme string
	}{
		{"plain", nil, "http"},
		{"TLS", []string{"--tls-cert", certFile, "--tls-key", keyFile}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startServe(t, append([]string{"--max-conns-per-ip", "2"}, tc.flags...)...)
			addr := m.ln.Addr().String()
			// get sends one request on a new connection from the loopback
			// address from; it returns the status, or 0 if the server hung
			// up without one, and the connection (open) if it answered.
			get := func(from, method, path, token, body string) (int, []byte, net.Conn) {
				t.Helper()
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
				conn, err := d.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				if tc.scheme == "https" {
					conn = tls.Client(conn, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
				}
				if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
					t.Fatal(err)
				}
				req, err := http.NewRequest(method, tc.scheme+"://"+addr+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				if err := req.Write(conn); err != nil {
					conn.Close()
					return 0, nil, nil
				}
				resp, err := http.ReadResponse(bufio.NewReader(conn), req)
				if err != nil {
					conn.Close()
					return 0, nil, nil
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, got, conn
			}
			status, _, a := get("127.0.0.1", http.MethodGet, "/healthz", "", "")
			if status != 200 {
				t.Fatalf("first connection: %d", status)
			}
			defer a.Close()
			status, body, b := get("127.0.0.1", http.MethodPost, "/admin/v1/tenants", testOperatorToken, `{"id":"perip-`+strings.ToLower(tc.name)+`","name":"x","licenseLimit":1}`)
			if status != 201 || !strings.Contains(string(body), `"scimBaseUrl":"`+tc.scheme+`://`) {
				t.Fatalf("second connection: %d %s, want 201 with an %s base URL", status, body, tc.scheme)
			}
			defer b.Close()
			want := 429
			if tc.scheme == "https" {
				want = 0 // closed before the handshake
			}
			if status, _, c := get("127.0.0.1", http.MethodGet, "/healthz", "", ""); status != want {
				if c != nil {
					c.Close()
				}
				t.Fatalf("third connection from the same address: %d, want %d", status, want)
			}
			if status, _, c := get("127.0.0.2", http.MethodGet, "/healthz", "", ""); status != 200 {
				t.Fatalf("a connection from another address: %d", status)
			} else {
				c.Close()
			}
			a.Close()
			// The slot comes back once the server has seen the close; no
			// sleep: retry until it has, within the test's deadline.
			deadline := time.Now().Add(10 * time.Second)
			for {
				status, _, c := get("127.0.0.1", http.MethodGet, "/healthz", "", "")
				if c != nil {
					c.Close()
				}
				if status == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the slot of a closed connection never came back: %d", status)
				}
			}
		})
	}
}
