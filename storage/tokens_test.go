package storage

import (
	"context"
	"testing"
	"time"
)

// TestTokenChanges: a token change published through one store reaches
// every watcher (one per scimd), with its tenant.
func TestTokenChanges(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var got []chan string
		for range 2 {
			ch := make(chan string, 64)
			<-e.s.WatchTokenChanges(ctx, func(tenant string) {
				// Other tests on a shared Redis publish their own tenants.
				if tenant == e.tenant {
					ch <- tenant
				}
			}, func() {})
			got = append(got, ch)
		}
		must(t, e.s.PublishTokenChange(ctx, e.tenant))
		for i, ch := range got {
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("watcher %d did not hear %s", i, e.tenant)
			}
		}
	})
}
