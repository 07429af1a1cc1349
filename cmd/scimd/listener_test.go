package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
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
