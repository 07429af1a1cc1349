package rollout_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// stores returns a store on an embedded Redis and, with REDIS_URL, one on
// that Redis, each with rollout keys of its own (dropped at the end).
func stores(t *testing.T) map[string]*storage.Store {
	t.Helper()
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	urls := map[string]string{"miniredis": e.URL()}
	if url := os.Getenv("REDIS_URL"); url != "" {
		urls["redis"] = url
	}
	out := map[string]*storage.Store{}
	for name, url := range urls {
		rdb, err := storage.NewClient(url)
		if err != nil {
			t.Fatal(err)
		}
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		tag := "test-" + hex.EncodeToString(b[:])
		t.Cleanup(func() {
			if err := rdb.Del(context.Background(), "{"+tag+"}:replicas", "{"+tag+"}:active").Err(); err != nil {
				t.Errorf("del rollout keys: %v", err)
			}
			if err := rdb.Close(); err != nil {
				t.Error(err)
			}
		})
		out[name] = storage.New(rdb, storage.Options{PolicyKeyTag: tag})
	}
	return out
}

// editedPolicies is a copy of the built-in policies with the Group Manager
// penalty changed: another revision.
func editedPolicies(t *testing.T) *policies.Engine {
	t.Helper()
	eng, err := rollout.PenaltyEngineForTest()
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRollingDeploy: two replicas on one store, one engine with the
// built-in policies and one with an edited copy. The old revision stays
// active until both run the new one; a replica that stops beating stops
// holding the rollout back once its entry expires.
func TestRollingDeploy(t *testing.T) {
	oldEng, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	newEng := editedPolicies(t)
	oldRev, newRev := oldEng.Revision(), newEng.Revision()
	if oldRev == newRev {
		t.Fatal("the edited copy has the built-in revision")
	}
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			clk := &clock{t: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			replica := func(id string, eng *policies.Engine) *rollout.Heartbeat {
				return rollout.New(st, rollout.Options{Replica: id, Revision: eng.Revision(), Interval: time.Second, Clock: clk.now, Log: log})
			}
			beat := func(h *rollout.Heartbeat) rollout.State {
				t.Helper()
				s, err := h.Beat(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			active := func(h *rollout.Heartbeat) string {
				t.Helper()
				rev, err := h.ActiveRevision(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return rev
			}

			a, b := replica("a", oldEng), replica("b", oldEng)
			beat(a)
			if s := beat(b); !s.Serving() || s.Active != oldRev {
				t.Fatalf("both on the old revision: %+v", s)
			}
			// b is redeployed with the edited policies.
			if err := b.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			b2 := replica("b2", newEng)
			s := beat(b2)
			if s.Serving() || s.Active != oldRev || active(b2) != oldRev {
				t.Fatalf("mixed deploy: the new revision is active: %+v", s)
			}
			if diff := cmp.Diff(map[string]int{oldRev: 1, newRev: 1}, s.Revisions); diff != "" {
				t.Errorf("revisions (-want +got):\n%s", diff)
			}
			if d := s.Detail(); !strings.Contains(d, newRev+" is not active") || !strings.Contains(d, "active: "+oldRev) {
				t.Errorf("detail %q does not say the revision is not active", d)
			}
			if !strings.Contains(logs.String(), "is not active") {
				t.Errorf("no log line says the revision is not active:\n%s", logs.String())
			}
			if s := beat(a); !s.Serving() {
				t.Fatalf("a, on the active revision, does not serve it: %+v", s)
			}
			// a is redeployed too: now every live replica runs the new one.
			if err := a.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			a2 := replica("a2", newEng)
			if s := beat(a2); !s.Serving() || s.Active != newRev || active(a2) != newRev {
				t.Fatalf("every replica on the new revision, not active: %+v", s)
			}
			if s := beat(b2); !s.Serving() {
				t.Fatalf("b2 does not see the new revision active: %+v", s)
			}

			// A replica on the old revision that then crashes (never
			// leaves) holds the next rollout only until it expires.
			c := replica("c", oldEng)
			if s := beat(c); s.Serving() || s.Active != newRev {
				t.Fatalf("a late old replica took the rollout back: %+v", s)
			}
			clk.add(2 * time.Second)
			beat(a2)
			if s := beat(b2); s.Live != 3 {
				t.Fatalf("c expired too early: %+v", s)
			}
			clk.add(2 * time.Second) // c last beat 4s ago, over 3 intervals
			if s := beat(a2); s.Live != 2 || !s.Serving() {
				t.Fatalf("c did not expire: %+v", s)
			}
		})
	}
}

// beats is told of each beat.
type beats chan storage.Rollout

func (b beats) PolicyRollout(_ string, r storage.Rollout) {
	select {
	case b <- r:
	default:
	}
}

// TestRunLeavesOnStop: Run beats at once and drops the replica when its
// context ends, so that the rollout does not wait for the entry to expire.
func TestRunLeavesOnStop(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			other := rollout.New(st, rollout.Options{Replica: "other", Revision: "r2"})
			beaten := make(beats, 1)
			h := rollout.New(st, rollout.Options{Replica: "h", Revision: "r1", Interval: time.Hour, Metrics: beaten})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { defer close(done); h.Run(ctx) }()
			<-beaten
			if s, err := other.Beat(t.Context()); err != nil || s.Live != 2 {
				t.Fatalf("with h running: %+v, %v", s, err)
			}
			cancel()
			<-done
			s, err := other.Beat(t.Context())
			if err != nil || s.Live != 1 || s.Active != "r2" {
				t.Fatalf("after h stopped: %+v, %v", s, err)
			}
		})
	}
}
