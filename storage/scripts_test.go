package storage

import (
	"context"
	"fmt"
	"testing"
)

// reply is a Redis error reply, as go-redis types them.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

// TestSlotMapStale: which failures of a write on a cluster make the slot map
// worth reloading.
func TestSlotMapStale(t *testing.T) {
	dead := openClient(t, "redis://127.0.0.1:1/0?dial_timeout=100ms")
	dialErr := dead.Ping(t.Context()).Err()
	if dialErr == nil {
		t.Fatal("something answers on port 1")
	}
	for _, tc := range []struct {
		name  string
		err   error
		stale bool
	}{
		{"moved", reply("MOVED 3999 127.0.0.1:7102"), true},
		{"ask", reply("ASK 3999 127.0.0.1:7102"), true},
		{"demoted master", reply("READONLY You can't write against a read only replica."), true},
		{"cluster down", reply("CLUSTERDOWN The cluster is down"), true},
		{"wrapped", fmt.Errorf("eval: %w", reply("MOVED 1 a:1")), true},
		{"no answer", dialErr, true},
		{"timeout", context.DeadlineExceeded, true},
		{"a script's own error: the map is fine", reply("ERR user_script:1: oops"), false},
		{"NOSCRIPT", reply("NOSCRIPT No matching script."), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slotMapStale(tc.err); got != tc.stale {
				t.Fatalf("slotMapStale(%v) = %v, want %v", tc.err, got, tc.stale)
			}
		})
	}
}
