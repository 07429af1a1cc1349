package storage

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestWebhookStore(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		s, ten := e.s, e.tenant
		if _, err := s.GetWebhook(ctx, ten); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get before put: %v", err)
		}
		checkErr(t, s.PutWebhook(ctx, "no-such-"+ten, "https://x.example/", "s", t0), ErrNotFound)
		last, err := s.AppendFeedForTest(ctx, ten, []byte(`{"user":"u0"}`))
		must(t, err)
		must(t, s.PutWebhook(ctx, ten, "https://a.example/", "s1", t0))
		t.Cleanup(func() { _ = s.ForgetWebhook(ctx, ten) })
		h, err := s.GetWebhook(ctx, ten)
		must(t, err)
		if h.URL != "https://a.example/" || h.Secret != "s1" || !h.Created.Equal(t0) || h.Cursor != last {
			t.Fatalf("webhook %+v, want cursor at the feed's end %s", h, last)
		}
		ts, err := s.WebhookTenants(ctx)
		must(t, err)
		if !slices.Contains(ts, ten) {
			t.Errorf("%s not listed: %v", ten, ts)
		}

		// Only the lease holder records progress.
		checkErr(t, s.RecordWebhookProgress(ctx, ten, "r1", WebhookProgress{Cursor: "9-9"}), ErrNotFound)
		ok, err := s.AcquireWebhookLease(ctx, ten, "r1", time.Minute)
		if err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		if ok, _ := s.AcquireWebhookLease(ctx, ten, "r2", time.Minute); ok {
			t.Error("a second replica took a held lease")
		}
		checkErr(t, s.RenewWebhookLease(ctx, ten, "r2", time.Minute), ErrNotFound)
		must(t, s.RenewWebhookLease(ctx, ten, "r1", time.Minute))
		checkErr(t, s.RecordWebhookProgress(ctx, ten, "r2", WebhookProgress{Cursor: "9-9"}), ErrNotFound)
		must(t, s.RecordWebhookProgress(ctx, ten, "r1", WebhookProgress{Attempt: t0, Status: 500, Error: "the receiver answered 500", Failures: 1}))
		must(t, s.RecordWebhookProgress(ctx, ten, "r1", WebhookProgress{Cursor: "5-1", Delivered: 3, Attempt: t0.Add(time.Second), Success: true, Status: 200}))
		must(t, s.RecordWebhookProgress(ctx, ten, "r1", WebhookProgress{Cursor: "6-1", Attempt: t0.Add(2 * time.Second), Status: 503, Error: "the receiver answered 503",
			Dead: &DeadLetter{First: "5-2", Last: "6-1", Count: 2, Attempts: 8, Error: "the receiver answered 503"}}))
		h, err = s.GetWebhook(ctx, ten)
		must(t, err)
		if h.Cursor != "6-1" || h.Delivered != 3 || h.LastStatus != 503 || h.Failures != 0 || !h.LastSuccess.Equal(t0.Add(time.Second)) ||
			!h.LastAttempt.Equal(t0.Add(2*time.Second)) || h.Deliverer != "r1" || h.DeadLetters != 1 || len(h.RecentDead) != 1 {
			t.Fatalf("status %+v", h)
		}
		if d := h.RecentDead[0]; d.First != "5-2" || d.Last != "6-1" || d.Count != 2 || d.Attempts != 8 || d.At.IsZero() {
			t.Errorf("dead letter %+v", d)
		}

		// A new URL keeps the cursor and clears the status.
		must(t, s.PutWebhook(ctx, ten, "https://b.example/", "s2", t0))
		h, err = s.GetWebhook(ctx, ten)
		must(t, err)
		if h.URL != "https://b.example/" || h.Cursor != "6-1" || h.Delivered != 0 || h.Secret != "s2" {
			t.Errorf("after a new URL: %+v", h)
		}

		must(t, s.RenewWebhookLease(ctx, ten, "r1", 0))
		checkErr(t, s.RenewWebhookLease(ctx, ten, "r1", time.Minute), ErrNotFound)
		must(t, s.DeleteWebhook(ctx, ten))
		checkErr(t, s.DeleteWebhook(ctx, ten), ErrNotFound)
		if _, err := s.GetWebhook(ctx, ten); !errors.Is(err, ErrNotFound) {
			t.Errorf("get after delete: %v", err)
		}
		ts, err = s.WebhookTenants(ctx)
		must(t, err)
		if slices.Contains(ts, ten) {
			t.Errorf("%s still listed", ten)
		}
		// Progress for a deleted webhook: the lease went with it.
		ok, _ = s.AcquireWebhookLease(ctx, ten, "r1", time.Minute)
		if !ok {
			t.Fatal("lease after delete")
		}
		checkErr(t, s.RecordWebhookProgress(ctx, ten, "r1", WebhookProgress{}), ErrNotFound)
		must(t, s.TenantExists(ctx, ten))
		checkErr(t, s.TenantExists(ctx, "no-such-"+ten), ErrNotFound)
	})
}
