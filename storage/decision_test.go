package storage

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// feed reads the tenant's whole feed: ids and entries.
func feed(t *testing.T, e env) (ids, entries []string) {
	t.Helper()
	msgs, err := e.rdb.XRange(t.Context(), accessFeedKey(e.tenant), "-", "+").Result()
	must(t, err)
	for _, m := range msgs {
		ids = append(ids, m.ID)
		entries = append(entries, m.Values["e"].(string))
	}
	return ids, entries
}

func TestWriteDecisions(t *testing.T) {
	run(t, Options{Clock: func() time.Time { return t0 }}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "one"), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "two"), nil))
		ok, err := e.s.HoldAccessLease(ctx, e.tenant, "r1", time.Minute)
		must(t, err)
		if !ok {
			t.Fatal("lease not taken")
		}

		// A first batch: u1 gets a record and an entry, u2 a record only,
		// u3 (no such user) nothing.
		res, err := e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{
			Owner: "r1",
			Records: []DecisionWrite{
				{User: "u1", Record: []byte(`{"a":1}`), Entry: []byte(`{"user":"u1"}`)},
				{User: "u2", Record: []byte(`{"a":2}`)},
				{User: "u3", Record: []byte(`{"a":3}`), Entry: []byte(`{"user":"u3"}`)},
			},
			State: map[string]string{"job_pos": "7", "job_total": "3"},
			Job:   true,
		})
		must(t, err)
		ids, entries := feed(t, e)
		if d := cmp.Diff(DecisionResult{Written: 2, Entries: 1, First: ids[0], Last: ids[0]}, res); d != "" {
			t.Errorf("result (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{`{"user":"u1"}`}, entries); d != "" {
			t.Errorf("feed (-want +got):\n%s", d)
		}
		got, err := e.s.AccessDecisions(ctx, e.tenant, []string{"u1", "u2", "u3", "bad:id"})
		must(t, err)
		if d := cmp.Diff([][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`), nil, nil}, got); d != "" {
			t.Errorf("records (-want +got):\n%s", d)
		}
		if _, err := e.s.AccessDecision(ctx, e.tenant, "u3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("AccessDecision(u3) = %v, want ErrNotFound", err)
		}
		state, err := e.rdb.HGetAll(ctx, accessStateKey(e.tenant)).Result()
		must(t, err)
		want := map[string]string{"job_pos": "7", "job_total": "3", "job_done": "3", "job_changed": "1", "job_first": ids[0], "job_last": ids[0]}
		if d := cmp.Diff(want, state); d != "" {
			t.Errorf("state (-want +got):\n%s", d)
		}

		// The record read is no longer the stored one: a conflict, nothing
		// written for that user; the others go on.
		res, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{
			Owner: "r1",
			Records: []DecisionWrite{
				{User: "u1", Read: []byte(`{"a":0}`), Record: []byte(`{"a":9}`), Entry: []byte(`{"user":"u1"}`)},
				{User: "u2", Read: []byte(`{"a":2}`), Record: []byte(`{"a":22}`), Entry: []byte(`{"user":"u2"}`)},
			},
		})
		must(t, err)
		if d := cmp.Diff([]string{"u1"}, res.Conflicts); d != "" {
			t.Errorf("conflicts (-want +got):\n%s", d)
		}
		if raw, _ := e.s.AccessDecision(ctx, e.tenant, "u1"); string(raw) != `{"a":1}` {
			t.Errorf("u1 = %s, want unchanged", raw)
		}

		// A deleted user: its record goes, with its entry; deleting the
		// record of a user that exists is a conflict.
		must(t, e.s.DeleteUser(ctx, e.tenant, "u2", nil))
		res, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{
			Owner: "r1",
			Records: []DecisionWrite{
				{User: "u2", Read: []byte(`{"a":22}`), Entry: []byte(`{"user":"u2","new":null}`)},
				{User: "u1", Read: []byte(`{"a":1}`), Entry: []byte(`{"user":"u1","new":null}`)},
			},
		})
		must(t, err)
		if res.Written != 1 || res.Entries != 1 || len(res.Conflicts) != 1 || res.Conflicts[0] != "u1" {
			t.Errorf("delete: %+v", res)
		}
		if _, err := e.s.AccessDecision(ctx, e.tenant, "u2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("u2's record after delete: %v", err)
		}

		// Another replica's lease refuses the write.
		_, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Owner: "r2", Records: []DecisionWrite{{User: "u1", Read: []byte(`{"a":1}`), Record: []byte(`{}`)}}})
		if !errors.Is(err, ErrLeaseLost) {
			t.Errorf("r2 wrote: %v, want ErrLeaseLost", err)
		}
		if held, _ := e.s.HoldAccessLease(ctx, e.tenant, "r2", time.Minute); held {
			t.Error("r2 took r1's lease")
		}
		must(t, e.s.ReleaseAccessLease(ctx, e.tenant, "r2")) // not r2's: stays
		if held, _ := e.s.HoldAccessLease(ctx, e.tenant, "r1", time.Minute); !held {
			t.Error("r1's lease was lost")
		}
		if held, _ := e.s.RenewAccessLease(ctx, e.tenant, "r1", time.Minute); !held {
			t.Error("r1's lease not renewed")
		}
		if held, _ := e.s.RenewAccessLease(ctx, e.tenant, "r2", time.Minute); held {
			t.Error("r2 renewed r1's lease")
		}
		must(t, e.s.ReleaseAccessLease(ctx, e.tenant, "r1"))
		if held, _ := e.s.RenewAccessLease(ctx, e.tenant, "r1", time.Minute); held {
			t.Error("a released lease was renewed (taken again)")
		}
		if held, _ := e.s.HoldAccessLease(ctx, e.tenant, "r2", time.Minute); !held {
			t.Error("released lease not taken")
		}

		// No such tenant.
		_, err = e.s.WriteDecisions(ctx, "st-none", DecisionBatch{})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("no tenant: %v", err)
		}
	})
}

// TestWriteDecisionsFinish: the last batch of a cause drops the outbox
// entries up to it, clears the job and appends one audit event if users
// were affected.
func TestWriteDecisionsFinish(t *testing.T) {
	run(t, Options{Clock: func() time.Time { return t0 }}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, id := range []string{"u1", "u2"} {
			must(t, e.s.CreateUser(ctx, e.tenant, user(id, id), nil))
		}
		var outbox []string
		for range 3 {
			id, err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: accessOutboxKey(e.tenant), Values: []any{"k", "users", "id", "u1", "g", "1", "c", "{}"}}).Result()
			must(t, err)
			outbox = append(outbox, id)
		}
		auditBefore, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
		must(t, err)
		tpl := []byte(`{"action":"access.change","actor":null,"targetId":"g1"}`)
		for i, id := range []string{"u1", "u2"} {
			b := DecisionBatch{Records: []DecisionWrite{{User: id, Record: []byte(`{}`), Entry: []byte(`{"user":"` + id + `"}`)}}, Job: true,
				State: map[string]string{"job_cause": "x"}}
			if i == 1 {
				b.Resolved, b.Audit, b.State = outbox[1], tpl, map[string]string{"cursor": outbox[1], "resolved_gen": "2"}
			}
			_, err := e.s.WriteDecisions(ctx, e.tenant, b)
			must(t, err)
		}
		state, err := e.rdb.HGetAll(ctx, accessStateKey(e.tenant)).Result()
		must(t, err)
		if d := cmp.Diff(map[string]string{"cursor": outbox[1], "resolved_gen": "2"}, state); d != "" {
			t.Errorf("state (-want +got):\n%s", d)
		}
		left, err := e.rdb.XRange(ctx, accessOutboxKey(e.tenant), "-", "+").Result()
		must(t, err)
		if len(left) != 1 || left[0].ID != outbox[2] {
			t.Errorf("outbox left %v, want only %s", left, outbox[2])
		}
		ids, _ := feed(t, e)
		audit, err := e.s.ReadAudit(ctx, e.tenant, "", 1)
		must(t, err)
		if n, _ := e.rdb.XLen(ctx, auditKey(e.tenant)).Result(); n != auditBefore+1 {
			t.Fatalf("audit grew by %d, want 1", n-auditBefore)
		}
		var ev map[string]any
		must(t, json.Unmarshal(audit[0].Event, &ev))
		want := []any{
			map[string]any{"attribute": "usersAffected", "new": float64(2)},
			map[string]any{"attribute": "feed", "new": map[string]any{"first": ids[0], "last": ids[1]}},
		}
		if d := cmp.Diff(want, ev["changes"]); d != "" || ev["action"] != "access.change" || ev["actor"] != nil {
			t.Errorf("audit event %s (-want +got changes):\n%s", audit[0].Event, d)
		}

		// A cause that changed nobody's access has no audit event.
		_, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Job: true, Resolved: outbox[2], Audit: tpl,
			Records: []DecisionWrite{{User: "u1", Read: []byte(`{}`), Record: []byte(`{}`)}}})
		must(t, err)
		if n, _ := e.rdb.XLen(ctx, auditKey(e.tenant)).Result(); n != auditBefore+1 {
			t.Errorf("audit grew by %d, want still 1", n-auditBefore)
		}
		if n, _ := e.rdb.XLen(ctx, accessOutboxKey(e.tenant)).Result(); n != 0 {
			t.Errorf("outbox holds %d, want 0", n)
		}
	})
}

// TestFeedRetention: the feed keeps FeedMaxLen entries and none older than
// FeedMaxAge; the floor names the newest trimmed.
func TestFeedRetention(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		writes  int
		keep    int // entries kept of the last write's
		trimmed int // index (0-based, over all entries) of the floor; -1 none
	}{
		{"within bounds", Options{FeedMaxLen: 10}, 3, 3, -1},
		{"by length", Options{FeedMaxLen: 2}, 5, 2, 2},
		{"by age", Options{FeedMaxLen: 100, FeedMaxAge: time.Hour, Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }}, 3, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, tt.opts, 10, func(t *testing.T, e env) {
				ctx := t.Context()
				must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "one"), nil))
				var all []string
				var read []byte
				for i := range tt.writes {
					rec := []byte(`{"n":` + string(rune('0'+i)) + `}`)
					res, err := e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{{User: "u1", Read: read, Record: rec, Entry: []byte(`{}`)}}})
					must(t, err)
					read = rec
					if res.First != "" {
						all = append(all, res.First)
					}
				}
				ids, _ := feed(t, e)
				if len(ids) != tt.keep {
					t.Errorf("feed holds %d, want %d", len(ids), tt.keep)
				}
				floor, err := e.rdb.Get(ctx, accessFeedFloorKey(e.tenant)).Result()
				want := ""
				if tt.trimmed >= 0 {
					want = all[tt.trimmed]
				}
				if isNil(err) {
					err = nil
				}
				must(t, err)
				if floor != want {
					t.Errorf("floor = %q, want %q (entries %v)", floor, want, all)
				}
			})
		})
	}
}

// TestFeedRetentionTrims: over a feed already holding entries, entries
// older than FeedMaxAge go and newer ones stay; beyond FeedMaxLen the
// oldest go, several at once; the floor names the newest that went.
func TestFeedRetentionTrims(t *testing.T) {
	at := time.UnixMilli(2500).Add(time.Hour)
	const century = 100 * 365 * 24 * time.Hour // the entries' ids are from 1970
	tests := []struct {
		name  string
		opts  Options
		keep  []string // of the entries there before
		floor string
	}{
		{"by age", Options{FeedMaxLen: 100, FeedMaxAge: time.Hour, Clock: func() time.Time { return at }}, []string{"3000-0"}, "2000-1"},
		{"by length", Options{FeedMaxLen: 2, FeedMaxAge: century}, []string{"3000-0"}, "2000-1"},
		{"by length, none over", Options{FeedMaxLen: 5, FeedMaxAge: century}, []string{"1000-0", "2000-0", "2000-1", "3000-0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, tt.opts, 10, func(t *testing.T, e env) {
				ctx := t.Context()
				must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "one"), nil))
				for _, id := range []string{"1000-0", "2000-0", "2000-1", "3000-0"} {
					must(t, e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: accessFeedKey(e.tenant), ID: id, Values: []string{"e", "{}"}}).Err())
				}
				res, err := e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{{User: "u1", Record: []byte(`{}`), Entry: []byte(`{}`)}}})
				must(t, err)
				ids, _ := feed(t, e)
				if diff := cmp.Diff(append(tt.keep, res.First), ids); diff != "" {
					t.Errorf("feed (-want +got):\n%s", diff)
				}
				floor, err := e.rdb.Get(ctx, accessFeedFloorKey(e.tenant)).Result()
				if isNil(err) {
					err = nil
				}
				must(t, err)
				if floor != tt.floor {
					t.Errorf("floor = %q, want %q", floor, tt.floor)
				}
			})
		})
	}
}

func TestNextStreamID(t *testing.T) {
	for in, want := range map[string]string{"5-0": "5-1", "5": "5-1", "7-18446744073709551615": "8-0"} {
		got, err := nextStreamID(in)
		if err != nil || got != want {
			t.Errorf("nextStreamID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := nextStreamID("x"); err == nil {
		t.Error("nextStreamID(x) took it")
	}
}
