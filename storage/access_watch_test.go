package storage

import (
	"context"
	"slices"
	"testing"
	"time"
)

// watchEvent is one call a recordingWatcher got.
type watchEvent struct {
	kind   string // changed, subscribed, lost, heard
	tenant string
	users  []string
	at     time.Time
}

// recordingWatcher hands every call to a channel.
type recordingWatcher chan watchEvent

func (w recordingWatcher) Changed(tenant string, users []string) {
	w <- watchEvent{kind: "changed", tenant: tenant, users: users}
}
func (w recordingWatcher) Subscribed()        { w <- watchEvent{kind: "subscribed"} }
func (w recordingWatcher) Lost()              { w <- watchEvent{kind: "lost"} }
func (w recordingWatcher) Heard(at time.Time) { w <- watchEvent{kind: "heard", at: at} }

// await reads w until match accepts an event; a minute without is a failure.
func (w recordingWatcher) await(t *testing.T, what string, match func(watchEvent) bool) watchEvent {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-w:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within a minute", what)
		}
	}
}

// TestWatchAccessChanged: the script that writes decision records publishes
// the users it wrote or deleted (not those it skipped), a tenant's deletion
// publishes the tenant, and pings say up to when everything was heard.
func TestWatchAccessChanged(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		w := make(recordingWatcher, 10000)
		ready := e.s.WatchAccessChanged(ctx, w, 20*time.Millisecond)
		w.await(t, "subscription", func(ev watchEvent) bool { return ev.kind == "subscribed" })
		<-ready

		must(t, e.s.CreateUser(ctx, e.tenant, user("u1", "one"), nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u2", "two"), nil))
		_, err := e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{
			{User: "u1", Record: []byte(`{"a":1}`)},
			{User: "u2", Record: []byte(`{"a":2}`), Read: []byte(`{"not":"stored"}`)}, // a conflict: not written
			{User: "u3", Record: []byte(`{"a":3}`)},                                   // no such user: not written
		}})
		must(t, err)
		written := time.Now()
		ev := w.await(t, "change of "+e.tenant, func(ev watchEvent) bool { return ev.kind == "changed" && ev.tenant == e.tenant })
		if !slices.Equal(ev.users, []string{"u1"}) {
			t.Errorf("changed users %q, want [u1]", ev.users)
		}
		w.await(t, "ping after the write", func(ev watchEvent) bool { return ev.kind == "heard" && ev.at.After(written) })

		// A batch that writes nothing publishes nothing: the next change
		// heard is the next write's.
		_, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{{User: "u3", Record: []byte(`{"a":3}`)}}})
		must(t, err)
		_, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{{User: "u2", Read: []byte(`{"a":2}`), Record: nil}}})
		must(t, err) // u2 exists and has no record: a conflict
		must(t, e.s.DeleteUser(ctx, e.tenant, "u1", nil))
		_, err = e.s.WriteDecisions(ctx, e.tenant, DecisionBatch{Records: []DecisionWrite{{User: "u1", Read: []byte(`{"a":1}`)}}})
		must(t, err)
		ev = w.await(t, "deletion of u1's record", func(ev watchEvent) bool { return ev.kind == "changed" && ev.tenant == e.tenant })
		if !slices.Equal(ev.users, []string{"u1"}) {
			t.Errorf("changed users %q, want [u1]", ev.users)
		}

		other := newTenant(t, e.s, 1)
		must(t, e.s.DeleteTenant(ctx, other))
		ev = w.await(t, "deletion of "+other, func(ev watchEvent) bool { return ev.kind == "changed" && ev.tenant == other })
		if ev.users != nil {
			t.Errorf("tenant deletion named users %q, want none (all)", ev.users)
		}
	})
}

// TestWatchAccessChangedLoss: a broken subscription is Lost at once, and
// Subscribed again when Redis is back; changes flow again after it.
func TestWatchAccessChangedLoss(t *testing.T) {
	emb, err := StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	s := New(openClient(t, emb.URL()), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := make(recordingWatcher, 10000)
	s.WatchAccessChanged(ctx, w, 20*time.Millisecond)
	w.await(t, "subscription", func(ev watchEvent) bool { return ev.kind == "subscribed" })

	emb.srv.Close()
	w.await(t, "loss", func(ev watchEvent) bool { return ev.kind == "lost" })
	if err := emb.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	w.await(t, "subscription again", func(ev watchEvent) bool { return ev.kind == "subscribed" })
	must(t, s.PublishAccessChanged(ctx, "back"))
	w.await(t, "change after the loss", func(ev watchEvent) bool { return ev.kind == "changed" && ev.tenant == "back" })
}
