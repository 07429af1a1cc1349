package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
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
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
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
					t.Fatalf("status %d, want 400; body: %.300s", resp.StatusCode, got)
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

// gzipped compresses b once.
func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEncodedBodies: a body with a content coding is refused (415, in the
// format of the API asked, with Accept-Encoding: identity) before anything
// decompresses it: a 16 MiB JSON document in a few KiB of gzip, once or
// stacked, on the SCIM and the admin routes. identity is no coding at all.
func TestEncodedBodies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		huge := `"` + strings.Repeat("x", 16<<20) + `"`
		bomb := func(s string) []byte { return gzipped(t, []byte(s)) }
		routes := []struct {
			name, method, path, token string
			body                      func(filler string) string
			ok                        int
		}{
			{"scim create", http.MethodPost, tn.Base + "/Users", tn.SCIMToken,
				func(f string) string { return userBody("bomb"+fmt.Sprint(len(f))+"@x", `,"displayName":`+f) }, 201},
			{"operator create", http.MethodPost, "/admin/v1/tenants", operatorToken,
				func(f string) string {
					return `{"id":"` + tn.ID + `-b` + fmt.Sprint(len(f)) + `","name":` + f + `,"licenseLimit":1}`
				}, 201},
			{"admin account", http.MethodPut, adminPath(tn) + "/accounts/bomb", tn.AdminToken,
				func(f string) string { return `{"name":` + f + `}` }, 201},
		}
		for _, r := range routes {
			once := bomb(r.body(huge))
			twice := gzipped(t, bomb(r.body(huge)))
			for _, tc := range []struct {
				name     string
				body     []byte
				encoding []string
			}{
				{"gzip bomb", once, []string{"Content-Encoding", "gzip"}},
				{"stacked gzip bomb", twice, []string{"Content-Encoding", "gzip, gzip"}},
				{"identity then gzip", once, []string{"Content-Encoding", "identity, gzip"}},
				{"deflate", once, []string{"Content-Encoding", "deflate"}},
				{"br", once, []string{"Content-Encoding", "br"}},
			} {
				name := r.name + "/" + tc.name
				res := h.do(r.method, r.path, r.token, tc.body, tc.encoding...)
				if res.status != http.StatusUnsupportedMediaType {
					t.Errorf("%s (%d bytes sent, %d decoded): status %d, want 415", name, len(tc.body), len(r.body(huge)), res.status)
					continue
				}
				if got := res.header.Get("Accept-Encoding"); got != "identity" {
					t.Errorf("%s: Accept-Encoding %q, want identity", name, got)
				}
				if strings.HasPrefix(r.path, "/scim/") {
					e := res.json()
					eq(t, path(e, "schemas", 0), "urn:ietf:params:scim:api:messages:2.0:Error")
					eq(t, e["status"], "415")
				} else {
					eq(t, res.header.Get("Content-Type"), "application/problem+json")
					eq(t, res.json()["status"], float64(415))
				}
			}
			if res := h.do(r.method, r.path, r.token, r.body(`"small"`), "Content-Encoding", "identity"); res.status != r.ok {
				t.Errorf("%s/identity: status %d, want %d; body: %s", r.name, res.status, r.ok, res.body)
			}
		}
		// Every Content-Encoding line counts: Fiber's c.Body() decodes by the last.
		gz := bomb(userBody("two@x"))
		resp, got := rawRequest(t, serve(t, h), fmt.Sprintf("POST %s/Users HTTP/1.1\r\nHost: scimd.test\r\nAuthorization: Bearer %s\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s",
			tn.Base, tn.SCIMToken, len(gz), gz))
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("two Content-Encoding lines: status %d, want 415; body: %.200s", resp.StatusCode, got)
		}
	})
}

// TestBodyReadAfterAuth: scimd reads no body before it knows who sends it,
// and none past the route's limit: a request announcing 31 MiB gets its 401
// (or 413) while the client has sent 16 KiB of it (fasthttp waits for its
// 8 KiB prefetch), and the connection closes
// rather than read the rest.
func TestBodyReadAfterAuth(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessConfig(t, url, func(c *server.Config) { c.PreflightBodyLimit = 1 << 20 })
			tn := h.newTenant(5)
			addr := serve(t, h)
			const announced = 31 << 20
			head := func(method, path, token, contentType string) string {
				auth := ""
				if token != "" {
					auth = "Authorization: Bearer " + token + "\r\n"
				}
				return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: scimd.test\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
					method, path, auth, contentType, announced) + strings.Repeat("x", 16<<10)
			}
			const js = "application/json"
			for _, tc := range []struct {
				name, raw string
				want      int
			}{
				{"anonymous scim create", head(http.MethodPost, tn.Base+"/Users", "", js), 401},
				{"bad scim token", head(http.MethodPost, tn.Base+"/Users", "nope", js), 401},
				{"anonymous preflight", head(http.MethodPost, adminPath(tn)+"/preflight", "", js), 401},
				{"scim token on preflight", head(http.MethodPost, adminPath(tn)+"/preflight", tn.SCIMToken, js), 401},
				{"anonymous tenant create", head(http.MethodPost, "/admin/v1/tenants", "", js), 401},
				{"anonymous multipart", head(http.MethodPost, "/admin/v1/tenants", "", "multipart/form-data; boundary=b"), 401},
				{"scim create over the limit", head(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, js), 413},
				{"scim read with a body over the limit", head(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, js), 413},
				{"admin account over the limit", head(http.MethodPut, adminPath(tn)+"/accounts/big", tn.AdminToken, js), 413},
				{"preflight over its own limit", head(http.MethodPost, adminPath(tn)+"/preflight", tn.AdminToken, "text/csv"), 413},
				{"metrics with a body", head(http.MethodGet, "/metrics", "", js), 413},
				{"health check with a body", head(http.MethodGet, "/healthz", "", js), 200},
				{"unknown route with a body", head(http.MethodPost, "/nowhere", "", js), 404},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, got := rawRequest(t, addr, tc.raw)
					if resp.StatusCode != tc.want {
						t.Fatalf("status %d, want %d; body: %.300s", resp.StatusCode, tc.want, got)
					}
					if !resp.Close {
						t.Errorf("the connection stays open with %d MiB unread", announced>>20)
					}
				})
			}
		})
	}
}

// TestUnreadBodySkipped: a body no handler read (a 401) is skipped on a
// kept-alive connection, never parsed as the next request.
func TestUnreadBodySkipped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		addr := serve(t, h)
		inner := "GET /healthz HTTP/1.1\r\nHost: scimd.test\r\n\r\n"
		body := inner + strings.Repeat(" ", 16<<10) // past fasthttp's 8 KiB prefetch
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = fmt.Fprintf(conn, "POST %s/Users HTTP/1.1\r\nHost: scimd.test\r\nContent-Length: %d\r\n\r\n%sGET /readyz HTTP/1.1\r\nHost: scimd.test\r\n\r\n", tn.Base, len(body), body)
		}()
		br := bufio.NewReader(conn)
		for _, want := range []struct {
			status int
			body   string
		}{{401, "bearer token"}, {200, "ready"}} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want.status || !strings.Contains(string(got), want.body) {
				t.Fatalf("status %d %s, want %d with %q", resp.StatusCode, got, want.status, want.body)
			}
		}
	})
}

// TestPreflightLimitIsTheRoutes: only the preflight route gets the larger
// limit; a path that merely ends in /preflight does not (a sub-account
// named "preflight" once stored a 20 MiB name past the 1 MiB limit).
func TestPreflightLimitIsTheRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		big := `{"name":"` + strings.Repeat("n", 100<<10) + `"}` // over the harness's 64 KiB
		h.do(http.MethodPut, adminPath(tn)+"/accounts/preflight", tn.AdminToken, big).want(413)
		h.do(http.MethodPut, adminPath(tn)+"/accounts/other", tn.AdminToken, big).want(413)
		h.do(http.MethodPut, adminPath(tn)+"/roles/preflight", tn.AdminToken, `{"level":"enterprise","permissions":["`+strings.Repeat("p", 100<<10)+`"]}`).want(413)
		h.do(http.MethodPost, tn.Base+"/Users/preflight", tn.SCIMToken, userBody("p@x", `,"displayName":"`+strings.Repeat("d", 100<<10)+`"`)).want(413)
		// The preflight itself takes 100 KiB and more (TestPreflightThousands: 140 KiB).
		csv := "userPrincipalName\n" + strings.Repeat("someone@x.test\n", 100<<10/15)
		h.do(http.MethodPost, adminPath(tn)+"/preflight", tn.AdminToken, csv, "Content-Type", "text/csv").want(200)
	})
}

// TestMetricsListenerBody: the separate metrics listener (--metrics-addr)
// buffers no body a scrape should not have.
func TestMetricsListenerBody(t *testing.T) {
	app := server.NewMetrics().App()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	resp, _ := rawRequest(t, ln.Addr().String(), fmt.Sprintf("GET /metrics HTTP/1.1\r\nHost: m\r\nContent-Length: %d\r\n\r\n%s", 2<<20, strings.Repeat("x", 2<<20)))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}
