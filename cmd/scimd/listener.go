package main

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// silentConns is a listener that remembers the connections that have not
// sent a request byte yet, so that a shutdown can close them.
//
// fasthttp counts a new connection as active as soon as it waits for the
// first request, so its graceful shutdown waits for a connection that never
// sends one (a load balancer's spare, a port probe) until the read timeout,
// 30 s, past our 15 s deadline. net/http closes such connections after 5 s.
// Nothing is in flight on them: closing them is safe once they have had a
// moment to send their request.
//
// Over TLS it must wrap the TLS listener: a completed handshake is not a
// request, and fasthttp learns that a connection is TLS from the
// connection's own methods, which the wrapper keeps.
type silentConns struct {
	net.Listener
	mu     sync.Mutex
	silent map[*watch]struct{}
}

func newSilentConns(ln net.Listener) *silentConns {
	return &silentConns{Listener: ln, silent: map[*watch]struct{}{}}
}

// The states of a watched connection: it either speaks first or is closed
// silent first, never both.
const (
	silentState int32 = iota
	spokeState
	closingState
)

// watch is what silentConns keeps of one connection.
type watch struct {
	l        *silentConns
	conn     net.Conn
	accepted time.Time
	state    atomic.Int32
}

func (l *silentConns) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	w := &watch{l: l, conn: c, accepted: time.Now()}
	l.mu.Lock()
	l.silent[w] = struct{}{}
	l.mu.Unlock()
	if tc, ok := c.(*tls.Conn); ok {
		return &watchedTLSConn{Conn: tc, w: w}, nil
	}
	return &watchedConn{Conn: c, w: w}, nil
}

func (l *silentConns) forget(w *watch) {
	l.mu.Lock()
	delete(l.silent, w)
	l.mu.Unlock()
}

// closeSilent closes every connection accepted more than grace ago that has
// not sent a byte, and returns how many it closed.
func (l *silentConns) closeSilent(grace time.Duration) int {
	before := time.Now().Add(-grace)
	var due []*watch
	l.mu.Lock()
	for w := range l.silent {
		if w.accepted.Before(before) {
			due = append(due, w)
		}
	}
	l.mu.Unlock()
	closed := 0
	for _, w := range due {
		// A connection that spoke meanwhile keeps its request.
		if w.state.CompareAndSwap(silentState, closingState) {
			_ = w.conn.Close()
			l.forget(w)
			closed++
		}
	}
	return closed
}

// read records that the connection spoke.
func (w *watch) read(n int) {
	if n > 0 && w.state.CompareAndSwap(silentState, spokeState) {
		w.l.forget(w)
	}
}

type watchedConn struct {
	net.Conn
	w *watch
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.read(n)
	return n, err
}

func (c *watchedConn) Close() error {
	c.w.l.forget(c.w)
	return c.Conn.Close()
}

// watchedTLSConn keeps *tls.Conn's methods (Handshake, ConnectionState),
// by which fasthttp tells a TLS connection. Read returns request bytes only
// after the handshake, so a handshake alone is not speaking.
type watchedTLSConn struct {
	*tls.Conn
	w *watch
}

func (c *watchedTLSConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.read(n)
	return n, err
}

func (c *watchedTLSConn) Close() error {
	c.w.l.forget(c.w)
	return c.Conn.Close()
}

// perIPConns is a TCP listener that lets one client address hold at most
// max connections at once; past that it answers 429 (plain HTTP) or just
// closes (under TLS, before any handshake) and accepts the next.
//
// fasthttp's own MaxConnsPerIP wraps each connection in a type that hides
// *tls.Conn's methods, by which fasthttp tells a TLS connection (c.Protocol()
// would say http); counting under the TLS listener keeps them.
type perIPConns struct {
	net.Listener
	max    int
	answer bool // plain HTTP: say why before closing
	mu     sync.Mutex
	open   map[string]int
}

func newPerIPConns(ln net.Listener, max int, plainHTTP bool) *perIPConns {
	return &perIPConns{Listener: ln, max: max, answer: plainHTTP, open: map[string]int{}}
}

var tooManyFromIP = []byte("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 52\r\n\r\ntoo many connections from this address; retry later")

func (l *perIPConns) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := peerIP(c)
		l.mu.Lock()
		n := l.open[ip]
		if n < l.max {
			l.open[ip] = n + 1
		}
		l.mu.Unlock()
		if n < l.max {
			return &countedConn{Conn: c, l: l, ip: ip}, nil
		}
		if l.answer {
			// Best effort, bounded: the peer may not read.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(tooManyFromIP)
		}
		_ = c.Close()
	}
}

func (l *perIPConns) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.open[ip] - 1; n > 0 {
		l.open[ip] = n
	} else {
		delete(l.open, ip) // no entry left behind per address ever seen
	}
}

// peerIP is the connection's remote address without its port.
func peerIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// countedConn gives its slot back once, however often it is closed.
type countedConn struct {
	net.Conn
	l      *perIPConns
	ip     string
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if !c.closed.Swap(true) {
		c.l.release(c.ip)
	}
	return c.Conn.Close()
}
