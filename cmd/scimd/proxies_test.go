package main

import (
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConfigProxies: --trusted-proxies takes CIDRs and plain addresses,
// from the flag or SCIMD_TRUSTED_PROXIES; --allowed-hosts names hosts; a
// bad entry stops the start naming it.
func TestConfigProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		proxies []netip.Prefix
		hosts   []string
		err     string
	}{
		{"none by default", nil, nil, nil, nil, ""},
		{"flag", []string{"--trusted-proxies", "10.0.0.0/8, 192.0.2.7,2001:db8::/32", "--allowed-hosts", "scim.example.com,admin.example.com:8443"}, nil,
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")},
			[]string{"scim.example.com", "admin.example.com:8443"}, ""},
		{"environment", nil, map[string]string{"SCIMD_TRUSTED_PROXIES": "10.1.2.3/8", "SCIMD_ALLOWED_HOSTS": "scim.example.com"},
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []string{"scim.example.com"}, ""},
		{"bad CIDR", []string{"--trusted-proxies", "10.0.0.0/33"}, nil, nil, nil, `"10.0.0.0/33" is neither a CIDR nor an address`},
		{"a name is no proxy", nil, map[string]string{"SCIMD_TRUSTED_PROXIES": "proxy.internal"}, nil, nil, `SCIMD_TRUSTED_PROXIES="proxy.internal"`},
		{"a URL is no host", []string{"--allowed-hosts", "https://scim.example.com/"}, nil, nil, nil, "is not a host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServeEnv(tc.args, io.Discard, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.proxies, c.TrustedProxies, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("proxies (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.hosts, c.AllowedHosts); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
		})
	}
}
