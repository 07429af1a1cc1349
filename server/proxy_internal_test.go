package server

import (
	"net"
	"net/netip"
	"testing"
)

// TestClientIP: X-Forwarded-For counts only when the peer is a trusted
// proxy, and is read from the right, skipping trusted addresses: the
// leftmost entries are whatever the client wrote.
func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client", "203.0.113.5", nil, "203.0.113.5"},
		{"direct client's forged header is ignored", "203.0.113.5", []string{"198.51.100.1"}, "203.0.113.5"},
		{"through a proxy", "10.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"forged leftmost entry", "10.0.0.1", []string{"1.1.1.1, 203.0.113.7"}, "203.0.113.7"},
		{"two trusted proxies", "10.0.0.1", []string{"6.6.6.6, 203.0.113.7, 10.9.9.9"}, "203.0.113.7"},
		{"two headers are one list", "10.0.0.1", []string{"6.6.6.6", "203.0.113.7, 10.9.9.9"}, "203.0.113.7"},
		{"entry with a port", "10.0.0.1", []string{"203.0.113.7:5555"}, "203.0.113.7"},
		{"IPv6", "2001:db8::1", []string{"[2001:db9::7]:443"}, "2001:db9::7"},
		{"IPv4-mapped peer", "::ffff:10.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"garbage stops at the proxy that passed it", "10.0.0.1", []string{"203.0.113.7, nonsense"}, "10.0.0.1"},
		{"garbage after a trusted hop", "10.0.0.1", []string{"nonsense, 10.2.2.2"}, "10.2.2.2"},
		{"no header from a proxy", "10.0.0.1", nil, "10.0.0.1"},
		{"all trusted", "10.0.0.1", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var xff [][]byte
			for _, h := range tc.xff {
				xff = append(xff, []byte(h))
			}
			if got := clientIP(trusted, net.ParseIP(tc.peer), xff); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHostAllowed: names case-insensitively; an entry without a port
// matches any port, one with a port only that one.
func TestHostAllowed(t *testing.T) {
	allowed := []string{"scim.example.com", "Admin.Example.com:8443", "[::1]"}
	for host, want := range map[string]bool{
		"scim.example.com": true, "SCIM.example.com:443": true, "admin.example.com:8443": true,
		"admin.example.com": false, "admin.example.com:443": false, "evil.example": false,
		"scim.example.com.evil.example": false, "[::1]:8080": true, "": false,
	} {
		if got := hostAllowed(allowed, host); got != want {
			t.Errorf("%q: got %v, want %v", host, got, want)
		}
	}
}
