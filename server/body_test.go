package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve runs h's app on a loopback port, for requests an in-memory
// transport cannot carry (raw framing, answers sent before the body is
// read); it returns the address.
func serve(t *testing.T, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.app.Listener(ln) }()
	t.Cleanup(func() { _ = h.app.Shutdown() })
	return ln.Addr().String()
}

// rawRequest writes raw to a new connection to addr (in the background: the
// server may answer before reading all of it) and reads one response.
func rawRequest(t *testing.T, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A deadline only so that a server that waits for more bytes fails the
	// test instead of hanging it; no assertion depends on time.
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(conn, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, body
}

// TestConflictingContentLength: two Content-Length headers that disagree
// are a 400, never a guess at which one frames the body (a proxy that picks
// the other one would see a different request: request smuggling). Identical
// repeats are refused too.
func TestConflictingContentLength(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		addr := serve(t, h)
		body := userBody("smuggled@x")
		for _, tc := range []struct{ name, first, second string }{
			{"conflicting", "2", fmt.Sprint(len(body))},
			{"conflicting, larger first", fmt.Sprint(len(body) + 100), fmt.Sprint(len(body))},
			{"identical", fmt.Sprint(len(body)), fmt.Sprint(len(body))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, got := rawRequest(t, addr, fmt.Sprintf("POST %s/Users HTTP/1.1\r\nHost: scimd.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/scim+json\r\nContent-Length: %s\r\nContent-Length: %s\r\n\r\n%s",
					tn.Base, tn.SCIMToken, tc.first, tc.second, body))
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400; body: %s", resp.StatusCode, got)
				}
				if strings.Contains(string(got), "smuggled") || strings.Contains(string(got), tn.SCIMToken) {
					t.Fatalf("the 400 echoes the request: %s", got)
				}
				if !strings.Contains(string(got), "malformed") {
					t.Fatalf("the 400 does not say what is wrong: %s", got)
				}
			})
		}
		// Nothing was created by any of them.
		res := h.do(http.MethodGet, tn.Base+`/Users?filter=userName%20eq%20%22smuggled@x%22`, tn.SCIMToken, nil).want(200).json()
		eq(t, res["totalResults"], float64(0))
	})
}
