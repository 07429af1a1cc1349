package storage

import (
	"context"
)

// tokenChannel carries the id of a tenant whose tokens changed (a SCIM
// token rotated, the tenant deleted), so that every scimd drops the token
// checks it remembers for that tenant.
const tokenChannel = "scimd:token-changes"

// PublishTokenChange tells every scimd on this Redis that tenant's tokens
// changed. Returns ErrUnavailable.
func (s *Store) PublishTokenChange(ctx context.Context, tenant string) error {
	if err := s.rdb.Publish(ctx, tokenChannel, tenant).Err(); err != nil {
		return unavailable("publish token change", err)
	}
	return nil
}

// WatchTokenChanges calls fn with every tenant whose tokens change, until
// ctx ends. It is subscribed when it returns ready (closed), and go-redis
// subscribes again after a lost connection; a change published meanwhile is
// missed, which only the cache's own short lifetime then bounds.
func (s *Store) WatchTokenChanges(ctx context.Context, fn func(tenant string)) (ready <-chan struct{}) {
	ps := s.rdb.Subscribe(ctx, tokenChannel)
	subscribed := make(chan struct{})
	go func() {
		defer ps.Close()
		// The first reply confirms the subscription (or reports that Redis
		// is down; Channel keeps trying then).
		_, _ = ps.Receive(ctx)
		close(subscribed)
		ch := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				fn(m.Payload)
			}
		}
	}()
	return subscribed
}
