package access

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/storage"
)

// countingMetrics counts what the resolver reports.
type countingMetrics struct {
	nopMetrics
	users, evaluations, changed atomic.Int64
}

func (m *countingMetrics) AccessResolved(users, evaluations int) {
	m.users.Add(int64(users))
	m.evaluations.Add(int64(evaluations))
}

func (m *countingMetrics) AccessChanged(n int) { m.changed.Add(int64(n)) }

// TestMeasureGrantOn100k measures re-deciding every member of a group of
// SCIMD_MEASURE_USERS users (e.g. 100000) after one grant change, on
// REDIS_URL: wall time, users a second, this process's CPU and Redis's
// (INFO cpu), for SCIMD_MEASURE_ROUNDS rounds (default 1; see measureRound).
// Redis's figures are the server's: give it a Redis of its own (results in
// cmd/scimload/BENCHMARKS.md). Not run in CI: a measurement, not a test.
//
//	SCIMD_MEASURE_USERS=100000 REDIS_URL=redis://127.0.0.1:6379/0 go test ./server/access -run TestMeasureGrantOn100k -v -timeout 30m
func TestMeasureGrantOn100k(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCIMD_MEASURE_USERS"))
	url := os.Getenv("REDIS_URL")
	if n <= 0 || url == "" {
		t.Skip("a measurement: set SCIMD_MEASURE_USERS and REDIS_URL")
	}
	waitBound = time.Hour
	ctx := t.Context()
	rdb := client(t, url)
	st := storage.New(rdb, storage.Options{})
	tenant := newTenant(t, st)
	eng := testEngine(t)

	// Users in 50 departments (so that there are several inputs), all in
	// one big group; the sub-accounts make each decision realistic.
	for _, a := range []string{"news", "sport", "weather", "culture", "business"} {
		_, err := st.PutAccount(ctx, tenant, storage.Account{ID: a, Name: a, Created: time.Now()}, nil)
		must(t, err)
	}
	start := time.Now()
	ids := make([]string, n)
	var wg sync.WaitGroup
	const writers = 8
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				ids[i] = fmt.Sprintf("u%07d", i)
				addUser(t, st, tenant, ids[i], true)
			}
		}()
	}
	wg.Wait()
	addGroup(t, st, tenant, "everyone", nil)
	for i := 0; i < n; i += 500 {
		_, err := st.ChangeMembers(ctx, tenant, "everyone", ids[i:min(i+500, n)], nil, time.Now(), nil)
		must(t, err)
	}
	for d := range 50 {
		var members []string
		for i := d; i < n; i += 50 {
			members = append(members, ids[i])
		}
		gid := fmt.Sprintf("dept%02d", d)
		addGroup(t, st, tenant, gid, nil)
		for i := 0; i < len(members); i += 500 {
			_, err := st.ChangeMembers(ctx, tenant, gid, members[i:min(i+500, len(members))], nil, time.Now(), nil)
			must(t, err)
		}
		acc := []string{"news", "sport", "weather", "culture", "business"}[d%5]
		must(t, st.PutGrants(ctx, tenant, gid, []storage.Grant{{Scope: "account", Account: acc, Role: []string{"Editor", "Publisher", "Viewer"}[d%3]}}, nil, nil))
	}
	t.Logf("setup: %d users in %v", n, time.Since(start))

	m := &countingMetrics{}
	r := New(st, eng, Options{Tenants: ours, Metrics: m, Sweep: 50 * time.Millisecond})
	r.Start()
	t.Cleanup(r.Stop)
	settled(t, st, tenant, eng.Revision())
	t.Logf("first decision of every user: %d users, %d evaluations", m.users.Load(), m.evaluations.Load())

	// Each round flips the grant (on, off, on...): every member's access
	// changes each time.
	rounds, _ := strconv.Atoi(os.Getenv("SCIMD_MEASURE_ROUNDS"))
	for round := range max(rounds, 1) {
		grants := []storage.Grant{{Scope: "enterprise", Role: "Enterprise Admin"}}
		if round%2 == 1 {
			grants = nil
		}
		measureRound(t, st, r, m, tenant, url, n, round, func() {
			must(t, st.PutGrants(ctx, tenant, "everyone", grants, nil, nil))
		})
	}
}

// measureRound times one change and its re-resolution, logging CPU on both
// sides and Redis's commands (INFO commandstats) over it; with
// SCIMD_MEASURE_PROFILE set, this process's CPU profile of the round goes
// to that file (suffixed with the round).
func measureRound(t *testing.T, st *storage.Store, r *Resolver, m *countingMetrics, tenant, url string, n, round int, change func()) {
	ctx := t.Context()
	m.users.Store(0)
	m.evaluations.Store(0)
	m.changed.Store(0)
	if p := os.Getenv("SCIMD_MEASURE_PROFILE"); p != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", p, round))
		must(t, err)
		must(t, pprof.StartCPUProfile(f))
		defer func() {
			pprof.StopCPUProfile()
			must(t, f.Close())
		}()
	}
	stats0 := redisCommandStats(t, url)
	cpu0, redis0 := processCPU(), redisCPU(t, url)
	start := time.Now()
	change()
	r.Notify(tenant)
	waitFor(t, "the change's job", func() bool {
		s, err := st.AccessState(ctx, tenant)
		must(t, err)
		return s.Pending == 0 && s.Job == ""
	})
	took := time.Since(start)
	cpu, redis := processCPU()-cpu0, redisCPU(t, url)-redis0
	stats := redisCommandStats(t, url)
	t.Logf("round %d: grant change on a group of %d: %v, %.0f users/s; scimd CPU %v (%.1f µs/user), Redis CPU %v (%.1f µs/user)",
		round, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(n),
		redis.Round(time.Millisecond), float64(redis.Microseconds())/float64(n))
	t.Logf("users decided %d, policy evaluations %d (%.0f users per evaluation), feed entries %d",
		m.users.Load(), m.evaluations.Load(), float64(m.users.Load())/float64(max(m.evaluations.Load(), 1)), m.changed.Load())
	var names []string
	for name := range stats {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return stats[names[i]].usec-stats0[names[i]].usec > stats[names[j]].usec-stats0[names[j]].usec
	})
	for _, name := range names {
		calls, usec := stats[name].calls-stats0[name].calls, stats[name].usec-stats0[name].usec
		if calls > 0 && usec > 0 {
			t.Logf("  redis %-12s calls %8d  usec %10d (%.1f µs/user, %.1f µs/call)", name, calls, usec, float64(usec)/float64(n), float64(usec)/float64(calls))
		}
	}
}

type commandStat struct{ calls, usec int64 }

// redisCommandStats reads INFO commandstats (the server's, every client's:
// the measurement is meant to run alone).
func redisCommandStats(t *testing.T, url string) map[string]commandStat {
	info, err := client(t, url).Info(t.Context(), "commandstats").Result()
	must(t, err)
	out := map[string]commandStat{}
	for _, line := range strings.Split(info, "\r\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		var s commandStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				s.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				s.usec, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		out[name] = s
	}
	return out
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is Redis's user and system CPU time (INFO cpu).
func redisCPU(t *testing.T, url string) time.Duration {
	info, err := client(t, url).Info(t.Context(), "cpu").Result()
	must(t, err)
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, f := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, f); ok {
				x, _ := strconv.ParseFloat(v, 64)
				total += x
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}
