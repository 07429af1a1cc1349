package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// silentConns is a listener that remembers the connections that have not
// sent a byte yet, so that a shutdown can close them.
//
// fasthttp counts a new connection as active as soon as it starts waiting
// for the first request, so its graceful shutdown waits for a connection
// that never sends one (a load balancer's spare, a port scan) until the
// read timeout, 30 s, past our 15 s deadline. net/http closes such
// connections after 5 s. Nothing is in flight on them: closing them is safe
// once they have had a moment to send their request.
type silentConns struct {
	net.Listener
	mu     sync.Mutex
	silent map[*watchedConn]time.Time // accepted at
}

func newSilentConns(ln net.Listener) *silentConns {
	return &silentConns{Listener: ln, silent: map[*watchedConn]time.Time{}}
}

func (l *silentConns) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	wc := &watchedConn{Conn: c, l: l}
	l.mu.Lock()
	l.silent[wc] = time.Now()
	l.mu.Unlock()
	return wc, nil
}

func (l *silentConns) forget(c *watchedConn) {
	l.mu.Lock()
	delete(l.silent, c)
	l.mu.Unlock()
}

// closeSilent closes every connection accepted more than grace ago that
// has not sent a byte, and returns how many it closed.
func (l *silentConns) closeSilent(grace time.Duration) int {
	before := time.Now().Add(-grace)
	var conns []*watchedConn
	l.mu.Lock()
	for c, at := range l.silent {
		if at.Before(before) {
			conns = append(conns, c)
		}
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

type watchedConn struct {
	net.Conn
	l     *silentConns
	spoke atomic.Bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.spoke.Load() {
		c.spoke.Store(true)
		c.l.forget(c)
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}
