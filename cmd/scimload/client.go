package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// lookupFunc resolves a host name to its addresses (net.Resolver.LookupIPAddr).
type lookupFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

// checkTarget parses the tenant's SCIM base URL and, unless allowRemote,
// refuses it when its host is not, or does not resolve only to, loopback
// addresses: a load run against someone else's server is an attack.
// Returns the parsed URL, or an error that says what to change.
func checkTarget(ctx context.Context, raw string, allowRemote bool, lookup lookupFunc) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--url must start with http:// or https://, not %q", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("--url %q has no host", raw)
	}
	if allowRemote {
		return u, nil
	}
	refuse := func(why string) error {
		return fmt.Errorf("--url host %q %s; scimload only loads loopback targets unless --allow-remote is given (and you own the target)", host, why)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, refuse("is not a loopback address")
		}
		return u, nil
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return nil, refuse("does not resolve (" + err.Error() + ")")
	}
	if len(addrs) == 0 {
		return nil, refuse("resolves to no address")
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return nil, refuse("resolves to " + a.IP.String() + ", which is not loopback")
		}
	}
	return u, nil
}

// errNotLoopback is returned by a dial that reached a non-loopback address
// although the target was checked to be loopback (DNS changed in between).
var errNotLoopback = errors.New("connected to a non-loopback address; refusing without --allow-remote")

// client sends SCIM requests to one tenant over keep-alive connections.
type client struct {
	http  *http.Client
	base  string     // scheme://host/scim/v2/<tenant>, no trailing slash
	query url.Values // query parameters of --url (e.g. aadOptscim062020), sent with every request
	auth  string
}

// newClient returns a client for base with one idle connection per worker.
// Unless allowRemote, every connection's peer is checked to be loopback.
func newClient(base *url.URL, token string, concurrency int, timeout time.Duration, allowRemote bool) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil, // never send load through a proxy from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil || allowRemote {
				return conn, err
			}
			if ta, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
				conn.Close()
				return nil, errNotLoopback
			}
			return conn, nil
		},
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		// At most --concurrency connections, as an identity provider
		// keeps: with --rate, requests beyond wait for one (their latency
		// counts from when they were due) instead of opening more until
		// the server's per-address limit answers 429.
		MaxConnsPerHost:       concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: timeout,
	}
	u := *base
	q := u.Query()
	u.RawQuery, u.Fragment = "", ""
	return &client{
		http: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// SCIM answers no redirects; following one could leave loopback.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		base:  strings.TrimRight(u.String(), "/"),
		query: q,
		auth:  "Bearer " + token,
	}
}

// close drops the idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }

// url returns the address of path (relative to the SCIM base) with query
// and the base's own parameters.
func (c *client) url(path string, query url.Values) string {
	if len(c.query) > 0 {
		merged := url.Values{}
		for k, v := range c.query {
			merged[k] = v
		}
		for k, v := range query {
			merged[k] = v
		}
		query = merged
	}
	if len(query) == 0 {
		return c.base + path
	}
	return c.base + path + "?" + query.Encode()
}

// reply is what one request got: its status (0 when it failed before an
// answer), its body, and how long it took, body read included.
type reply struct {
	status  int
	body    []byte
	latency time.Duration
	err     error
}

// ok tells whether the server answered a success status. Any other status,
// a 404 included, is an error for the load tool.
func (r reply) ok() bool {
	return r.err == nil && (r.status == http.StatusOK || r.status == http.StatusCreated || r.status == http.StatusNoContent)
}

// do sends one request; body nil sends none.
func (c *client) do(ctx context.Context, method, target string, body []byte) reply {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{latency: time.Since(start), err: err}
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return reply{status: resp.StatusCode, body: raw, latency: time.Since(start), err: err}
}

// errorLog keeps the first few failed requests of a run, to show why.
type errorLog struct {
	mu      sync.Mutex
	max     int
	samples []string
}

// add remembers one failure while fewer than max are kept.
func (l *errorLog) add(phase, op, method, target string, r reply, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) >= l.max {
		return
	}
	var what string
	switch {
	case r.err != nil:
		what = r.err.Error()
	case detail != "":
		what = fmt.Sprintf("%d: %s", r.status, detail)
	default:
		body := string(r.body)
		if len(body) > 500 {
			body = body[:500] + "..."
		}
		what = fmt.Sprintf("%d %s", r.status, body)
	}
	l.samples = append(l.samples, fmt.Sprintf("[%s/%s] %s %s -> %s", phase, op, method, target, what))
}

// list returns the failures kept, oldest first.
func (l *errorLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.samples...)
}
