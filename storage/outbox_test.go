package storage

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// outboxItem is an outbox entry as tests compare it: without the stream id,
// the cause decoded.
type outboxItem struct {
	Kind, Target string
	Gen          int64
	Cause        map[string]any
}

// cause is the decoded cause JSON {"kind": kind, "id": id}.
func cause(kind, id string) map[string]any { return map[string]any{"kind": kind, "id": id} }

// outboxAfter reads the tenant's outbox after the stream id after ("" =
// all) and the generation.
func outboxAfter(t *testing.T, e env, after string) ([]outboxItem, int64, string) {
	t.Helper()
	entries, err := e.s.ReadOutbox(t.Context(), e.tenant, after, 100)
	must(t, err)
	items := []outboxItem{}
	for _, en := range entries {
		var c map[string]any
		if err := json.Unmarshal(en.Cause, &c); err != nil {
			t.Fatalf("entry %s cause %q: %v", en.ID, en.Cause, err)
		}
		items = append(items, outboxItem{en.Kind, en.Target, en.Generation, c})
		after = en.ID
	}
	gen, err := e.s.AccessGeneration(t.Context(), e.tenant)
	must(t, err)
	return items, gen, after
}

// fillOutbox appends n detail entries directly, as if n writes had run
// while the resolver was away; they take generations 1..n. Batches of 500
// keep each reply within the client's read timeout on a busy miniredis.
func fillOutbox(t *testing.T, e env, n int) {
	t.Helper()
	for from := 1; from <= n; from += 500 {
		_, err := e.rdb.Pipelined(t.Context(), func(p redis.Pipeliner) error {
			for i := from; i <= min(n, from+499); i++ {
				p.XAdd(t.Context(), &redis.XAddArgs{Stream: accessOutboxKey(e.tenant), Values: []string{
					outboxKind, OutboxUsers, outboxID, fmt.Sprint("u", i), outboxGen, fmt.Sprint(i), outboxCause, `{"kind":"active","id":"u"}`}})
			}
			return nil
		})
		must(t, err)
	}
	must(t, e.rdb.Set(t.Context(), accessGenKey(e.tenant), n, 0).Err())
}

func TestEnqueueAccess(t *testing.T) {
	many := make([]string, OutboxUsersMax+1)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	policy := []byte(`{"kind":"policy","id":"rev2"}`)
	tests := []struct {
		name    string
		kind    string
		id      string
		cause   []byte
		wantErr error
		want    []outboxItem
	}{
		{"all", OutboxAll, "", policy, nil, []outboxItem{{OutboxAll, "", 1, cause(CausePolicy, "rev2")}}},
		{"all ignores an id", OutboxAll, "x", policy, nil, []outboxItem{{OutboxAll, "", 1, cause(CausePolicy, "rev2")}}},
		{"group", OutboxGroup, "g1", []byte(`{"kind":"repair","id":"g1"}`), nil,
			[]outboxItem{{OutboxGroup, "g1", 1, cause(CauseRepair, "g1")}}},
		{"role", OutboxRole, "Auditor", []byte(`{"kind":"repair","id":"x"}`), nil,
			[]outboxItem{{OutboxRole, "Auditor", 1, cause(CauseRepair, "x")}}},
		{"users", OutboxUsers, "u1 u2", []byte(`{"kind":"repair","id":"x"}`), nil,
			[]outboxItem{{OutboxUsers, "u1 u2", 1, cause(CauseRepair, "x")}}},
		{"users split", OutboxUsers, strings.Join(many, " "), []byte(`{"kind":"repair","id":"x"}`), nil, []outboxItem{
			{OutboxUsers, strings.Join(many[:OutboxUsersMax], " "), 1, cause(CauseRepair, "x")},
			{OutboxUsers, many[OutboxUsersMax], 2, cause(CauseRepair, "x")},
		}},
		{"unknown kind", "user", "u1", policy, errPlain, []outboxItem{}},
		{"group without id", OutboxGroup, " ", policy, errPlain, []outboxItem{}},
		{"cause not JSON", OutboxAll, "", []byte(`{"kind"`), errPlain, []outboxItem{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, Options{}, 10, func(t *testing.T, e env) {
				gen, err := e.s.EnqueueAccess(t.Context(), e.tenant, tt.kind, tt.id, tt.cause)
				checkErr(t, err, tt.wantErr)
				got, stored, _ := outboxAfter(t, e, "")
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Errorf("outbox (-want +got):\n%s", d)
				}
				if want := int64(len(tt.want)); gen != want || stored != want {
					t.Errorf("generation = %d, stored %d, want %d", gen, stored, want)
				}
			})
		})
	}
}

func TestEnqueueAccessNoTenant(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		_, err := e.s.EnqueueAccess(t.Context(), "st-missing", OutboxAll, "", []byte(`{}`))
		checkErr(t, err, ErrNotFound)
		if n := len(tenantKeys(t, e.rdb, "st-missing")); n != 0 {
			t.Errorf("a missing tenant got %d keys", n)
		}
	})
}

// TestOutboxBound: a full outbox takes an 'all' instead of detail, and then
// replaces that 'all' instead of growing.
func TestOutboxBound(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		fillOutbox(t, e, OutboxMax-1)
		ctx := t.Context()
		_, err := e.s.EnqueueAccess(ctx, e.tenant, OutboxGroup, "g1", []byte(`{"kind":"repair","id":"1"}`))
		must(t, err)
		_, err = e.s.EnqueueAccess(ctx, e.tenant, OutboxGroup, "g2", []byte(`{"kind":"repair","id":"2"}`))
		must(t, err)
		_, err = e.s.EnqueueAccess(ctx, e.tenant, OutboxUsers, "u1 u2", []byte(`{"kind":"repair","id":"3"}`))
		must(t, err)
		n, err := e.s.OutboxLen(ctx, e.tenant)
		must(t, err)
		if n != OutboxMax+1 {
			t.Errorf("outbox length = %d, want %d", n, OutboxMax+1)
		}
		// Only the tail: reading 10,000 entries takes miniredis too long.
		tail, err := e.rdb.XRevRangeN(ctx, accessOutboxKey(e.tenant), "+", "-", 2).Result()
		must(t, err)
		var got []outboxItem
		for _, m := range tail {
			en, err := outboxEntry(m)
			must(t, err)
			var c map[string]any
			must(t, json.Unmarshal(en.Cause, &c))
			got = append([]outboxItem{{en.Kind, en.Target, en.Generation, c}}, got...)
		}
		gen, err := e.s.AccessGeneration(ctx, e.tenant)
		must(t, err)
		want := []outboxItem{
			{OutboxGroup, "g1", OutboxMax, cause(CauseRepair, "1")},
			{OutboxAll, "", OutboxMax + 2, cause(CauseRepair, "3")},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("outbox tail (-want +got):\n%s", d)
		}
		if gen != OutboxMax+2 {
			t.Errorf("generation = %d, want %d", gen, OutboxMax+2)
		}
	})
}

func TestReadOutbox(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, g := range []string{"g1", "g2", "g3"} {
			_, err := e.s.EnqueueAccess(ctx, e.tenant, OutboxGroup, g, []byte(`{}`))
			must(t, err)
		}
		all, err := e.s.ReadOutbox(ctx, e.tenant, "", 10)
		must(t, err)
		if len(all) != 3 {
			t.Fatalf("read %d entries, want 3", len(all))
		}
		for _, tt := range []struct {
			after string
			count int
			want  []string
		}{
			{"", 2, []string{"g1", "g2"}},
			{all[0].ID, 10, []string{"g2", "g3"}},
			{all[2].ID, 10, nil},
			{"0-0", 1, []string{"g1"}},
			{"0", 10, []string{"g1", "g2", "g3"}},
			{"", 0, nil},
		} {
			got, err := e.s.ReadOutbox(ctx, e.tenant, tt.after, tt.count)
			must(t, err)
			var ids []string
			for _, en := range got {
				ids = append(ids, en.Target)
			}
			if d := cmp.Diff(tt.want, ids); d != "" {
				t.Errorf("ReadOutbox(%q, %d) (-want +got):\n%s", tt.after, tt.count, d)
			}
		}
		if _, err := e.s.ReadOutbox(ctx, e.tenant, "x-1", 10); err == nil {
			t.Error("ReadOutbox accepted an after that is not a stream id")
		}
		if n, err := e.s.OutboxLen(ctx, e.tenant); err != nil || n != 3 {
			t.Errorf("OutboxLen = %d, %v, want 3", n, err)
		}
	})
}

func TestAccessGenerationNone(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		g, err := e.s.AccessGeneration(t.Context(), e.tenant)
		if err != nil || g != 0 {
			t.Errorf("AccessGeneration = %d, %v, want 0", g, err)
		}
		n, err := e.s.OutboxLen(t.Context(), e.tenant)
		if err != nil || n != 0 {
			t.Errorf("OutboxLen = %d, %v, want 0", n, err)
		}
	})
}
