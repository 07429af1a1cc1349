package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/redistest"
)

// TestRedisDown: with Redis gone, requests answer 503 with Retry-After and a
// SCIM error, readiness goes unready, and the server recovers by itself when
// Redis returns.
func TestRedisDown(t *testing.T) {
	dir := t.TempDir()
	r := redistest.Start(t, 0, dir)
	h := newHarness(t, r.URL())
	tn := h.newTenant(10)
	uid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("before@x")).want(201).json()["id"].(string)

	r.Kill()
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, tn.Base + "/Users/" + uid},
		{http.MethodPost, tn.Base + "/Users"},
		{http.MethodPatch, tn.Base + "/Users/" + uid},
		{http.MethodGet, tn.Base + "/Users?filter=userName%20eq%20%22x%22"},
		{http.MethodGet, "/admin/v1/tenants/" + tn.ID},
	} {
		var body any
		switch tc.method {
		case http.MethodPost:
			body = userBody("during@x")
		case http.MethodPatch:
			body = fixture(t, "22-flag-off.add-single-value.json")
		}
		token := tn.SCIMToken
		if tc.path[1] == 'a' {
			token = operatorToken
		}
		res := h.do(tc.method, tc.path, token, body)
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Fatalf("%s %s with Redis down: %d (Retry-After %q): %s", tc.method, tc.path, res.status, res.header.Get("Retry-After"), res.body)
		}
		if s := string(res.body); containsAny(s, "dial", "connection refused", "redis") {
			t.Fatalf("503 leaks internals: %s", s)
		}
	}
	h.do(http.MethodGet, "/readyz", "", nil).want(503)
	h.do(http.MethodGet, "/healthz", "", nil).want(200)

	// Redis comes back (empty: it kept nothing); the server reconnects on its own.
	r.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for h.do(http.MethodGet, "/readyz", "", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("not ready again after Redis returned")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tn2 := h.newTenant(10)
	h.do(http.MethodPost, tn2.Base+"/Users", tn2.SCIMToken, userBody("after@x")).want(201)
}

// TestSharedRateLimitWithoutRedis: when the shared bucket cannot be asked
// (Redis gone, the token check still cached), the process's own bucket
// stands in: past its burst, requests answer 429 rather than all going on
// to the store.
func TestSharedRateLimitWithoutRedis(t *testing.T) {
	r := redistest.Start(t, 0, t.TempDir())
	h := newHarnessConfig(t, r.URL(), func(c *server.Config) {
		c.RateLimit, c.RateBurst, c.RateLimitShared = 0.01, 2, true
	})
	tn := h.newTenant(10)
	h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200) // the token check is cached now
	r.Kill()
	got := map[int]int{}
	for range 6 {
		got[h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).status]++
	}
	// The process's bucket still holds its whole burst (only the shared one
	// was used while Redis answered): 2 pass (and find the store gone), 4 wait.
	if got[http.StatusServiceUnavailable] != 2 || got[http.StatusTooManyRequests] != 4 {
		t.Fatalf("answers %v, want 2 x 503 and 4 x 429", got)
	}
}

// TestDurabilityWithAOF: Redis killed with SIGKILL under appendfsync always
// keeps every write the server acknowledged, and the seat counter with them.
func TestDurabilityWithAOF(t *testing.T) {
	dir := t.TempDir()
	r := redistest.Start(t, 0, dir, "--appendonly", "yes", "--appendfsync", "always")
	url := r.URL()
	h := newHarness(t, url)
	tn := h.newTenant(100000)
	// Eight clients create users until Redis is killed under them; every
	// 201 they got must survive the restart.
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(fmt.Sprintf("durable-%d-%d@x", w, i)))
				if res.status == 201 {
					mu.Lock()
					acked = append(acked, res.json()["id"].(string))
					mu.Unlock()
				}
			}
		}(w)
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.Kill()
	close(stop)
	wg.Wait()
	r.Restart()
	rdb, err := storage.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	st := storage.New(rdb, storage.Options{})
	deadline := time.Now().Add(10 * time.Second)
	for st.Ping(t.Context()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	users, err := st.GetUsers(t.Context(), tn.ID, acked)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(acked) {
		t.Fatalf("%d of %d acknowledged users survived a SIGKILL with appendfsync always", len(users), len(acked))
	}
	// A write in flight when Redis died may have landed without its 201:
	// the store may hold more than was acknowledged, never less, and the
	// seat counter must agree with what it holds.
	active := 0
	if err := st.ScanUsers(t.Context(), tn.ID, func(batch []storage.User) bool {
		for _, u := range batch {
			if u.Active {
				active++
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	seats, err := st.SeatsUsed(t.Context(), tn.ID)
	if err != nil || seats != int64(active) || active < len(acked) {
		t.Fatalf("seats %d (%v), active users %d, acknowledged %d", seats, err, active, len(acked))
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(strings.ToLower(s), sub) {
			return true
		}
	}
	return false
}
