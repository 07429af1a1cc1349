package storage

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRecordRefusal: within the window, the first refusal of a group
// appends the audit event and the repeats only count; another reason or
// identifier is another group; past the window a group starts over with a
// new event; a deleted tenant gets nothing back.
func TestRecordRefusal(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		const window = time.Hour
		events := func() int {
			t.Helper()
			n, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		steps := []struct {
			name   string
			group  string
			at     time.Time
			want   int64 // the request's number in its group
			events int   // audit events after it
		}{
			{"first", "ann|license", t0, 1, 1},
			{"repeat", "ann|license", t0.Add(time.Minute), 2, 1},
			{"repeat again", "ann|license", t0.Add(59 * time.Minute), 3, 1},
			{"other reason", "ann|uniqueness", t0.Add(59 * time.Minute), 1, 2},
			{"other identifier", "bo|license", t0.Add(59 * time.Minute), 1, 3},
			{"window over: starts again", "ann|license", t0.Add(window), 1, 4},
			{"then repeats", "ann|license", t0.Add(window + time.Second), 2, 4},
		}
		for _, st := range steps {
			n, err := e.s.RecordRefusal(ctx, e.tenant, st.group, []byte(`{"g":"`+st.group+`"}`), st.at, window, []byte(`{"action":"provisioning.refused"}`))
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if n != st.want || events() != st.events {
				t.Fatalf("%s: number %d, events %d; want %d, %d", st.name, n, events(), st.want, st.events)
			}
		}
		got, err := e.s.Refusals(ctx, e.tenant)
		if err != nil {
			t.Fatal(err)
		}
		want := []RefusalGroup{
			{Descriptor: []byte(`{"g":"ann|license"}`), Count: 2, First: t0.Add(window).Truncate(time.Millisecond), Last: t0.Add(window + time.Second).Truncate(time.Millisecond)},
			{Descriptor: []byte(`{"g":"ann|uniqueness"}`), Count: 1, First: t0.Add(59 * time.Minute).Truncate(time.Millisecond), Last: t0.Add(59 * time.Minute).Truncate(time.Millisecond)},
			{Descriptor: []byte(`{"g":"bo|license"}`), Count: 1, First: t0.Add(59 * time.Minute).Truncate(time.Millisecond), Last: t0.Add(59 * time.Minute).Truncate(time.Millisecond)},
		}
		// The two at the same instant come in either order.
		if len(got) == 3 && string(got[1].Descriptor) > string(got[2].Descriptor) {
			got[1], got[2] = got[2], got[1]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("refusals (-want +got):\n%s", d)
		}
		if ttl := e.rdb.PTTL(ctx, refusalsKey(e.tenant)).Val(); ttl <= 0 || ttl > window {
			t.Fatalf("refusals TTL %v, want within (0, %v]", ttl, window)
		}

		if err := e.s.DeleteTenant(ctx, e.tenant); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.RecordRefusal(ctx, e.tenant, "ann|license", []byte(`{}`), t0, window, []byte(`{}`)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("refusal on a deleted tenant: %v, want ErrNotFound", err)
		}
		if n := e.rdb.Exists(ctx, refusalsKey(e.tenant), auditKey(e.tenant)).Val(); n != 0 {
			t.Fatalf("a deleted tenant got %d keys back", n)
		}
	})
}

// TestRefusalGroupsBounded: past maxRefusalGroups groups the hash starts
// over instead of growing.
func TestRefusalGroupsBounded(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for i := 0; i <= maxRefusalGroups; i++ {
			if _, err := e.s.RecordRefusal(ctx, e.tenant, "g"+string(rune('a'+i%26))+time.Duration(i).String(), []byte(`{}`), t0, time.Hour, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.rdb.HLen(ctx, refusalsKey(e.tenant)).Val(); n != 2 {
			t.Fatalf("%d fields after %d groups, want 2 (started over)", n, maxRefusalGroups+1)
		}
	})
}

// TestFlushStatus: flushes from two processes add up, the last request and
// the last error keep the latest whatever the order, and buckets older
// than keep are pruned.
func TestFlushStatus(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		m := t0.Truncate(time.Minute)
		keep := 25 * time.Hour
		a := StatusDelta{
			Counts:      map[StatusKey]int64{{m, "success"}: 3, {m, "refused"}: 1},
			Last:        m.Add(30 * time.Second),
			LastErrorAt: m.Add(20 * time.Second),
			LastError:   []byte(`{"status":409}`),
		}
		b := StatusDelta{
			Counts:      map[StatusKey]int64{{m, "success"}: 2, {m.Add(time.Minute), "failed"}: 1},
			Last:        m.Add(10 * time.Second), // older than a's
			LastErrorAt: m.Add(25 * time.Second),
			LastError:   []byte(`{"status":500}`),
		}
		for _, d := range []StatusDelta{a, b, {}} {
			if err := e.s.FlushStatus(ctx, e.tenant, d, m.Add(2*time.Minute), keep); err != nil {
				t.Fatal(err)
			}
		}
		got, err := e.s.Status(ctx, e.tenant)
		if err != nil {
			t.Fatal(err)
		}
		ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond) }
		want := StatusRecord{
			Counts:      map[StatusKey]int64{{m, "success"}: 5, {m, "refused"}: 1, {m.Add(time.Minute), "failed"}: 1},
			Last:        ms(a.Last),
			LastErrorAt: ms(b.LastErrorAt),
			LastError:   b.LastError,
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("status (-want +got):\n%s", d)
		}
		// A day later (past keep and the hourly prune), the old buckets go.
		later := m.Add(26 * time.Hour)
		if err := e.s.FlushStatus(ctx, e.tenant, StatusDelta{Counts: map[StatusKey]int64{{later, "success"}: 1}}, later, keep); err != nil {
			t.Fatal(err)
		}
		if got, err = e.s.Status(ctx, e.tenant); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[StatusKey]int64{{later, "success"}: 1}, got.Counts); d != "" {
			t.Fatalf("after pruning (-want +got):\n%s", d)
		}
		if err := e.s.FlushStatus(ctx, "st-nobody0", a, m, keep); !errors.Is(err, ErrNotFound) {
			t.Fatalf("flush for no tenant: %v, want ErrNotFound", err)
		}
	})
}
