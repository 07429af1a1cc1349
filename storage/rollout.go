package storage

import (
	"context"
	_ "embed"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy rollout (issue 12): every replica records the policy revision it
// runs; the revision every live replica runs is the active one, and only the
// replicas running it re-decide stored access. The keys are global (not a
// tenant's), share one hash tag so that the script is legal on Redis
// Cluster, and never enter a tenant's script.

var (
	//go:embed lua/policy_heartbeat.lua
	policyHeartbeatLua    string
	policyHeartbeatScript = redis.NewScript(policyHeartbeatLua)
)

// Rollout is where a policy rollout stands, as one heartbeat saw it.
type Rollout struct {
	// Active is the active revision: the one every live replica ran when
	// they last all agreed. Empty until that first happened.
	Active string
	// Live is the number of replicas that beat within the live time.
	Live int
	// Revisions counts the live replicas by the revision they run.
	Revisions map[string]int
}

// PolicyHeartbeat records that replica runs revision at now (or, with
// leave, that it stopped: a clean shutdown), drops the replicas that have
// not beaten within live, and makes the revision every live replica runs
// the active one; while they run several, the active revision stays. It
// returns where the rollout stands. Returns ErrUnavailable.
func (s *Store) PolicyHeartbeat(ctx context.Context, replica, revision string, now time.Time, live time.Duration, leave bool) (Rollout, error) {
	const op = "policy heartbeat"
	flag := "0"
	if leave {
		flag = "1"
	}
	// Not s.eval: a heartbeat is idempotent, and must not wait for Redis
	// replicas (WaitReplicas) to say the replica is alive.
	res, err := policyHeartbeatScript.Run(ctx, s.rdb,
		[]string{policyReplicasKey(s.opts.PolicyKeyTag), policyActiveKey(s.opts.PolicyKeyTag)},
		replica, revision, now.UnixMilli(), live.Milliseconds(), flag).Result()
	if err != nil {
		return Rollout{}, unavailable(op, err)
	}
	arr, ok := res.([]any)
	if !ok || len(arr) < 2 || len(arr)%2 != 0 {
		return Rollout{}, unavailable(op, badReply("%T %v", res, res))
	}
	active, ok1 := arr[0].(string)
	n, ok2 := arr[1].(int64)
	if !ok1 || !ok2 {
		return Rollout{}, unavailable(op, badReply("%v", arr[:2]))
	}
	out := Rollout{Active: active, Live: int(n), Revisions: make(map[string]int, (len(arr)-2)/2)}
	for i := 2; i < len(arr); i += 2 {
		rev, ok1 := arr[i].(string)
		c, ok2 := arr[i+1].(int64)
		if !ok1 || !ok2 {
			return Rollout{}, unavailable(op, badReply("%v %v", arr[i], arr[i+1]))
		}
		out.Revisions[rev] = int(c)
	}
	return out, nil
}

// ActivePolicyRevision returns the active policy revision ("" while none
// was ever decided). Returns ErrUnavailable.
func (s *Store) ActivePolicyRevision(ctx context.Context) (string, error) {
	rev, err := s.rdb.Get(ctx, policyActiveKey(s.opts.PolicyKeyTag)).Result()
	if err != nil && !isNil(err) {
		return "", unavailable("active policy revision", err)
	}
	return rev, nil
}

// SortedRevisions returns the revisions of r, most replicas first, then by
// name.
func (r Rollout) SortedRevisions() []string {
	out := make([]string, 0, len(r.Revisions))
	for rev := range r.Revisions {
		out = append(out, rev)
	}
	sort.Slice(out, func(i, j int) bool {
		if r.Revisions[out[i]] != r.Revisions[out[j]] {
			return r.Revisions[out[i]] > r.Revisions[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}
