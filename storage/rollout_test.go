package storage

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rolloutStore is a store whose rollout keys carry a tag of their own, so
// that tests on a shared Redis never see another's replicas; the keys go
// when t ends.
func rolloutStore(t *testing.T, b backend) *Store {
	t.Helper()
	tag := randomTenantID(t)
	t.Cleanup(func() {
		if err := b.rdb.Del(context.Background(), policyReplicasKey(tag), policyActiveKey(tag)).Err(); err != nil {
			t.Errorf("del rollout keys: %v", err)
		}
	})
	return New(b.rdb, Options{PolicyKeyTag: tag})
}

// TestPolicyHeartbeat walks a rolling deploy from revision r1 to r2 over
// two replicas, one of which then stops beating, and a clean shutdown.
func TestPolicyHeartbeat(t *testing.T) {
	const live = 15 * time.Second
	type beat struct {
		name     string
		replica  string
		revision string
		at       time.Duration // after t0
		leave    bool
		want     Rollout
	}
	steps := []beat{
		{"first replica: its revision is active at once", "a", "r1", 0, false,
			Rollout{Active: "r1", Live: 1, Revisions: map[string]int{"r1": 1}}},
		{"second replica, same revision", "b", "r1", time.Second, false,
			Rollout{Active: "r1", Live: 2, Revisions: map[string]int{"r1": 2}}},
		{"a restarts on r2: mixed, r1 stays active", "a", "r2", 5 * time.Second, false,
			Rollout{Active: "r1", Live: 2, Revisions: map[string]int{"r1": 1, "r2": 1}}},
		{"a beats again: still mixed", "a", "r2", 10 * time.Second, false,
			Rollout{Active: "r1", Live: 2, Revisions: map[string]int{"r1": 1, "r2": 1}}},
		{"b restarts on r2: every live replica runs r2", "b", "r2", 12 * time.Second, false,
			Rollout{Active: "r2", Live: 2, Revisions: map[string]int{"r2": 2}}},
		{"c starts on r3 (a canary)", "c", "r3", 13 * time.Second, false,
			Rollout{Active: "r2", Live: 3, Revisions: map[string]int{"r2": 2, "r3": 1}}},
		{"c shuts down cleanly: r2 alone again", "c", "r3", 14 * time.Second, true,
			Rollout{Active: "r2", Live: 2, Revisions: map[string]int{"r2": 2}}},
		{"d starts on r3", "d", "r3", 20 * time.Second, false,
			Rollout{Active: "r2", Live: 3, Revisions: map[string]int{"r2": 2, "r3": 1}}},
		{"a and b stopped beating long ago (crashed): d alone, r3 active", "d", "r3", 20*time.Second + live + 13*time.Second, false,
			Rollout{Active: "r3", Live: 1, Revisions: map[string]int{"r3": 1}}},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := rolloutStore(t, b)
			if got, err := s.ActivePolicyRevision(t.Context()); err != nil || got != "" {
				t.Fatalf("ActivePolicyRevision before any beat = %q, %v; want empty", got, err)
			}
			for _, st := range steps {
				got, err := s.PolicyHeartbeat(t.Context(), st.replica, st.revision, t0.Add(st.at), live, st.leave)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if diff := cmp.Diff(st.want, got); diff != "" {
					t.Fatalf("%s (-want +got):\n%s", st.name, diff)
				}
				active, err := s.ActivePolicyRevision(t.Context())
				if err != nil || active != st.want.Active {
					t.Fatalf("%s: ActivePolicyRevision = %q, %v; want %q", st.name, active, err, st.want.Active)
				}
			}
		})
	}
}

// TestPolicyHeartbeatUnreadableEntry: an entry the script cannot read
// (written by hand, or by a future release in another shape) holds nothing
// back and is dropped.
func TestPolicyHeartbeatUnreadableEntry(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := rolloutStore(t, b)
			key := policyReplicasKey(s.opts.PolicyKeyTag)
			for field, v := range map[string]string{"x": "not json", "y": `{"revision":""}`, "z": `[1]`} {
				if err := b.rdb.HSet(t.Context(), key, field, v).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.PolicyHeartbeat(t.Context(), "a", "r1", t0, time.Minute, false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Rollout{Active: "r1", Live: 1, Revisions: map[string]int{"r1": 1}}, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			left, err := b.rdb.HKeys(t.Context(), key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"a"}, left); diff != "" {
				t.Errorf("entries left (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRolloutSortedRevisions(t *testing.T) {
	r := Rollout{Revisions: map[string]int{"b": 1, "a": 1, "c": 3}}
	if diff := cmp.Diff([]string{"c", "a", "b"}, r.SortedRevisions()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
