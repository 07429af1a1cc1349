package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestShutdownClosesSilentConnections: a connection that never sends a
// request does not hold the graceful shutdown past its deadline (wait
// would return the deadline's error), while a request already sent on
// another connection is answered.
func TestShutdownClosesSilentConnections(t *testing.T) {
	cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--operator-token", "op"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	addr := m.ln.Addr().String()

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// Both are accepted before the shutdown begins.
	for m.silent[0].count() < 2 {
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
}

// count is how many accepted connections have not sent a byte.
func (l *silentConns) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.silent)
}
