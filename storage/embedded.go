package storage

import (
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Embedded is an in-process Redis-compatible server (miniredis) for trying
// scimd out and for tests; production points at Redis with AOF. Its data
// lives in memory and is gone on Close.
type Embedded struct {
	srv *miniredis.Miniredis
}

// StartEmbedded starts an embedded server on a loopback port.
// Returns an error if it cannot listen.
func StartEmbedded() (*Embedded, error) {
	srv := miniredis.NewMiniRedis()
	if err := srv.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("storage: start embedded redis: %w", err)
	}
	return &Embedded{srv: srv}, nil
}

// Addr is the embedded server's host:port.
func (e *Embedded) Addr() string { return e.srv.Addr() }

// URL is a redis:// URL for the embedded server.
func (e *Embedded) URL() string { return "redis://" + e.srv.Addr() }

// Close stops the embedded server.
func (e *Embedded) Close() { e.srv.Close() }

// FastForward moves the embedded server's clock for keys with a time to
// live: miniredis does not expire keys as time passes, only when told (a
// test of a lease that must run out).
func (e *Embedded) FastForward(d time.Duration) { e.srv.FastForward(d) }
