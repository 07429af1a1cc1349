package access

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxDelay is Options.MaxDelay's default: long enough that, under
// load, a batch gathers the causes of many writes (100 at 1,000 writes a
// second) and the SCIM requests of the moment go first; short enough that
// a decision is still current a fraction of a second after its write.
const DefaultMaxDelay = 100 * time.Millisecond

// Edge counts the SCIM requests in flight. The resolver is background
// work: before each batch it waits while any is (Options.Edge), so that it
// does not compete with them for the CPU, and gathers a larger batch
// meanwhile. The zero value is ready to use.
type Edge struct {
	n       atomic.Int64
	waiters atomic.Int32
	mu      sync.Mutex
	idle    chan struct{} // closed when n falls to 0; nil: no one waits
}

// Enter counts a request in; Leave counts it out.
func (e *Edge) Enter() { e.n.Add(1) }

// Leave counts a request out, waking the waiters when it was the last.
func (e *Edge) Leave() {
	if e.n.Add(-1) == 0 && e.waiters.Load() > 0 {
		e.mu.Lock()
		if e.idle != nil {
			close(e.idle)
			e.idle = nil
		}
		e.mu.Unlock()
	}
}

// InFlight is the number of requests in flight.
func (e *Edge) InFlight() int64 { return e.n.Load() }

// Waiting is the number of resolver workers waiting for the edge to be
// idle.
func (e *Edge) Waiting() int { return int(e.waiters.Load()) }

// wait returns once no request is in flight (at once when none is), when
// timeout fires, or when ctx ends; it reports whether the edge was idle.
func (e *Edge) wait(ctx context.Context, timeout <-chan time.Time) bool {
	// Counted before n is read: a Leave that brings n to 0 after the read
	// sees the waiter (see Leave) and closes the channel made below.
	e.waiters.Add(1)
	defer e.waiters.Add(-1)
	for {
		e.mu.Lock()
		if e.n.Load() <= 0 {
			e.mu.Unlock()
			return true
		}
		if e.idle == nil {
			e.idle = make(chan struct{})
		}
		idle := e.idle
		e.mu.Unlock()
		select {
		case <-idle:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// pace holds a worker back before a batch while the SCIM edge is busy, at
// most MaxDelay: no wait at all when the edge is idle or none is set.
func (r *Resolver) pace(ctx context.Context) {
	e := r.opts.Edge
	if e == nil || r.opts.MaxDelay < 0 || e.InFlight() <= 0 {
		return
	}
	t := time.NewTimer(r.opts.MaxDelay)
	defer t.Stop()
	e.wait(ctx, t.C)
}
