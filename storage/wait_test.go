package storage

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/storage/redistest"
)

// TestWaitReplicas: with WaitReplicas a write is acknowledged only once a
// replica has it, and one no replica confirmed in time is ErrUnavailable.
// It needs a master and a replica of its own.
func TestWaitReplicas(t *testing.T) {
	master := redistest.Start(t, 0, redistest.Subdir(t, "master"))
	replica := redistest.Start(t, 0, redistest.Subdir(t, "replica"), "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	rc := openClient(t, replica.URL())
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := rc.Info(t.Context(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not link up: %v %s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mc := openClient(t, master.URL())
	s := New(mc, Options{WaitReplicas: 1, WaitTimeout: 200 * time.Millisecond})
	tenant := newTenant(t, s, 10) // its script waited too

	steps := []struct {
		name   string
		before func()
		s      *Store
		u      User
		want   string // "" for success, else a part of the ErrUnavailable message
	}{
		{name: "replicated", s: s, u: user("w1", "w1")},
		{name: "script not cached on the server (EVAL after NOSCRIPT)", s: s, u: user("w2", "w2"),
			before: func() { must(t, mc.ScriptFlush(t.Context()).Err()) }},
		{name: "more replicas asked than there are", s: New(mc, Options{WaitReplicas: 2, WaitTimeout: 100 * time.Millisecond}),
			u: user("w3", "w3"), want: "1 of 2 replicas confirmed the write within 100ms"},
		{name: "replica gone", s: s, u: user("w4", "w4"), want: "0 of 1 replicas confirmed the write within 200ms",
			before: replica.Kill},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			err := st.s.CreateUser(t.Context(), tenant, st.u, nil)
			if st.want == "" {
				must(t, err)
				// Acknowledged means the replica has it.
				if n, err := rc.Exists(t.Context(), userKey(tenant, st.u.ID)).Result(); err != nil || n != 1 {
					t.Fatalf("the replica lacks acknowledged user %s: %d, %v", st.u.ID, n, err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNotReplicated) || !strings.Contains(err.Error(), st.want) {
				t.Fatalf("got %v, want ErrUnavailable saying %q", err, st.want)
			}
			if strings.Count(err.Error(), "storage:") != 1 {
				t.Errorf("%q says storage: more than once", err)
			}
		})
	}
	// The replica is gone now. A refusal wrote nothing, so it stands as
	// itself (409, not 503), whatever WAIT would say.
	err := s.CreateUser(t.Context(), tenant, user("w5", "W1"), nil)
	var ue *UniquenessError
	if !errors.As(err, &ue) || errors.Is(err, ErrNotReplicated) {
		t.Fatalf("a refused create with no replica: %v, want the uniqueness error", err)
	}
}
