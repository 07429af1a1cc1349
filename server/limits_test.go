package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestBodyLimit sends an oversized body over a real connection (Fiber's
// in-memory test transport cannot carry the 413) and expects a SCIM 413.
func TestBodyLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = h.app.Listener(ln) }()
		t.Cleanup(func() { _ = h.app.Shutdown() })

		// A raw connection: the server may answer 413 and close before the
		// whole body is written, which an HTTP client reports as an error.
		body := userBody("big@x", `,"displayName":"`+strings.Repeat("x", 70<<10)+`"`)
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go func() {
			fmt.Fprintf(conn, "POST %s/Users HTTP/1.1\r\nHost: scimd.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/scim+json\r\nContent-Length: %d\r\n\r\n%s",
				tn.Base, tn.SCIMToken, len(body), body)
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
		var e map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("413 body is not JSON: %v", err)
		}
		eq(t, path(e, "schemas", 0), "urn:ietf:params:scim:api:messages:2.0:Error")
		eq(t, e["status"], "413")
	})
}
