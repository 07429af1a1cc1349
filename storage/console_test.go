package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestConsoleSession: a session is stored under its tenant with its expiry,
// read back, and gone once deleted (deleting twice is no error); ids no
// key can hold are not found.
func TestConsoleSession(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.PutConsoleSession(ctx, e.tenant, "h1", []byte(`{"a":1}`), time.Minute))
		got, err := e.s.ConsoleSession(ctx, e.tenant, "h1")
		if err != nil || string(got) != `{"a":1}` {
			t.Fatalf("read back %q, %v", got, err)
		}
		if ttl, err := e.rdb.PTTL(ctx, consoleSessionKey(e.tenant, "h1")).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("expiry %s (%v), want in (0, 1m]", ttl, err)
		}
		other := newTenant(t, e.s, 1)
		if _, err := e.s.ConsoleSession(ctx, other, "h1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's session: %v, want ErrNotFound", err)
		}
		must(t, e.s.DeleteConsoleSession(ctx, e.tenant, "h1"))
		must(t, e.s.DeleteConsoleSession(ctx, e.tenant, "h1"))
		if _, err := e.s.ConsoleSession(ctx, e.tenant, "h1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		for _, id := range []string{"", "a:b", "x{y}"} {
			if err := e.s.PutConsoleSession(ctx, e.tenant, id, []byte("x"), time.Minute); !errors.Is(err, ErrNotFound) {
				t.Errorf("put under %q: %v, want ErrNotFound", id, err)
			}
		}
	})
}

// TestTakeConsoleSignInFailure: asking (cost 0) takes nothing and says
// whether one more failure is allowed; failures are counted per address.
func TestTakeConsoleSignInFailure(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		ip, other := "test-"+e.tenant, "test-other-"+e.tenant
		t.Cleanup(func() { e.rdb.Del(context.Background(), consoleSignInFailuresKey(ip), consoleSignInFailuresKey(other)) })
		const perSecond, burst = 0.01, 2 // never refills during the test
		for i, tc := range []struct {
			cost int
			want bool
		}{{0, true}, {0, true}, {1, true}, {0, true}, {1, true}, {0, false}, {1, false}} {
			ok, wait, err := e.s.TakeConsoleSignInFailure(ctx, ip, perSecond, burst, tc.cost)
			must(t, err)
			if ok != tc.want || !ok && wait <= 0 {
				t.Fatalf("step %d (cost %d): allowed %v (wait %s), want %v", i, tc.cost, ok, wait, tc.want)
			}
		}
		if ok, _, err := e.s.TakeConsoleSignInFailure(ctx, other, perSecond, burst, 0); err != nil || !ok {
			t.Fatalf("another address refused: %v %v", ok, err)
		}
	})
}
