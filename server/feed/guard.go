package feed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// A webhook URL is the operator's, but its host may resolve anywhere: to
// loopback services, the cloud metadata address, the private network. Such
// addresses are refused when the webhook is set and again at every
// connection (after the name is resolved, so that a name re-pointed later,
// DNS rebinding, cannot reach them), unless the operator allows private
// addresses.

// errPrivateAddress: the address is loopback, private, link-local or
// otherwise not a public one.
var errPrivateAddress = errors.New("the address is not public (loopback, private, link-local, shared or reserved); start scimd with --webhook-allow-private to allow it")

// nonPublic are ranges netip's predicates leave out.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier NAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may embed a private IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2002::/16"),       // 6to4: may embed one too
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
}

// publicAddr reports whether a webhook may connect to a.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// dialer returns the webhooks' dialer: it refuses a non-public address at
// connect time, after resolution, unless allowPrivate.
func dialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			a, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("webhook: dialing %q: %w", address, err)
			}
			if !publicAddr(a) {
				return fmt.Errorf("webhook: %s: %w", a, errPrivateAddress)
			}
			return nil
		}
	}
	return d
}

// maxURLLen bounds a webhook URL.
const maxURLLen = 2048

// checkURL validates a webhook URL as the operator gave it and, unless
// allowPrivate, that its host is or resolves to public addresses only. The
// error is for the operator to read.
func checkURL(ctx context.Context, raw string, allowPrivate bool, resolve func(context.Context, string) ([]netip.Addr, error)) error {
	if len(raw) > maxURLLen {
		return fmt.Errorf("the url is longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("the url must be an absolute http:// or https:// URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("the url must be an http:// or https:// URL")
	}
	if u.User != nil {
		return errors.New("the url must not hold credentials: the receiver checks the signature instead")
	}
	if u.Fragment != "" {
		return errors.New("the url must not have a fragment")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !publicAddr(a) {
			return errPrivateAddress
		}
		return nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return errPrivateAddress
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := resolve(rctx, host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("the url's host %q does not resolve", host)
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return fmt.Errorf("the url's host resolves to %s: %w", a.Unmap(), errPrivateAddress)
		}
	}
	return nil
}

// lookup resolves a host with the system's resolver.
func lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
