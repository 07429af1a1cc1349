package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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
	// A name of this run's own: a sentinel of another run on this machine
	// (other packages' tests, other checkouts) that meets our servers on a
	// reused port ignores hello messages for a name it does not monitor.
	var rb [4]byte
	if _, err := rand.Read(rb[:]); err != nil {
		t.Fatal(err)
	}
	name := "scimd-primary-" + hex.EncodeToString(rb[:])
	// With AOF, as the README asks: a master killed and started again
	// comes back with its data and is made a replica of the new one. (An
	// empty restarted master could be taken for the master by a sentinel
	// that has not yet learnt of the failover, and empty its replicas:
	// Redis warns against running Sentinel without persistence.)
	aof := []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	servers := []*redistest.Server{redistest.Start(t, 0, redistest.Subdir(t, "a"), aof...)}
	servers = append(servers, redistest.Start(t, 0, redistest.Subdir(t, "b"), append(aof, "--replicaof", "127.0.0.1", strconv.Itoa(servers[0].Port))...))
	waitReplicated(t, func() (*redistest.Server, error) { return servers[0], nil })
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
	eventually(t, "the sentinels know the replica and each other", func() error {
		for _, c := range scs {
			replicas, err := c.Replicas(t.Context(), name).Result()
			others, err2 := c.Sentinels(t.Context(), name).Result()
			if err := errors.Join(err, err2); err != nil || len(replicas) != 1 || len(others) != 2 {
				return fmt.Errorf("a sentinel knows %d replicas and %d other sentinels (%v)", len(replicas), len(others), err)
			}
		}
		return nil
	})

	url := "redis+sentinel://" + strings.Join(sentinels, ",") + "/" + name
	plain := startReplica(t, "no wait", url)
	waiting := startReplica(t, "wait", url, "--redis-wait-replicas", "1")
	tn := newReplicaTenant(t, plain, 100000)

	// masterOf is the server sentinel c names now.
	masterOf := func(c *redis.SentinelClient) (*redistest.Server, error) {
		addr, err := c.GetMasterAddrByName(t.Context(), name).Result()
		if err != nil {
			return nil, err
		}
		for _, s := range servers {
			if s.Addr() == addr[0]+":"+addr[1] {
				return s, nil
			}
		}
		return nil, fmt.Errorf("the sentinel names %v, not one of ours", addr)
	}
	askSentinels := func(*redistest.Server) {
		if err := sc.Failover(t.Context(), name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Each sentinel announces the end of a failover on +switch-master.
	switched := make(chan string, 64)
	for _, c := range scs {
		ps := c.Subscribe(t.Context(), "+switch-master")
		defer ps.Close()
		if _, err := ps.Receive(t.Context()); err != nil { // the subscription is in place
			t.Fatal(err)
		}
		go func() {
			for msg := range ps.Channel() {
				if strings.HasPrefix(msg.Payload, name+" ") {
					switched <- msg.Payload
				}
			}
		}()
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
				progress = make(chan struct{}, 1) // a create was answered 201
				refused  = make(chan struct{}, 1) // a create was answered 503
			)
			created := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
			signal := func(c chan struct{}) {
				select {
				case c <- struct{}{}:
				default:
				}
			}
			// waitFor waits, without polling, until cond holds, each time
			// ev says something happened that could make it so.
			waitFor := func(what string, ev <-chan struct{}, cond func() bool) {
				t.Helper()
				deadline := time.NewTimer(2 * time.Minute)
				defer deadline.Stop()
				for !cond() {
					select {
					case <-ev:
					case <-deadline.C:
						t.Fatalf("waited two minutes for %s", what)
					}
				}
			}
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
								signal(progress)
							case res.status != http.StatusServiceUnavailable,
								bytes.Contains(bytes.ToLower(res.body), []byte("readonly")),
								bytes.Contains(bytes.ToLower(res.body), []byte("redis")):
								bad = append(bad, fmt.Sprintf("%d %s", res.status, res.body))
							}
							mu.Unlock()
							if res.status == http.StatusServiceUnavailable {
								signal(refused)
								// Back off as a client honouring Retry-After
								// would, sooner; or stop.
								select {
								case <-done:
									return
								case <-time.After(20 * time.Millisecond):
								}
							}
						}
					})
				}
				var once sync.Once
				return func() { once.Do(func() { close(done) }); wg.Wait() }
			}
			prefix := strings.ReplaceAll(tc.name, " ", "-")

			old, err := masterOf(sc)
			if err != nil {
				t.Fatal(err)
			}
			stop := load(prefix + "-before")
			defer stop() // also when the round fails
			waitFor("50 creates", progress, func() bool { return created() >= 50 })
			stop()
			// What the master holds now, the replica has: it must survive.
			safe := created()
			// WAIT covers the writes of its own connection: one write here,
			// after every acknowledged create, makes it cover them all.
			oc := redis.NewClient(&redis.Options{Addr: old.Addr()})
			err = oc.Incr(t.Context(), "scimd-sentinel-test:probe").Err()
			n, werr := oc.Wait(t.Context(), 1, 5*time.Second).Result()
			oc.Close()
			err = errors.Join(err, werr)
			if err != nil || n < 1 {
				t.Fatalf("WAIT: %d replicas have the writes (%v)", n, err)
			}

			stop = load(prefix + "-during")
			defer stop()
			// Drop announcements of earlier rounds (a slow sentinel's).
			for len(switched) > 0 {
				<-switched
			}
			tc.failover(old)
			// Every sentinel announces the switch once it has it.
			deadline := time.NewTimer(2 * time.Minute)
			for seen := 0; seen < len(scs); seen++ {
				select {
				case <-switched:
				case <-deadline.C:
					t.Fatalf("after two minutes, %d of %d sentinels have announced a new master", seen, len(scs))
				}
			}
			deadline.Stop()
			next, err := masterOf(sc)
			if err != nil || next == old {
				t.Fatalf("the new master is %v (%v), the old was %s", next, err, old.Addr())
			}
			for _, c := range scs {
				if m, err := masterOf(c); err != nil || m != next {
					t.Fatalf("the sentinels disagree on the new master: %v, %v (%v)", next, m, err)
				}
			}
			if tc.promoted != nil {
				// Until the killed server is back, the new master has no
				// replica, so scimd must refuse waiting writes on it: see
				// it do so before that server returns, else the round might
				// pass without ever meeting the case.
				waitFor("a write refused for want of a replica", refused, func() bool {
					return unreplicated(t, r) > 0
				})
				tc.promoted(old)
			}
			// Creates go through again once scimd follows the sentinels.
			after := created() + 50
			waitFor("50 creates on the new master", progress, func() bool { return created() >= after })
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

			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"check", "--redis-url", url, "--tenant", tn.id}, &out, &errOut); code != 0 {
				t.Errorf("scimd check after the failover: exit %d\n%s%s", code, out.String(), errOut.String())
			}
			// The old master must follow the new one before the next round
			// fails that over. Ask the sentinels which server that is now: on
			// a loaded machine they may have failed over once more since.
			waitReplicated(t, func() (*redistest.Server, error) { return masterOf(sc) })
		})
	}
}

// waitReplicated waits until the master that current names has a replica
// that has all its writes: WAIT returns as soon as one acknowledges a write
// made just before. A server that turned replica meanwhile (READONLY), or
// does not answer, is asked again through current.
func waitReplicated(t *testing.T, current func() (*redistest.Server, error)) {
	t.Helper()
	eventually(t, "a master with a replica that has its writes", func() error {
		master, err := current()
		if err != nil {
			return err
		}
		rdb := redis.NewClient(&redis.Options{Addr: master.Addr()})
		defer rdb.Close()
		if err := rdb.Incr(t.Context(), "scimd-sentinel-test:probe").Err(); err != nil {
			return fmt.Errorf("%s: %w", master.Addr(), err)
		}
		// A server the sentinels demote becomes a replica some seconds
		// after the switch, then syncs.
		if n, err := rdb.Wait(t.Context(), 1, 10*time.Second).Result(); err != nil || n < 1 {
			return fmt.Errorf("%s: %d replicas have its writes (%v)", master.Addr(), n, err)
		}
		return nil
	})
}

// unreplicated reads scimd_redis_unreplicated_writes_total from r.
func unreplicated(t *testing.T, r replica) int {
	t.Helper()
	metrics := string(r.want(t, http.StatusOK, http.MethodGet, "/metrics", "", nil).body)
	m := regexp.MustCompile(`(?m)^scimd_redis_unreplicated_writes_total (\d+)`).FindStringSubmatch(metrics)
	if m == nil {
		t.Fatal("/metrics has no scimd_redis_unreplicated_writes_total")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// eventually asks cond until it returns nil, for up to two minutes; cond
// waits on the servers itself (each call is a round trip to them).
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for err := cond(); err != nil; err = cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited two minutes for %s: %v", what, err)
		}
		<-tick.C
	}
}
