package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// cachedReplica is a server caching decisions, its cache following the
// replicas' writes; with resolve, its resolver runs over the test's tenants.
func cachedReplica(t *testing.T, url string, resolve bool) *harness {
	t.Helper()
	name := t.Name()
	own := func(tenant string) bool { o, ok := tenantOwners.Load(tenant); return ok && o == name }
	cfg := server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: 64 << 10,
		Access: access.Options{Sweep: 20 * time.Millisecond, Tenants: own}}
	h := assembleEngine(t, url, cfg, storage.Options{}, provision.Options{DecisionCache: 1 << 20}, testEngine(t))
	if resolve {
		h.srv.Resolver.Start()
		t.Cleanup(h.srv.Resolver.Stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	select {
	case <-h.svc.WatchAccessChanged(ctx):
	case <-time.After(time.Minute):
		t.Fatal("decision cache: subscription not confirmed within a minute")
	}
	return h
}

// awaitHeard waits until h's cache has heard every change published before
// now (its subscription's ping answered behind them).
func (h *harness) awaitHeard() {
	h.t.Helper()
	at := time.Now()
	deadline := time.Now().Add(time.Minute)
	for !h.svc.DecisionsHeardAt().After(at) {
		if time.Now().After(deadline) {
			h.t.Fatal("decision cache: changes not heard within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDecisionCacheTwoReplicas: replica B caches what it reads; a change
// made and decided through replica A is read fresh through B once B has
// heard it (deactivation, deletion, the tenant's deletion), ETags and
// If-None-Match included, for a tenant's and a platform decision token.
func TestDecisionCacheTwoReplicas(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			a := cachedReplica(t, url, true)
			b := cachedReplica(t, url, false)
			f := newAccessFixture(t, a)
			a.settle(f.tn)
			// The fixture's decisions were published before settle saw
			// them done, but B may not have applied the notices yet (its
			// subscription's goroutine behind; on a cluster they cross
			// the bus): one applied after the first read below would drop
			// what it cached, and a read meant as a hit would miss.
			b.awaitHeard()
			tok := a.decisionToken(f.tn, "reader")
			platform := a.platformToken("platform-reader")
			uri := "/access/v1/tenants/" + f.tn.ID + "/users/" + f.user
			hits := func() uint64 { return b.svc.DecisionCacheStats().Hits }

			first := b.do(http.MethodGet, uri, tok, nil).want(200)
			etag := first.header.Get("ETag")
			if first.json()["active"] != true || etag == "" {
				t.Fatalf("first read: %s (ETag %q)", first.body, etag)
			}
			before := hits()
			for _, token := range []string{tok, platform} {
				again := b.do(http.MethodGet, uri, token, nil).want(200)
				if string(again.body) != string(first.body) || again.header.Get("ETag") != etag {
					t.Errorf("cached read %s (ETag %q), want %s (ETag %q)", again.body, again.header.Get("ETag"), first.body, etag)
				}
				b.do(http.MethodGet, uri, token, nil, "If-None-Match", etag).want(304)
			}
			if got := hits() - before; got != 4 {
				t.Errorf("%d reads answered from the cache, want 4", got)
			}
			if m := string(b.do(http.MethodGet, "/metrics", "", nil).want(200).body); !strings.Contains(m, `scimd_decision_cache_reads_total{result="hit"} 4`) {
				t.Errorf("metrics do not count the 4 hits:\n%s", grepLines(m, "scimd_decision_cache"))
			}

			// Deactivated through A, decided by A's resolver.
			a.do(http.MethodPatch, f.tn.Base+"/Users/"+f.user, f.tn.SCIMToken,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).want(200)
			a.settle(f.tn)
			b.awaitHeard()
			off := b.do(http.MethodGet, uri, tok, nil, "If-None-Match", etag).want(200)
			if off.json()["active"] != false || off.header.Get("ETag") == etag {
				t.Errorf("read through B after the deactivation: %s (ETag %q, was %q)", off.body, off.header.Get("ETag"), etag)
			}
			b.do(http.MethodGet, uri, platform, nil, "If-None-Match", off.header.Get("ETag")).want(304)

			// Deleted through A: the resolver deletes the record.
			a.do(http.MethodDelete, f.tn.Base+"/Users/"+f.user, f.tn.SCIMToken, nil).want(204)
			a.settle(f.tn)
			b.awaitHeard()
			b.do(http.MethodGet, uri, tok, nil).want(404)

			// The tenant deleted: a platform token still authenticates, and
			// finds nothing.
			other := a.scimUser(f.tn, "kim@x")
			a.settle(f.tn)
			otherURI := "/access/v1/tenants/" + f.tn.ID + "/users/" + other
			b.do(http.MethodGet, otherURI, platform, nil).want(200)
			b.do(http.MethodGet, otherURI, platform, nil).want(200)
			a.do(http.MethodDelete, "/admin/v1/tenants/"+f.tn.ID, operatorToken, nil).want(204)
			b.awaitHeard()
			b.do(http.MethodGet, otherURI, platform, nil).want(404)
		})
	}
}

// grepLines returns the lines of s that hold sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
