package storage

import (
	"context"
	"errors"
	"strconv"
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

// TestCountSignInFailure: a window records its first failures and a
// notice, then only counts; the next window records again; a tenant that
// does not exist gets neither a count nor a stream.
func TestCountSignInFailure(t *testing.T) {
	run(t, Options{AuditMaxLen: 1000}, 1, func(t *testing.T, e env) {
		ctx := t.Context()
		hour := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
		for i, want := range []struct {
			events int
			newest string
		}{{1, "f"}, {2, "f"}, {3, "notice"}, {3, "notice"}, {3, "notice"}} {
			n, err := e.s.CountSignInFailure(ctx, e.tenant, hour, 2*time.Hour, 2, []byte("f"), []byte("notice"))
			must(t, err)
			if n != int64(i+1) {
				t.Fatalf("failure %d numbered %d", i+1, n)
			}
			entries, err := e.s.ReadAudit(ctx, e.tenant, "", 10)
			must(t, err)
			if len(entries) != want.events || string(entries[0].Event) != want.newest {
				t.Fatalf("after failure %d: %d events, newest %q; want %d, %q", i+1, len(entries), entries[0].Event, want.events, want.newest)
			}
		}
		if ttl, err := e.rdb.TTL(ctx, signInFailuresKey(e.tenant, strconv.FormatInt(hour.Unix(), 10))).Result(); err != nil || ttl <= time.Hour || ttl > 2*time.Hour {
			t.Fatalf("window count expires in %s (%v), want in (1h, 2h]", ttl, err)
		}
		if n, err := e.s.CountSignInFailure(ctx, e.tenant, hour.Add(time.Hour), 2*time.Hour, 2, []byte("next"), []byte("notice")); err != nil || n != 1 {
			t.Fatalf("next window: failure %d (%v), want 1", n, err)
		}
		if entries, err := e.s.ReadAudit(ctx, e.tenant, "", 1); err != nil || len(entries) != 1 || string(entries[0].Event) != "next" {
			t.Fatalf("next window's failure not recorded: %v %v", entries, err)
		}
		gone := "st-gone-" + e.tenant
		if _, err := e.s.CountSignInFailure(ctx, gone, hour, time.Hour, 2, []byte("f"), []byte("notice")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no such tenant: %v, want ErrNotFound", err)
		}
		if n, err := e.rdb.Exists(ctx, signInFailuresKey(gone, strconv.FormatInt(hour.Unix(), 10)), auditKey(gone)).Result(); err != nil || n != 0 {
			t.Fatalf("keys made for a tenant that does not exist: %d %v", n, err)
		}
	})
}
