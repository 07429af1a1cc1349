package storage

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// AccessWatcher hears what WatchAccessChanged hears.
type AccessWatcher interface {
	// Changed: these users' decision records of tenant were written or
	// deleted; none named: any of the tenant's.
	Changed(tenant string, users []string)
	// Subscribed: the subscription is confirmed, at the start or again
	// after a reconnection; changes published before it may have been
	// missed.
	Subscribed()
	// Lost: the subscription broke; changes are missed until Subscribed.
	Lost()
	// Heard: every change published before at has been handed to Changed
	// (a ping sent at at was answered on the subscription's connection,
	// behind them).
	Heard(at time.Time)
}

// WatchAccessChanged hands w every change of stored decision records (the
// resolver's writes, tenant deletions) until ctx ends, pinging Redis on
// the subscription's connection every interval so that w hears, at least
// that often, up to when it has heard everything (Heard). A connection
// silent for three intervals is given up (Lost) and subscribed again.
// ready is closed at the first confirmation.
//
// Redis answers a ping behind the messages published before it; the
// embedded store hands a message to the connection's writer before
// PUBLISH returns but may write a ping's answer first, a race of
// microseconds that a ping a second apart does not meet in practice. On a
// Redis Cluster the ping goes to the channel's node, and a message
// published by a script on another node crosses the cluster bus first: it
// may trail the ping's answer by that hop, far inside the cache's window.
func (s *Store) WatchAccessChanged(ctx context.Context, w AccessWatcher, interval time.Duration) (ready <-chan struct{}) {
	confirmed := make(chan struct{})
	var once sync.Once
	go func() {
		for ctx.Err() == nil {
			ps := s.rdb.Subscribe(ctx, accessChangedChannel)
			followAccessChanged(ctx, ps, w, interval, func() { once.Do(func() { close(confirmed) }) })
			_ = ps.Close()
			w.Lost()
		}
	}()
	return confirmed
}

// followAccessChanged reads ps until ctx ends or the connection has been
// silent (no answer to a ping) for three intervals.
func followAccessChanged(ctx context.Context, ps *redis.PubSub, w AccessWatcher, interval time.Duration, confirmed func()) {
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var pings pingLog
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				// An error shows in the receive below as well.
				_ = ps.Ping(pctx, pings.send(time.Now()))
			}
		}
	}()
	last := time.Now()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, interval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Since(last) > 3*interval {
					return
				}
				continue
			}
			if ctx.Err() != nil {
				return
			}
			// The connection broke: go-redis dials again on the next
			// receive, and subscribes again (Subscribed).
			w.Lost()
			if time.Since(last) > 3*interval {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(interval / 4):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				last = time.Now()
				w.Subscribed()
				confirmed()
			}
		case *redis.Pong:
			if at, ok := pings.answered(m.Payload); ok {
				last = time.Now()
				w.Heard(at)
			}
		case *redis.Message:
			tenant, rest, _ := strings.Cut(m.Payload, " ")
			var users []string
			if rest != "" {
				users = strings.Split(rest, " ")
			}
			w.Changed(tenant, users)
		}
	}
}

// pingLog remembers when the pings still unanswered were sent: a ping's
// payload is its sequence number, and the clock read (monotonic) stays here.
type pingLog struct {
	mu   sync.Mutex
	next uint64
	sent []sentPing
}

type sentPing struct {
	seq uint64
	at  time.Time
}

// maxPings bounds the pings remembered (a connection that answers none).
const maxPings = 64

func (p *pingLog) send(at time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	if len(p.sent) == maxPings {
		p.sent = append(p.sent[:0], p.sent[1:]...)
	}
	p.sent = append(p.sent, sentPing{seq: p.next, at: at})
	return strconv.FormatUint(p.next, 10)
}

// answered returns when the ping answered by payload was sent, forgetting
// it and every earlier one (answers come in order).
func (p *pingLog) answered(payload string) (time.Time, bool) {
	seq, err := strconv.ParseUint(payload, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.sent {
		if s.seq == seq {
			p.sent = append(p.sent[:0], p.sent[i+1:]...)
			return s.at, true
		}
	}
	return time.Time{}, false
}
