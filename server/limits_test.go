package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
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

// TestRateLimit: past its rate a tenant gets 429 with Retry-After, in SCIM's
// error format, and other tenants are not affected.
func TestRateLimit(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close) // after the tenants' cleanups, which check them
	h := assemble(t, e.URL(), server.Config{OperatorToken: operatorToken, RateLimit: 0.001, RateBurst: 3}, storage.Options{}, provision.Options{})
	a, b := h.newTenant(10), h.newTenant(10)
	for i := 0; i < 3; i++ {
		h.do(http.MethodGet, a.Base+"/Users", a.SCIMToken, nil).want(200)
	}
	res := h.do(http.MethodGet, a.Base+"/Users", a.SCIMToken, nil).want(429)
	if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("429 without a useful Retry-After: %q", ra)
	}
	eq(t, res.json()["status"], "429")
	h.do(http.MethodGet, b.Base+"/Users", b.SCIMToken, nil).want(200)
}

// TestFilterLength: an overlong filter is refused before any parsing.
func TestFilterLength(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(1)
		long := url.QueryEscape(`userName eq "` + strings.Repeat("a", 3000) + `"`)
		res := h.do(http.MethodGet, tn.Base+"/Users?filter="+long, tn.SCIMToken, nil).want(400).json()
		eq(t, res["scimType"], "invalidFilter")
	})
}

// TestSecurityHeaders: every answer carries them, errors included.
func TestSecurityHeaders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		for _, p := range []string{"/healthz", "/scim/v2/nope/Users", "/admin/v1/tenants", "/nowhere"} {
			res := h.do(http.MethodGet, p, "", nil)
			for hd, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
				if got := res.header.Values(hd); len(got) != 1 || got[0] != want {
					t.Errorf("%s: %s %q, want %q once", p, hd, got, want)
				}
			}
		}
	})
}
