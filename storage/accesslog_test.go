package storage

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccessLog: WriteDecisions appends the sampled entries of the records
// it writes (never of a conflict or a user deleted meanwhile), trims the
// log to AccessLogMaxLen, and ReadAccessLog pages it newest first, by user.
func TestAccessLog(t *testing.T) {
	run(t, Options{AccessLogMaxLen: 3}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, u := range []string{"u1", "u2"} {
			must(t, e.s.CreateUser(ctx, e.tenant, user(u, u), nil))
		}
		entry := func(u string, gen int64) []byte {
			raw, err := json.Marshal(AccessLogEntry{User: u, Revision: "r", Generation: gen, At: t0})
			must(t, err)
			return raw
		}
		// u3 does not exist and u2's read record is not the stored one:
		// only u1's entry is appended.
		_, err := e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{
			{User: "u1", Record: []byte(`{}`), Log: entry("u1", 1)},
			{User: "u2", Read: []byte(`{"x":1}`), Record: []byte(`{}`), Log: entry("u2", 1)},
			{User: "u3", Record: []byte(`{}`), Log: entry("u3", 1)},
		}})
		must(t, err)
		got, next, err := e.s.ReadAccessLog(ctx, e.tenant, "", "", 10)
		must(t, err)
		if len(got) != 1 || got[0].User != "u1" || got[0].ID == "" || next != "" {
			t.Fatalf("log %+v, next %q; want u1's entry alone", got, next)
		}
		// Five more entries: the log keeps the newest three.
		for gen := int64(2); gen <= 6; gen++ {
			u := fmt.Sprintf("u%d", 1+gen%2)
			_, err := e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{
				{User: u, Record: fmt.Appendf(nil, `{"g":%d}`, gen), Read: readOf(t, e, u), Log: entry(u, gen)},
				{User: "u3", Record: []byte(`{}`)},
			}})
			must(t, err)
		}
		if n := e.rdb.XLen(ctx, accessLogKey(e.tenant)).Val(); n != 3 {
			t.Errorf("log length %d, want 3", n)
		}
		gens := func(es []AccessLogEntry) (out []string) {
			for _, e := range es {
				out = append(out, fmt.Sprintf("%s/%d", e.User, e.Generation))
			}
			return out
		}
		page, next, err := e.s.ReadAccessLog(ctx, e.tenant, "", "", 2)
		must(t, err)
		if d := cmp.Diff([]string{"u1/6", "u2/5"}, gens(page)); d != "" || next != page[1].ID {
			t.Errorf("first page (-want +got):\n%s next %q", d, next)
		}
		page, next, err = e.s.ReadAccessLog(ctx, e.tenant, "", next, 2)
		must(t, err)
		if d := cmp.Diff([]string{"u1/4"}, gens(page)); d != "" || next != "" {
			t.Errorf("last page (-want +got):\n%s next %q", d, next)
		}
		page, _, err = e.s.ReadAccessLog(ctx, e.tenant, "u2", "", 10)
		must(t, err)
		if d := cmp.Diff([]string{"u2/5"}, gens(page)); d != "" {
			t.Errorf("u2's entries (-want +got):\n%s", d)
		}
		if _, _, err := e.s.ReadAccessLog(ctx, e.tenant, "", "nonsense", 2); err == nil {
			t.Error("a cursor that is no stream id was accepted")
		}
	})
}

// readOf is the user's stored record, as the resolver reads it.
func readOf(t *testing.T, e env, u string) []byte {
	t.Helper()
	raw, err := e.s.AccessDecision(t.Context(), e.tenant, u)
	if err != nil {
		return nil
	}
	return raw
}
