package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// roundTrips is a go-redis hook that counts the client's round trips: a
// command sent alone is one, a pipeline (or MULTI/EXEC) is one. after, when
// set, runs after each command sent alone, with its reply (atomic: the
// server's background work uses the client while a test sets it).
type roundTrips struct {
	mu    sync.Mutex
	sent  []string // what each round trip sent, for a failure to show
	after atomic.Pointer[func(cmd redis.Cmder)]
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.note(cmd.Name())
		err := next(ctx, cmd)
		if after := r.after.Load(); after != nil {
			(*after)(cmd)
		}
		return err
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		r.note("pipeline(" + strings.Join(names, " ") + ")")
		return next(ctx, cmds)
	}
}

func (r *roundTrips) note(s string) {
	switch s {
	case "cluster", "command":
		// A cluster client's own slot-map and command-table reads, made
		// in the background whenever it chooses: not the request's.
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, s)
}

// countRoundTrips hooks rt into the harness's client. On a cluster the
// store runs its scripts on the master's own client (evalOnMaster), which a
// hook on the cluster client never sees, and every command of the cluster
// client reaches a node's client too: so there each node's client is hooked,
// once, and the cluster client not at all.
func countRoundTrips(t *testing.T, h *harness) *roundTrips {
	rt := &roundTrips{}
	cc, ok := h.rdb.(*redis.ClusterClient)
	if !ok {
		h.rdb.AddHook(rt)
		return rt
	}
	var hooked sync.Map
	hook := func(c *redis.Client) {
		if _, done := hooked.LoadOrStore(c, true); !done {
			c.AddHook(rt)
		}
	}
	cc.OnNewNode(hook)
	if err := cc.ForEachShard(context.Background(), func(_ context.Context, c *redis.Client) error {
		hook(c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rt
}

// take returns what was sent since the last take.
func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sent
	r.sent = nil
	return s
}

// TestCreateRoundTrips (issue 14): a SCIM create is one Redis round trip,
// and a create that must link a manual user two: the refusal brings the
// holders of its identifiers, the link is the second.
func TestCreateRoundTrips(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		rt := countRoundTrips(t, h)
		tn := h.newTenant(100)
		h.setMode(tn, map[string]any{"mode": "manual"})
		ann := h.manualUser(tn, map[string]any{"userName": "ann@x", "email": "ann@corp"})["id"]
		bo := h.manualUser(tn, map[string]any{"userName": "bo.local", "email": "bo@corp", "employeeNumber": "E2"})["id"]
		// Warm up: scripts loaded, token cached.
		h.manualUser(tn, map[string]any{"userName": "warm@x"})
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("warm@x")).want(201)
		for _, tc := range []struct {
			name, body string
			links      any // the id linked; nil: a new user
			want       int
		}{
			{"new user", userBody("new@x", `,"emails":[{"type":"work","value":"new@corp"}]`), nil, 1},
			{"link by userName", userBody("ANN@x", `,"emails":[{"type":"work","value":"ann@corp"}]`), ann, 2},
			{"link by email", userBody("bo@entra", `,"emails":[{"type":"work","value":"BO@corp"}],"`+enterprise+`":{"employeeNumber":"E2"}`), bo, 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				rt.take()
				res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, tc.body).want(201).json()
				sent := rt.take()
				if tc.links != nil {
					eq(t, res["id"], tc.links)
				}
				if len(sent) != tc.want {
					t.Errorf("%d round trips, want %d: %v", len(sent), tc.want, sent)
				}
			})
		}
	})
}

// TestConcurrentLinks: many SCIM creates of one manual user's userName at
// once link it exactly once; the others are told the userName is taken.
// Every user holds its seat, one link event per user linked.
func TestConcurrentLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		h.setMode(tn, map[string]any{"mode": "manual"})
		const n, rounds = 16, 3
		for round := range rounds {
			name := fmt.Sprintf("pat%d@x", round)
			id := h.manualUser(tn, map[string]any{"userName": name, "email": name})["id"]
			statuses := make([]int, n)
			ids := make([]any, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					// Half match by the work email too.
					body := userBody(strings.ToUpper(name))
					if i%2 == 1 {
						body = userBody(name, `,"emails":[{"type":"work","value":"`+name+`"}]`)
					}
					res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, body)
					statuses[i] = res.status
					if res.status == 201 {
						ids[i] = res.json()["id"]
					}
				})
			}
			wg.Wait()
			count := map[int]int{}
			for i, s := range statuses {
				count[s]++
				if s == 201 && ids[i] != id {
					t.Errorf("round %d: a create made %v instead of linking %v", round, ids[i], id)
				}
			}
			if count[201] != 1 || count[409] != n-1 {
				t.Fatalf("round %d: statuses %v, want one 201 and %d 409", round, count, n-1)
			}
		}
		events := asList(h.do(http.MethodGet, adminPath(tn)+"/audit?action=user.link", tn.AdminToken, nil).want(200).json()["events"])
		eq(t, len(events), rounds)
		lic := h.do(http.MethodGet, adminPath(tn)+"/license", tn.AdminToken, nil).want(200).json()
		eq(t, lic["seatsUsed"], float64(rounds))
		list := h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200).json()
		eq(t, list["totalResults"], float64(rounds))
	})
}

// TestLinkAfterConcurrentEdit: an admin's edit that lands between the
// create's refusal (which read the manual user) and the link makes the
// link's version stale; the create starts again and links the edited user.
func TestLinkAfterConcurrentEdit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		rt := countRoundTrips(t, h)
		tn := h.newTenant(100)
		h.setMode(tn, map[string]any{"mode": "manual"})
		id := h.manualUser(tn, map[string]any{"userName": "quinn@x", "givenName": "Q"})["id"].(string)
		var edits atomic.Int32
		after := func(cmd redis.Cmder) {
			c, ok := cmd.(*redis.Cmd)
			if !ok || !strings.HasPrefix(c.Name(), "eval") {
				return
			}
			// create_user's refusal to link: {7, matchBy, names, ...}.
			if arr, ok := c.Val().([]any); ok && len(arr) >= 5 && arr[0] == int64(7) && edits.Add(1) == 1 {
				h.do(http.MethodPatch, adminPath(tn)+"/users/"+id, tn.AdminToken, map[string]any{"department": "Desk"}).want(200)
			}
		}
		rt.after.Store(&after)
		res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("quinn@x", `,"name":{"givenName":"Quinn"}`)).want(201).json()
		rt.after.Store(nil)
		eq(t, res["id"], id)
		eq(t, path(res, "name", "givenName"), "Quinn")
		if got := edits.Load(); got != 2 {
			t.Errorf("%d refusals, want 2: the link after the edit must start again", got)
		}
		events := asList(h.do(http.MethodGet, adminPath(tn)+"/audit?targetId="+id, tn.AdminToken, nil).want(200).json()["events"])
		eq(t, path(events, 0, "action"), "user.link")
		eq(t, path(events, 1, "action"), "user.update")
		eq(t, h.do(http.MethodGet, adminPath(tn)+"/users/"+id, tn.AdminToken, nil).want(200).json()["version"], float64(3))
	})
}
