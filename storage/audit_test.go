package storage

import (
	"fmt"
	"strings"
	"testing"

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

// MAXLEN ~ trims whole stream nodes on Redis (exactly on miniredis): after
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
