package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// TestReadyzPolicyRollout: while this replica's policy revision is not the
// active one (another live replica runs the old one), /readyz stays ready
// and says it serves the stored decisions, and the metric says 0; once the
// other replica is gone, both say it is active.
func TestReadyzPolicyRollout(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			var b [4]byte
			if _, err := rand.Read(b[:]); err != nil {
				t.Fatal(err)
			}
			tag := "test-" + hex.EncodeToString(b[:])
			rdb, err := storage.NewClient(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := rdb.Del(context.Background(), "{"+tag+"}:replicas", "{"+tag+"}:active").Err(); err != nil {
					t.Error(err)
				}
				if err := rdb.Close(); err != nil {
					t.Error(err)
				}
			})
			st := storage.New(rdb, storage.Options{PolicyKeyTag: tag})
			metrics := server.NewMetrics()
			me := rollout.New(st, rollout.Options{Replica: "me", Revision: "rev-new", Metrics: metrics})
			old := rollout.New(st, rollout.Options{Replica: "old", Revision: "rev-old"})
			h := newHarnessConfig(t, url, func(c *server.Config) { c.Metrics, c.PolicyRollout = metrics, me })
			ctx := t.Context()
			if _, err := old.Beat(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := me.Beat(ctx); err != nil {
				t.Fatal(err)
			}
			ready := h.do("GET", "/readyz", "", nil).want(200).json()
			if d, _ := ready["detail"].(string); !strings.Contains(d, "rev-new is not active (active: rev-old") || !strings.Contains(d, "serving the stored access decisions") {
				t.Errorf("readyz detail %q", d)
			}
			if got := path(ready, "policy", "serving"); got != false {
				t.Errorf("readyz policy.serving = %v, want false", got)
			}
			if got := rolloutGauge(h, "rev-new"); got != 0 {
				t.Errorf("scimd_policy_revision_active = %v, want 0", got)
			}
			if err := old.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := me.Beat(ctx); err != nil {
				t.Fatal(err)
			}
			ready = h.do("GET", "/readyz", "", nil).want(200).json()
			if d, ok := ready["detail"]; ok {
				t.Errorf("readyz detail %q on the active revision", d)
			}
			if got := path(ready, "policy", "active"); got != "rev-new" {
				t.Errorf("readyz policy.active = %v", got)
			}
			if got := rolloutGauge(h, "rev-new"); got != 1 {
				t.Errorf("scimd_policy_revision_active = %v, want 1", got)
			}
		})
	}
}

func rolloutGauge(h *harness, revision string) float64 {
	h.t.Helper()
	for _, s := range h.scrape() {
		if s.name == "scimd_policy_revision_active" && s.labels["revision"] == revision {
			return s.value
		}
	}
	h.t.Fatalf("no scimd_policy_revision_active{revision=%q}", revision)
	return -1
}
