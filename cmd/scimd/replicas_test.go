package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/storage"
)

// The replica tests run two servers, as two replicas behind a load balancer
// would, against one Redis: REDIS_URL when it is set (CI, and the cluster
// run), else one embedded Redis both point at. Each is a whole `scimd serve`
// (start) on its own loopback port, with its own Redis client, policy engine
// and token cache; they share nothing but Redis. TestDeployment runs the
// same checks on two OS processes.
//
// Each replica caches a successful token check for 5 s (provision's
// TokenCacheTTL); a rotation or a tenant deletion through one replica is
// published through Redis and the others forget at once
// (TestReplicasForgetChangedTokens).

const replicaOperatorToken = "replica-operator-token-0123456789abc"

// replica is one running server and a client of its own.
type replica struct {
	name   string
	base   string // http://127.0.0.1:<port>
	client *http.Client
}

// startReplica starts `scimd serve` on a free port over redisURL, with
// more flags if given, and stops it when t ends. Its access resolver stays
// off: REDIS_URL is shared with other packages' tests, whose tenants a
// resolver sweeping every tenant would decide for.
func startReplica(t *testing.T, name, redisURL string, flags ...string) replica {
	t.Helper()
	args := append([]string{"--addr", "127.0.0.1:0", "--redis-url", redisURL, "--operator-token", replicaOperatorToken, "--access-resolver=false"}, flags...)
	cfg, err := parseServe(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.wait(ctx) }()
	transport := &http.Transport{}
	t.Cleanup(func() {
		// The transport may hold connections it dialled for a burst but
		// never used: the server would wait for their first request (up
		// to its read timeout) before it could shut down.
		transport.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica %s shutdown: %v", name, err)
		}
		m.close()
	})
	return replica{name: name, base: "http://" + m.ln.Addr().String(), client: &http.Client{Transport: transport, Timeout: time.Minute}}
}

// twoReplicas starts A and B over one Redis.
func twoReplicas(t *testing.T) (replica, replica) {
	t.Helper()
	url := sharedRedisURL(t)
	return startReplica(t, "A", url), startReplica(t, "B", url)
}

// sharedRedisURL is REDIS_URL, else an embedded Redis for this test.
func sharedRedisURL(t *testing.T) string {
	t.Helper()
	if url := os.Getenv("REDIS_URL"); url != "" {
		return url
	}
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e.URL()
}

// reply is one answer: status, ETag and body.
type reply struct {
	status int
	etag   string
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return m
}

// do sends one request to the replica; body is nil, a string or a value to
// encode as JSON; headers are name, value pairs. Safe for concurrent use.
func (r replica) do(t *testing.T, method, path, token string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Error(err)
			return reply{}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Errorf("%s %s %s: %v", r.name, method, path, err)
		return reply{}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s %s: %v", r.name, method, path, err)
	}
	return reply{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: raw}
}

// want fails t unless the replica answered status.
func (r replica) want(t *testing.T, status int, method, path, token string, body any, headers ...string) reply {
	t.Helper()
	res := r.do(t, method, path, token, body, headers...)
	if res.status != status {
		t.Fatalf("%s: %s %s: status %d, want %d; body: %s", r.name, method, path, res.status, status, res.body)
	}
	return res
}

// replicaTenant is a tenant made through one replica for one test.
type replicaTenant struct {
	id, scimToken, adminToken string
}

func (tn replicaTenant) users() string { return "/scim/v2/" + tn.id + "/Users" }
func (tn replicaTenant) admin() string { return "/admin/v1/tenants/" + tn.id }

// newReplicaTenant creates a tenant through r and deletes it when t ends.
func newReplicaTenant(t *testing.T, r replica, limit int) replicaTenant {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := "rep-" + hex.EncodeToString(b[:])
	res := r.want(t, http.StatusCreated, http.MethodPost, "/admin/v1/tenants", replicaOperatorToken,
		map[string]any{"id": id, "name": "Replicas " + id, "licenseLimit": limit})
	var out struct{ SCIMToken, AdminToken string }
	if err := json.Unmarshal(res.body, &out); err != nil || out.SCIMToken == "" || out.AdminToken == "" {
		t.Fatalf("tenant create: %s (%v)", res.body, err)
	}
	t.Cleanup(func() {
		r.want(t, http.StatusNoContent, http.MethodDelete, "/admin/v1/tenants/"+id, replicaOperatorToken, nil)
	})
	return replicaTenant{id: id, scimToken: out.SCIMToken, adminToken: out.AdminToken}
}

func replicaUser(userName string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","active":true}`
}

func replicaPatch(attr, value string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"` + attr + `","value":"` + value + `"}]}`
}

// TestReplicasShareUsers: a user created through one replica is read,
// patched (with If-Match from the other's read) and deleted through the
// other, both ways round.
func TestReplicasShareUsers(t *testing.T) {
	a, b := twoReplicas(t)
	testSharedUsers(t, a, b)
}

func testSharedUsers(t *testing.T, a, b replica) {
	tn := newReplicaTenant(t, a, 100)
	for _, tc := range []struct{ writer, other replica }{{a, b}, {b, a}} {
		t.Run("created through "+tc.writer.name, func(t *testing.T) {
			w, o := tc.writer, tc.other
			userName := "made.by." + w.name + "@example.com"
			created := w.want(t, http.StatusCreated, http.MethodPost, tn.users(), tn.scimToken, replicaUser(userName)).json(t)
			id, _ := created["id"].(string)
			if id == "" {
				t.Fatalf("no id: %v", created)
			}
			path := tn.users() + "/" + id

			read := o.want(t, http.StatusOK, http.MethodGet, path, tn.scimToken, nil)
			if got := read.json(t)["userName"]; got != userName {
				t.Fatalf("%s reads userName %v, want %s", o.name, got, userName)
			}
			filter := "?filter=" + strings.ReplaceAll(`userName eq "`+userName+`"`, " ", "%20")
			list := o.want(t, http.StatusOK, http.MethodGet, tn.users()+filter, tn.scimToken, nil).json(t)
			if list["totalResults"] != float64(1) {
				t.Fatalf("%s filter finds %v", o.name, list["totalResults"])
			}

			// The other replica's ETag guards a PATCH through the writer,
			// and the writer's new version makes the old ETag stale on both.
			if read.etag == "" {
				t.Fatal("no ETag")
			}
			o.want(t, http.StatusOK, http.MethodPatch, path, tn.scimToken, replicaPatch("displayName", "Patched via "+o.name), "If-Match", read.etag)
			w.want(t, http.StatusPreconditionFailed, http.MethodPatch, path, tn.scimToken, replicaPatch("displayName", "stale"), "If-Match", read.etag)
			if got := w.want(t, http.StatusOK, http.MethodGet, path, tn.scimToken, nil).json(t)["displayName"]; got != "Patched via "+o.name {
				t.Fatalf("%s reads displayName %v after %s's PATCH", w.name, got, o.name)
			}

			o.want(t, http.StatusNoContent, http.MethodDelete, path, tn.scimToken, nil)
			w.want(t, http.StatusNotFound, http.MethodGet, path, tn.scimToken, nil)
			o.want(t, http.StatusNotFound, http.MethodGet, path, tn.scimToken, nil)
			// Its userName is free again, through either replica.
			id2, _ := w.want(t, http.StatusCreated, http.MethodPost, tn.users(), tn.scimToken, replicaUser(userName)).json(t)["id"].(string)
			o.want(t, http.StatusNoContent, http.MethodDelete, tn.users()+"/"+id2, tn.scimToken, nil)
		})
	}
}

// statuses runs n requests at once, request i through A when i is even and
// B when odd, and counts the answers by status.
func statuses(t *testing.T, a, b replica, n int, send func(r replica, i int) reply) map[int]int {
	t.Helper()
	got := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Go(func() {
			<-start
			got[i] = send(r, i).status
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range got {
		count[s]++
	}
	return count
}

// TestReplicasUniqueness: 32 clients, half through each replica, create one
// userName (in two spellings of case) at once: exactly one user is made.
func TestReplicasUniqueness(t *testing.T) {
	a, b := twoReplicas(t)
	testUniqueness(t, a, b)
}

func testUniqueness(t *testing.T, a, b replica) {
	tn := newReplicaTenant(t, a, 1000)
	const n = 32
	got := statuses(t, a, b, n, func(r replica, i int) reply {
		name := "Same.Person@Example.com"
		if i%4 < 2 {
			name = strings.ToLower(name) // each replica sees both spellings
		}
		return r.do(t, http.MethodPost, tn.users(), tn.scimToken, replicaUser(name))
	})
	if d := cmp.Diff(map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, got); d != "" {
		t.Fatalf("statuses (-want +got):\n%s", d)
	}
	for _, r := range []replica{a, b} {
		if total := r.want(t, http.StatusOK, http.MethodGet, tn.users(), tn.scimToken, nil).json(t)["totalResults"]; total != float64(1) {
			t.Errorf("%s lists %v users, want 1", r.name, total)
		}
	}
}

// TestReplicasLicense: with a limit of 10, 40 distinct creates at once, half
// through each replica, make exactly 10 users and take exactly 10 seats.
func TestReplicasLicense(t *testing.T) {
	a, b := twoReplicas(t)
	testLicense(t, a, b)
}

func testLicense(t *testing.T, a, b replica) {
	tn := newReplicaTenant(t, b, 10)
	const n, limit = 40, 10
	got := statuses(t, a, b, n, func(r replica, i int) reply {
		return r.do(t, http.MethodPost, tn.users(), tn.scimToken, replicaUser(fmt.Sprintf("seat%02d@example.com", i)))
	})
	if d := cmp.Diff(map[int]int{http.StatusCreated: limit, http.StatusForbidden: n - limit}, got); d != "" {
		t.Fatalf("statuses (-want +got):\n%s", d)
	}
	for _, r := range []replica{a, b} {
		lic := r.want(t, http.StatusOK, http.MethodGet, tn.admin()+"/license", tn.adminToken, nil).json(t)
		want := map[string]any{"limit": float64(limit), "seatsUsed": float64(limit), "refusedAttempts": float64(n - limit)}
		gotLic := map[string]any{"limit": lic["limit"], "seatsUsed": lic["seatsUsed"], "refusedAttempts": lic["refusedAttempts"]}
		if d := cmp.Diff(want, gotLic); d != "" {
			t.Errorf("license through %s (-want +got):\n%s", r.name, d)
		}
		if total := r.want(t, http.StatusOK, http.MethodGet, tn.users(), tn.scimToken, nil).json(t)["totalResults"]; total != float64(limit) {
			t.Errorf("%s lists %v users, want %d", r.name, total, limit)
		}
	}
}

// TestReplicasForgetChangedTokens: B has checked (and cached) a token; the
// SCIM token is rotated, the admin token revoked, or the tenant deleted,
// through A; B refuses the old token well before its 5 s cache entry would
// expire.
func TestReplicasForgetChangedTokens(t *testing.T) {
	a, b := twoReplicas(t)
	refusedSoon := func(t *testing.T, path, token string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for b.do(t, http.MethodGet, path, token, nil).status != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatalf("B still takes the old token 2s after the change (its cache keeps it 5s)")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Run("rotated", func(t *testing.T) {
		tn := newReplicaTenant(t, a, 10)
		b.want(t, http.StatusOK, http.MethodGet, tn.users(), tn.scimToken, nil)
		rotated := a.want(t, http.StatusOK, http.MethodPost, tn.admin()+"/scim-token", tn.adminToken, nil).json(t)["scimToken"].(string)
		refusedSoon(t, tn.users(), tn.scimToken)
		b.want(t, http.StatusOK, http.MethodGet, tn.users(), rotated, nil)
	})
	t.Run("admin token revoked", func(t *testing.T) {
		tn := newReplicaTenant(t, a, 10)
		b.want(t, http.StatusOK, http.MethodGet, tn.admin()+"/users", tn.adminToken, nil)
		a.want(t, http.StatusOK, http.MethodDelete, tn.admin()+"/admin-tokens/tenant-admin", replicaOperatorToken, nil)
		refusedSoon(t, tn.admin()+"/users", tn.adminToken)
	})
	t.Run("tenant deleted", func(t *testing.T) {
		var r [4]byte
		if _, err := rand.Read(r[:]); err != nil {
			t.Fatal(err)
		}
		id := "rep-gone-" + hex.EncodeToString(r[:])
		res := a.want(t, http.StatusCreated, http.MethodPost, "/admin/v1/tenants", replicaOperatorToken, map[string]any{"id": id, "name": "Gone", "licenseLimit": 1})
		token := res.json(t)["scimToken"].(string)
		users := "/scim/v2/" + id + "/Users"
		b.want(t, http.StatusOK, http.MethodGet, users, token, nil)
		a.want(t, http.StatusNoContent, http.MethodDelete, "/admin/v1/tenants/"+id, replicaOperatorToken, nil)
		refusedSoon(t, users, token)
	})
}

// TestReplicasSharedRateLimit: with --rate-limit-shared, a tenant's burst is
// one for all replicas (here 4, at one request per 10 s, so that nothing
// refills while the test runs), where per-process buckets would give it one
// burst per replica.
func TestReplicasSharedRateLimit(t *testing.T) {
	url := sharedRedisURL(t)
	for _, tc := range []struct {
		name    string
		shared  bool
		allowed int // of 16 requests, half through each replica
	}{
		{"shared", true, 4},
		{"per process", false, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flags := []string{"--rate-limit", "0.1", "--rate-burst", "4"}
			if tc.shared {
				flags = append(flags, "--rate-limit-shared")
			}
			a, b := startReplica(t, "A", url, flags...), startReplica(t, "B", url, flags...)
			tn := newReplicaTenant(t, a, 10)
			got := map[int]int{}
			for i := range 16 {
				r := a
				if i%2 == 1 {
					r = b
				}
				res, err := r.client.Do(newGet(t, r.base+tn.users(), tn.scimToken))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				got[res.StatusCode]++
				if res.StatusCode == http.StatusTooManyRequests {
					if s, _ := strconv.Atoi(res.Header.Get("Retry-After")); s < 1 {
						t.Fatalf("429 with Retry-After %q", res.Header.Get("Retry-After"))
					}
				}
			}
			if got[http.StatusOK] != tc.allowed || got[http.StatusTooManyRequests] != 16-tc.allowed {
				t.Fatalf("answers %v, want about %d allowed and the rest 429", got, tc.allowed)
			}
		})
	}
}

func newGet(t *testing.T, url, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
