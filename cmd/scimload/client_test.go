package main

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
)

// fakeDNS resolves the names it holds and fails for others.
func fakeDNS(names map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]net.IPAddr, error) {
		ips, ok := names[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []net.IPAddr
		for _, ip := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
		}
		return out, nil
	}
}

func TestCheckTarget(t *testing.T) {
	dns := fakeDNS(map[string][]string{
		"localhost":       {"127.0.0.1", "::1"},
		"scimd.internal":  {"127.0.0.53"},
		"example.com":     {"93.184.215.14"},
		"split.example":   {"127.0.0.1", "10.0.0.7"},
		"nothing.example": {},
	})
	tests := []struct {
		name        string
		url         string
		allowRemote bool
		wantErr     string // empty: accepted
	}{
		{"IPv4 loopback", "http://127.0.0.1:8080/scim/v2/acme", false, ""},
		{"all of 127/8 is loopback", "http://127.1.2.3:8080/scim/v2/acme", false, ""},
		{"IPv6 loopback", "http://[::1]:8080/scim/v2/acme", false, ""},
		{"localhost", "http://localhost:8080/scim/v2/acme", false, ""},
		{"name resolving to loopback", "https://scimd.internal/scim/v2/acme", false, ""},
		{"private address", "http://10.0.0.1:8080/scim/v2/acme", false, "not a loopback address"},
		{"any address", "http://0.0.0.0:8080/scim/v2/acme", false, "not a loopback address"},
		{"public name", "https://example.com/scim/v2/acme", false, "93.184.215.14, which is not loopback"},
		{"name with one remote address", "http://split.example/scim/v2/acme", false, "10.0.0.7"},
		{"name without addresses", "http://nothing.example/scim/v2/acme", false, "resolves to no address"},
		{"unknown name", "http://nowhere.example/scim/v2/acme", false, "does not resolve"},
		{"remote allowed", "https://example.com/scim/v2/acme", true, ""},
		{"unknown name allowed when remote is", "https://nowhere.example/scim/v2/acme", true, ""},
		{"no scheme", "127.0.0.1:8080/scim/v2/acme", false, "--url"},
		{"host taken for a scheme", "localhost:8080/scim/v2/acme", false, "http:// or https://"},
		{"other scheme", "ftp://127.0.0.1/scim/v2/acme", false, "http:// or https://"},
		{"no host", "http:///scim/v2/acme", false, "no host"},
		{"unparsable", "http://[::1/scim", false, "--url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkTarget(context.Background(), tt.url, tt.allowRemote, dns)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkTarget(%q) = %v, want accepted", tt.url, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("checkTarget(%q) accepted, want an error with %q", tt.url, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("checkTarget(%q) = %v, want it to say %q", tt.url, err, tt.wantErr)
			}
		})
	}
}

func TestClientURL(t *testing.T) {
	tests := []struct {
		name, base, path string
		query            url.Values
		want             string
	}{
		{"plain", "http://127.0.0.1:8080/scim/v2/acme", "/Users", nil, "http://127.0.0.1:8080/scim/v2/acme/Users"},
		{"trailing slash", "http://127.0.0.1:8080/scim/v2/acme/", "/Users", nil, "http://127.0.0.1:8080/scim/v2/acme/Users"},
		{"query escaped", "http://127.0.0.1:8080/scim/v2/acme", "/Users", url.Values{"filter": {`userName eq "a b"`}},
			"http://127.0.0.1:8080/scim/v2/acme/Users?filter=userName+eq+%22a+b%22"},
		{"base query kept", "http://127.0.0.1:8080/scim/v2/acme?aadOptscim062020", "/Groups/1", url.Values{"excludedAttributes": {"members"}},
			"http://127.0.0.1:8080/scim/v2/acme/Groups/1?aadOptscim062020=&excludedAttributes=members"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(u, "t", 1, 0, false)
			if got := c.url(tt.path, tt.query); got != tt.want {
				t.Errorf("url = %q, want %q", got, tt.want)
			}
		})
	}
}
