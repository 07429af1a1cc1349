package server

import (
	"bytes"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/adminapi"
	"github.com/scimd/scimd/server/scimapi"
)

// clientIPLocal holds the client's address as clientAddr worked it out.
const clientIPLocal = "scimd.clientIP"

// clientAddr works out the client's address: the peer's, unless the peer
// is a trusted proxy; then X-Forwarded-For is read from the right, each
// trusted address skipped, and the first other one is the client (the
// leftmost entries are whatever the client wrote). An entry that is not an
// address stops the walk at the proxy that passed it on.
//
// The address is worked out when ClientIP asks (the admin edges and the
// console do; the SCIM edge never does): the local holds only the trusted
// prefixes, a pointer, which costs nothing to box, where the address as a
// string cost two allocations on every request.
func clientAddr(trusted []netip.Prefix) fiber.Handler {
	t := &trustedProxies{trusted}
	return func(c *fiber.Ctx) error {
		c.Locals(clientIPLocal, t)
		return c.Next()
	}
}

type trustedProxies struct{ prefixes []netip.Prefix }

func clientIP(trusted []netip.Prefix, peer []byte, forwarded [][]byte) string {
	addr, ok := netip.AddrFromSlice(peer)
	if !ok {
		return ""
	}
	addr = addr.Unmap()
	if !isTrusted(trusted, addr) {
		return addr.String()
	}
	// Several headers count as one list, in order.
	hops := strings.Split(string(bytes.Join(forwarded, []byte(","))), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		addr = a
		if !isTrusted(trusted, a) {
			break
		}
	}
	return addr.String()
}

// parseHop reads one X-Forwarded-For entry: an address, with or without a
// port (IPv6 with a port in brackets).
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the client's address as worked out for this request.
func ClientIP(c *fiber.Ctx) string {
	t, ok := c.Locals(clientIPLocal).(*trustedProxies)
	if !ok {
		return ""
	}
	return clientIP(t.prefixes, c.Context().RemoteIP(), c.Request().Header.PeekAll(fiber.HeaderXForwardedFor))
}

// allowedHosts answers 421 to a request whose Host is not one of hosts
// (when there are any), so that meta.location and scimBaseUrl, made from
// the Host without --public-url, only ever name this server. Health and
// metrics answer whatever the Host: probes often use an address.
func allowedHosts(hosts []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(hosts) == 0 || hostAllowed(hosts, string(c.Request().Host())) {
			return c.Next()
		}
		switch c.Path() {
		case "/healthz", "/readyz", "/metrics":
			return c.Next()
		}
		const detail = "this server does not answer for that Host"
		if strings.HasPrefix(c.Path(), "/scim/") {
			return scimapi.SendError(c, http.StatusMisdirectedRequest, detail)
		}
		return adminapi.Problem(c, http.StatusMisdirectedRequest, detail)
	}
}

// hostAllowed matches host (a Host header: name or address, maybe a port)
// against the list: an entry with a port matches that port only, one
// without matches any; names case-insensitively.
func hostAllowed(allowed []string, host string) bool {
	host = strings.ToLower(host)
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		name = host[:i]
	}
	for _, a := range allowed {
		a = strings.ToLower(a)
		if a == host || a == name {
			return true
		}
	}
	return false
}
