package feed

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestPublicAddr(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.0.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"198.18.0.1", false},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			if got := publicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("publicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

// TestDialerRefusesPrivateAtConnect: the check runs on the address the
// name resolved to, at every connection (DNS rebinding), and the flag
// lifts it.
func TestDialerRefusesPrivateAtConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// "localhost" resolves to loopback: refused after resolution.
	for _, addr := range []string{ln.Addr().String(), net.JoinHostPort("localhost", port)} {
		if _, err := dialer(false).DialContext(ctx, "tcp", addr); !errors.Is(err, errPrivateAddress) {
			t.Errorf("dial %s: %v, want errPrivateAddress", addr, err)
		}
	}
	c, err := dialer(true).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	c.Close()
}

func TestCheckURLResolves(t *testing.T) {
	resolveTo := func(a string) func(context.Context, string) ([]netip.Addr, error) {
		return func(context.Context, string) ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr(a)}, nil }
	}
	ctx := context.Background()
	if err := checkURL(ctx, "https://hooks.example.com/x", false, resolveTo("10.0.0.7")); !errors.Is(err, errPrivateAddress) {
		t.Errorf("a name resolving to a private address: %v", err)
	}
	if err := checkURL(ctx, "https://hooks.example.com/x", false, resolveTo("93.184.216.34")); err != nil {
		t.Errorf("a name resolving to a public address: %v", err)
	}
	if err := checkURL(ctx, "https://hooks.example.com/x", true, resolveTo("10.0.0.7")); err != nil {
		t.Errorf("allowed: %v", err)
	}
	failing := func(context.Context, string) ([]netip.Addr, error) { return nil, errors.New("no such host") }
	if err := checkURL(ctx, "https://nowhere.example/x", false, failing); err == nil {
		t.Error("a name that does not resolve was accepted")
	}
}
