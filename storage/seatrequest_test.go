package storage

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSeatRequests: each return of add_seat_request (recorded, no tenant,
// audit full), the newest MaxSeatRequests kept newest first, the audit event
// in the same write, and the pipelined read over several tenants.
func TestSeatRequests(t *testing.T) {
	run(t, Options{}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		r := SeatRequest{ID: "r1", Time: t0, Seats: 10, Note: "hiring", By: "ann@example.com", Limit: 5, SeatsUsed: 5}
		must(t, e.s.AddSeatRequest(ctx, e.tenant, r, []byte(`{"action":"license.seats_requested"}`)))
		n, err := e.rdb.XLen(ctx, auditKey(e.tenant)).Result()
		must(t, err)
		if n != 1 {
			t.Errorf("%d audit events, want 1", n)
		}
		other := newTenant(t, e.s, 1)
		got, err := e.s.SeatRequests(ctx, []string{e.tenant, other})
		must(t, err)
		if d := cmp.Diff(map[string][]SeatRequest{e.tenant: {r}}, got); d != "" {
			t.Errorf("requests (-want +got):\n%s", d)
		}
		if err := e.s.AddSeatRequest(ctx, "st-gone0000", r, []byte(`{}`)); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown tenant: %v, want ErrNotFound", err)
		}
		for i := range MaxSeatRequests + 5 {
			must(t, e.s.AddSeatRequest(ctx, e.tenant, SeatRequest{ID: fmt.Sprint(i), Time: t0, Seats: int64(i + 1)}, []byte(`{}`)))
		}
		got, err = e.s.SeatRequests(ctx, []string{e.tenant})
		must(t, err)
		if l := got[e.tenant]; len(l) != MaxSeatRequests || l[0].ID != fmt.Sprint(MaxSeatRequests+4) {
			t.Errorf("%d requests kept, newest %q; want %d, newest %d", len(l), l[0].ID, MaxSeatRequests, MaxSeatRequests+4)
		}
	})
}

// TestSeatRequestAuditFull: a request whose audit event would push out an
// event younger than AuditMinAge is refused whole.
func TestSeatRequestAuditFull(t *testing.T) {
	run(t, Options{AuditMaxLen: 1, AuditMinAge: time.Hour}, 5, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.AppendAudit(ctx, e.tenant, []byte(`{}`)))
		err := e.s.AddSeatRequest(ctx, e.tenant, SeatRequest{ID: "r", Time: t0, Seats: 1}, []byte(`{}`))
		var full *AuditFullError
		if !errors.As(err, &full) {
			t.Fatalf("%v, want *AuditFullError", err)
		}
		got, err := e.s.SeatRequests(ctx, []string{e.tenant})
		must(t, err)
		if len(got) != 0 {
			t.Errorf("a refused request was kept: %v", got)
		}
	})
}
