package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/storage/redistest"
)

// TestSentinelFailover runs scimd on redis+sentinel:// over a master, a
// replica and three sentinels of the test's own, and fails the master over
// three times while clients create users: twice by asking the sentinels
// (SENTINEL FAILOVER), once by killing the master with SIGKILL and
// starting it again once the replica is promoted. Through
// all, every answer is 201 or a clean 503 (never a 500 or a Redis error's
// text), creates succeed again once a replica is promoted, the users
// acknowledged before a failover (and replicated, WAIT) are all there after
// it, and the records stay consistent (`scimd check`: seats, indexes,
// listings).
//
// Redis replicates asynchronously, and the old master keeps taking writes
// until the client hears of the new one: without --redis-wait-replicas,
// creates acknowledged in that moment are lost with the old master (the
// first round reports how many). With --redis-wait-replicas 1, such a
// write is answered 503 instead, and no acknowledged create is lost.
func TestSentinelFailover(t *testing.T) {
	const name = "scimd-primary"
	// With AOF, as the README asks: a master killed and started again
	// comes back with its data and is made a replica of the new one. (An
	// empty restarted master could be taken for the master by a sentinel
	// that has not yet learnt of the failover, and empty its replicas:
	// Redis warns against running Sentinel without persistence.)
	aof := []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	servers := []*redistest.Server{redistest.Start(t, 0, redistest.Subdir(t, "a"), aof...)}
	servers = append(servers, redistest.Start(t, 0, redistest.Subdir(t, "b"), append(aof, "--replicaof", "127.0.0.1", strconv.Itoa(servers[0].Port))...))
	waitReplicated(t, servers[1])
	var sentinels []string
	var scs []*redis.SentinelClient
	for range 3 {
		sentinels = append(sentinels, redistest.StartSentinel(t, redistest.Subdir(t, fmt.Sprintf("s%d", len(sentinels))), name, servers[0].Addr(), 2).Addr())
	}
	for _, addr := range sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: addr})
		defer c.Close()
		scs = append(scs, c)
	}
	sc := scs[0]
	eventually(t, "the sentinels know the replica and each other", func() bool {
		replicas, err := sc.Replicas(t.Context(), name).Result()
		others, err2 := sc.Sentinels(t.Context(), name).Result()
		return err == nil && err2 == nil && len(replicas) == 1 && len(others) == 2
	})

	url := "redis+sentinel://" + strings.Join(sentinels, ",") + "/" + name
	plain := startReplica(t, "no wait", url)
	waiting := startReplica(t, "wait", url, "--redis-wait-replicas", "1")
	tn := newReplicaTenant(t, plain, 100000)

	// master is the server the sentinels name now.
	master := func() *redistest.Server {
		addr, err := sc.GetMasterAddrByName(t.Context(), name).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range servers {
			if s.Addr() == addr[0]+":"+addr[1] {
				return s
			}
		}
		t.Fatalf("the sentinels name %v, not one of ours", addr)
		return nil
	}
	askSentinels := func(*redistest.Server) {
		if err := sc.Failover(t.Context(), name).Err(); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name     string
		through  replica
		failover func(old *redistest.Server)
		promoted func(old *redistest.Server) // then
		mayLose  bool
	}{
		{"SENTINEL FAILOVER without wait", plain, askSentinels, nil, true},
		{"SENTINEL FAILOVER with wait", waiting, askSentinels, nil, false},
		// The new master has no replica left, so waiting writes are
		// refused until the killed server is back (with its AOF) and the
		// sentinels have made it a replica.
		{"master killed with wait", waiting, (*redistest.Server).Kill, (*redistest.Server).Restart, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.through
			var (
				mu       sync.Mutex
				acked    []string
				answered = map[int]int{}
				bad      []string
			)
			created := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
			// load creates users with four clients until it is stopped.
			load := func(prefix string) (stop func()) {
				done := make(chan struct{})
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Go(func() {
						for i := 0; ; i++ {
							select {
							case <-done:
								return
							default:
							}
							res := r.do(t, http.MethodPost, tn.users(), tn.scimToken, replicaUser(fmt.Sprintf("%s-%d-%d@example.com", prefix, w, i)))
							mu.Lock()
							answered[res.status]++
							switch {
							case res.status == http.StatusCreated:
								id, _ := res.json(t)["id"].(string)
								acked = append(acked, id)
							case res.status != http.StatusServiceUnavailable,
								bytes.Contains(bytes.ToLower(res.body), []byte("readonly")),
								bytes.Contains(bytes.ToLower(res.body), []byte("redis")):
								bad = append(bad, fmt.Sprintf("%d %s", res.status, res.body))
							}
							mu.Unlock()
							if res.status == http.StatusServiceUnavailable {
								time.Sleep(20 * time.Millisecond) // as a client honouring Retry-After would, sooner
							}
						}
					})
				}
				var once sync.Once
				return func() { once.Do(func() { close(done) }); wg.Wait() }
			}
			prefix := strings.ReplaceAll(tc.name, " ", "-")

			old := master()
			stop := load(prefix + "-before")
			defer stop() // also when the round fails
			eventually(t, "50 creates", func() bool { return created() >= 50 })
			stop()
			// What the master holds now, the replica has: it must survive.
			safe := created()
			// WAIT covers the writes of its own connection: one write here,
			// after every acknowledged create, makes it cover them all.
			oc := redis.NewClient(&redis.Options{Addr: old.Addr()})
			err := oc.Incr(t.Context(), "scimd-sentinel-test:probe").Err()
			n, werr := oc.Wait(t.Context(), 1, 5000).Result()
			oc.Close()
			err = errors.Join(err, werr)
			if err != nil || n < 1 {
				t.Fatalf("WAIT: %d replicas have the writes (%v)", n, err)
			}

			stop = load(prefix + "-during")
			defer stop()
			tc.failover(old)
			eventually(t, "a new master all sentinels agree on", func() bool {
				next := master()
				if next == old {
					return false
				}
				for _, c := range scs {
					addr, err := c.GetMasterAddrByName(t.Context(), name).Result()
					if err != nil || addr[0]+":"+addr[1] != next.Addr() {
						return false
					}
				}
				return true
			})
			if tc.promoted != nil {
				tc.promoted(old)
			}
			// Creates go through again once scimd follows the sentinels.
			after := created() + 50
			eventually(t, "50 creates on the new master", func() bool { return created() >= after })
			stop()

			mu.Lock()
			defer mu.Unlock()
			lost := 0
			for i, id := range acked {
				if status := r.do(t, http.MethodGet, tn.users()+"/"+id, tn.scimToken, nil).status; status != http.StatusOK {
					if i < safe {
						t.Errorf("user %s, created and replicated before the failover, reads %d after it", id, status)
					}
					lost++
				}
			}
			t.Logf("answers %v; %d of %d creates acknowledged during the failover were lost with the old master", answered, lost, len(acked)-safe)
			if lost > 0 && !tc.mayLose {
				t.Errorf("%d acknowledged creates lost with --redis-wait-replicas 1", lost)
			}
			if len(bad) > 0 {
				t.Errorf("%d answers other than 201 or a clean 503, e.g. %s", len(bad), bad[0])
			}
			if tc.promoted != nil {
				// Until the killed server is back as a replica, writes are
				// refused for want of one; an operator sees it in the metrics.
				metrics := string(r.want(t, http.StatusOK, http.MethodGet, "/metrics", "", nil).body)
				if !regexp.MustCompile(`(?m)^scimd_redis_unreplicated_writes_total [1-9]`).MatchString(metrics) {
					t.Errorf("scimd_redis_unreplicated_writes_total is not above 0 after %d answers 503", answered[http.StatusServiceUnavailable])
				}
			}

			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"check", "--redis-url", url, "--tenant", tn.id}, &out, &errOut); code != 0 {
				t.Errorf("scimd check after the failover: exit %d\n%s%s", code, out.String(), errOut.String())
			}
			// The old master must follow the new one before the next round
			// fails that over.
			waitReplicated(t, old)
		})
	}
}

// waitReplicated waits until s is a replica whose link to its master is up.
func waitReplicated(t *testing.T, s *redistest.Server) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer rdb.Close()
	eventually(t, s.Addr()+" replicating", func() bool {
		info, err := rdb.Info(t.Context(), "replication").Result()
		return err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up")
	})
}

// eventually polls cond every 50 ms for up to a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
