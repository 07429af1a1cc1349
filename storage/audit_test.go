package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAudit(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		// Every write script appends its event; nil appends nothing.
		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "alice"), []byte(`{"n":1}`)))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "bob"), nil))
		u, err := e.s.GetUser(ctx, e.tenant, "u1")
		must(t, err)
		next := u
		next.Version++
		must(t, e.s.UpdateUser(ctx, e.tenant, u, next, []byte(`{"n":2}`)))
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g", "G"), []string{"u1"}, []byte(`{"n":3}`)))
		g, err := e.s.GetGroup(ctx, e.tenant, "g")
		must(t, err)
		ng := g
		ng.Version++
		must(t, e.s.UpdateGroup(ctx, e.tenant, g, ng, MemberChange{Add: []string{"u2"}}, []byte(`{"n":4}`)))
		must(t, e.s.AppendAudit(ctx, e.tenant, []byte(`{"n":5}`)))
		must(t, e.s.DeleteGroup(ctx, e.tenant, "g", []byte(`{"n":6}`)))
		must(t, e.s.DeleteUser(ctx, e.tenant, "u1", []byte(`{"n":7}`)))

		all, err := e.s.ReadAudit(ctx, e.tenant, "", 100)
		must(t, err)
		var events []string
		for _, a := range all {
			events = append(events, string(a.Event))
			ms, err := parseStreamID(a.ID)
			must(t, err)
			if a.Time.UnixMilli() != ms {
				t.Errorf("entry %s: Time %v", a.ID, a.Time)
			}
		}
		wantEvents := []string{`{"n":7}`, `{"n":6}`, `{"n":5}`, `{"n":4}`, `{"n":3}`, `{"n":2}`, `{"n":1}`}
		if d := cmp.Diff(wantEvents, events); d != "" {
			t.Fatalf("events newest first (-want +got):\n%s", d)
		}

		// Paging: each page is strictly older than the last id seen.
		var paged []string
		before := ""
		for {
			page, err := e.s.ReadAudit(ctx, e.tenant, before, 3)
			must(t, err)
			if len(page) == 0 {
				break
			}
			for _, a := range page {
				paged = append(paged, string(a.Event))
			}
			before = page[len(page)-1].ID
		}
		if d := cmp.Diff(wantEvents, paged); d != "" {
			t.Errorf("paged events (-want +got):\n%s", d)
		}

		tests := []struct {
			name   string
			before string
			count  int
			want   error
			n      int
		}{
			{"count 0", "", 0, nil, 0},
			{"before 0-0", "0-0", 10, nil, 0},
			{"before ms only", strings.SplitN(all[0].ID, "-", 2)[0], 100, nil, -1},
			{"before not an id", "yesterday", 10, errPlain, 0},
			{"before with a bad seq", "1-x", 10, errPlain, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := e.s.ReadAudit(ctx, e.tenant, tt.before, tt.count)
				checkErr(t, err, tt.want)
				if tt.n >= 0 && len(got) != tt.n {
					t.Errorf("%d entries, want %d", len(got), tt.n)
				}
			})
		}

		checkErr(t, e.s.AppendAudit(ctx, randomTenantID(t), []byte(`{}`)), ErrNotFound)
		checkErr(t, e.s.AppendAudit(ctx, "a}b", []byte(`{}`)), ErrNotFound)
		none, err := e.s.ReadAudit(ctx, randomTenantID(t), "", 10)
		must(t, err)
		if len(none) != 0 {
			t.Errorf("ReadAudit of a missing tenant = %v", none)
		}
	})
}

// With no minimum age, the oldest events beyond the limit are trimmed: after
// many appends the stream is bounded, never below the limit.
func TestAuditTrimmed(t *testing.T) {
	const limit, appends = 10, 250
	run(t, Options{AuditMaxLen: limit}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for i := range appends {
			must(t, e.s.AppendAudit(ctx, e.tenant, fmt.Appendf(nil, `{"i":%d}`, i)))
		}
		n, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
		must(t, err)
		if n < limit || n > appends-100 {
			t.Errorf("stream length %d after %d appends with MAXLEN ~ %d", n, appends, limit)
		}
		newest, err := e.s.ReadAudit(ctx, e.tenant, "", 1)
		must(t, err)
		if d := cmp.Diff(fmt.Sprintf(`{"i":%d}`, appends-1), string(newest[0].Event)); d != "" {
			t.Errorf("newest (-want +got):\n%s", d)
		}
	})
}

// TestAuditMinAge: events younger than AuditMinAge are never trimmed. A
// write whose event would push one out is refused whole (its own change is
// not made either), saying when the youngest such event comes of age; once
// they are old enough (the store's clock moves: no sleep), writes pass and
// the oldest are trimmed to the limit. Before, MAXLEN ~ trimmed whatever
// the age, so a burst of writes pushed recent events out.
func TestAuditMinAge(t *testing.T) {
	const limit = 5
	var mu sync.Mutex
	var now time.Time
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	run(t, Options{AuditMaxLen: limit, AuditMinAge: time.Hour, Clock: clock}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		mu.Lock()
		now = time.Now()
		mu.Unlock()
		for i := range limit {
			must(t, e.s.AppendAudit(ctx, e.tenant, fmt.Appendf(nil, `{"i":%d}`, i)))
		}
		oldest, err := e.rdb.XRange(ctx, auditKey(e.tenant), "-", "+").Result()
		must(t, err)
		err = e.s.AppendAudit(ctx, e.tenant, []byte(`{"i":"refused"}`))
		var full *AuditFullError
		if !errors.As(err, &full) {
			t.Fatalf("append over the limit of young events: %v, want *AuditFullError", err)
		}
		ms, _ := parseStreamID(oldest[0].ID)
		if !full.Youngest.Equal(time.UnixMilli(ms)) || !full.Retry.Equal(full.Youngest.Add(time.Hour)) {
			t.Errorf("refusal %+v, want youngest %v and retry an hour later", full, time.UnixMilli(ms))
		}
		// A write script refuses before it writes anything.
		_, err = e.s.PutAccount(ctx, e.tenant, Account{ID: "a1", Name: "A", Created: t0}, []byte(`{"i":"account"}`))
		if !errors.As(err, &full) {
			t.Fatalf("PutAccount: %v, want *AuditFullError", err)
		}
		accounts, err := e.s.ListAccounts(ctx, e.tenant)
		must(t, err)
		if len(accounts) != 0 {
			t.Errorf("a refused write left %v", accounts)
		}
		// A change without an event is not held back.
		_, err = e.s.PutAccount(ctx, e.tenant, Account{ID: "a2", Name: "B", Created: t0}, nil)
		must(t, err)

		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		must(t, e.s.AppendAudit(ctx, e.tenant, []byte(`{"i":"later"}`)))
		after, err := e.rdb.XRange(ctx, auditKey(e.tenant), "-", "+").Result()
		must(t, err)
		if len(after) != limit || after[0].ID != oldest[1].ID || after[limit-1].Values[auditField] != `{"i":"later"}` {
			t.Errorf("after aging: %d events from %s to %v, want %d from %s", len(after), after[0].ID, after[len(after)-1].Values, limit, oldest[1].ID)
		}
	})
}

// TestAuditLimitLowered: a stream longer than the limit (the limit was
// lowered) shrinks at most 100 events per append, and only by events older
// than the minimum age.
func TestAuditLimitLowered(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for i := range 150 {
			must(t, e.s.AppendAudit(ctx, e.tenant, fmt.Appendf(nil, `{"i":%d}`, i)))
		}
		later := New(e.rdb, Options{AuditMaxLen: 10, AuditMinAge: time.Hour, Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		for i, want := range []int64{51, 10} {
			must(t, later.AppendAudit(ctx, e.tenant, []byte(`{}`)))
			n, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
			must(t, err)
			if n != want {
				t.Errorf("append %d: %d events, want %d", i+1, n, want)
			}
		}
		young := New(e.rdb, Options{AuditMaxLen: 5, AuditMinAge: time.Hour})
		var full *AuditFullError
		if err := young.AppendAudit(ctx, e.tenant, []byte(`{}`)); !errors.As(err, &full) {
			t.Errorf("lowering the limit below young events: %v, want *AuditFullError", err)
		}
	})
}
