package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/scimd/scimd/server"
)

// TestForwardedHeaders: X-Forwarded-Proto and X-Forwarded-For are believed
// only from trusted proxies (before, Proto was believed from anyone and For
// from no one), and the audit ip is then the client's, read from the right.
// The test client's address is 0.0.0.0.
func TestForwardedHeaders(t *testing.T) {
	for _, tc := range []struct {
		name      string
		trusted   []string
		xff       string
		wantIP    string
		wantProto string
	}{
		{"no trusted proxy: headers ignored", nil, "198.51.100.1, 203.0.113.7", "0.0.0.0", "http"},
		{"another proxy trusted: headers ignored", []string{"10.0.0.0/8"}, "198.51.100.1, 203.0.113.7", "0.0.0.0", "http"},
		{"peer trusted: rightmost entry", []string{"0.0.0.0/32"}, "198.51.100.1, 203.0.113.7", "203.0.113.7", "https"},
		{"two proxies trusted: rightmost untrusted entry", []string{"0.0.0.0/32", "10.0.0.0/8"}, "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7", "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for backend, url := range backends(t) {
				t.Run(backend, func(t *testing.T) {
					h := newHarnessConfig(t, url, func(c *server.Config) {
						c.PublicURL = ""
						for _, p := range tc.trusted {
							c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(p))
						}
					})
					fwd := []string{"X-Forwarded-For", tc.xff, "X-Forwarded-Proto", "https"}
					tn := h.newTenant(1)
					admin := "/admin/v1/tenants/" + tn.ID
					h.do(http.MethodPut, admin+"/accounts/a1", operatorToken, map[string]any{"name": "A"}, fwd...).want(201)
					eq(t, path(asList(h.do(http.MethodGet, admin+"/audit?targetId=a1", tn.AdminToken, nil).want(200).json()["events"]), 0, "ip"), tc.wantIP)

					id := tn.ID + "-2"
					res := h.do(http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": id, "name": "B", "licenseLimit": 1}, fwd...).want(201)
					t.Cleanup(func() { h.do(http.MethodDelete, "/admin/v1/tenants/"+id, operatorToken, nil) })
					eq(t, res.json()["scimBaseUrl"], tc.wantProto+"://scimd.test/scim/v2/"+id)
					loc := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "p@acme.example"}, fwd...).want(201).header.Get("Location")
					if !strings.HasPrefix(loc, tc.wantProto+"://scimd.test/scim/v2/") {
						t.Errorf("Location %q, want %s://scimd.test/...", loc, tc.wantProto)
					}
				})
			}
		})
	}
}

// TestAllowedHosts: without --public-url, URLs are made from the Host
// header; with --allowed-hosts, another Host is refused (421) instead of
// being written into scimBaseUrl and meta.location. Probes pass whatever
// their Host.
func TestAllowedHosts(t *testing.T) {
	for backend, url := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			h := newHarnessConfig(t, url, func(c *server.Config) { c.PublicURL, c.AllowedHosts = "", []string{"scimd.test"} })
			tn := h.newTenant(1)
			get := func(host, path, token string) (int, string) {
				req := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
				// A path and a Host header: app.Test dumps an absolute target
				// without Host, which fasthttp refuses (RFC 9112).
				req.RequestURI = ""
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := h.app.Test(req, -1)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			for _, host := range []string{"evil.example", "scimd.test.evil.example", "evil.example:80"} {
				if s, body := get(host, "/admin/v1/tenants/"+tn.ID, operatorToken); s != http.StatusMisdirectedRequest || !strings.Contains(body, `"status":421`) {
					t.Errorf("admin with Host %s: %d %s", host, s, body)
				}
				if s, body := get(host, tn.Base+"/Users", tn.SCIMToken); s != http.StatusMisdirectedRequest || !strings.Contains(body, "urn:ietf:params:scim:api:messages:2.0:Error") {
					t.Errorf("SCIM with Host %s: %d %s", host, s, body)
				}
			}
			if s, _ := get("10.0.0.7:8080", "/healthz", ""); s != 200 {
				t.Errorf("healthz: %d", s)
			}
			if s, body := get("SCIMD.test:8080", "/admin/v1/tenants/"+tn.ID, operatorToken); s != 200 || !strings.Contains(strings.ToLower(body), `"scimbaseurl":"http://scimd.test:8080/scim/v2/`) {
				t.Errorf("allowed host: %d %s", s, body)
			}
		})
	}
}
