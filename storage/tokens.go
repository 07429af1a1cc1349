package storage

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// tokenChannel carries the id of a tenant whose tokens changed (a SCIM
// token rotated, admin tokens revoked, the tenant deleted), so that every
// scimd drops the token checks it remembers for that tenant.
const tokenChannel = "scimd:token-changes"

// PublishTokenChange tells every scimd on this Redis that tenant's tokens
// changed. Returns ErrUnavailable.
func (s *Store) PublishTokenChange(ctx context.Context, tenant string) error {
	if err := s.rdb.Publish(ctx, tokenChannel, tenant).Err(); err != nil {
		return unavailable("publish token change", err)
	}
	return nil
}

// WatchTokenChanges calls changed with every tenant whose tokens change,
// until ctx ends, and subscribed each time the subscription is confirmed:
// at the start and after every reconnection, when changes published in
// between were missed. ready is closed at the first confirmation.
func (s *Store) WatchTokenChanges(ctx context.Context, changed func(tenant string), subscribed func()) (ready <-chan struct{}) {
	return s.watch(ctx, tokenChannel, changed, subscribed)
}

// watch calls got with every message of channel until ctx ends, and
// subscribed each time the subscription is confirmed (at the start and after
// every reconnection, when messages published in between were missed).
// ready is closed at the first confirmation.
func (s *Store) watch(ctx context.Context, channel string, got func(string), subscribed func()) (ready <-chan struct{}) {
	ps := s.rdb.Subscribe(ctx, channel)
	confirmed := make(chan struct{})
	var once sync.Once
	go func() {
		defer ps.Close()
		ch := ps.ChannelWithSubscriptions()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				switch m := m.(type) {
				case *redis.Subscription:
					if m.Kind == "subscribe" {
						subscribed()
						once.Do(func() { close(confirmed) })
					}
				case *redis.Message:
					got(m.Payload)
				}
			}
		}
	}()
	return confirmed
}
