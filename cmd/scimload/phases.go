package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runner runs the phases of one load run and remembers what they created:
// later phases work on the users and groups of earlier ones.
type runner struct {
	cfg    config
	client *client
	errs   *errorLog

	current atomic.Pointer[Phase] // the phase running now, for progress
	phases  []*Phase              // phases started, in order

	users   []string // user ids by index; "" when not (yet) created
	groups  []string // group ids by index; "" when not created
	members [][]int  // the user indexes "member add" put in each group
}

// newRunner returns a runner with room for every user the phases may create.
func newRunner(cfg config, c *client) *runner {
	n := cfg.Users
	if cfg.has(phaseBigGroup) {
		n = max(n, cfg.BigGroup)
	}
	return &runner{cfg: cfg, client: c, errs: &errorLog{max: 5}, users: make([]string, n)}
}

// runAll runs the phases asked for, in the order initial, incremental, big
// group, until they end or ctx does.
func (r *runner) runAll(ctx context.Context) {
	if r.cfg.has(phaseInitial) {
		r.createUsers(ctx, "user create", indexes(0, r.cfg.Users))
		r.postUsers(ctx)
		if r.cfg.Groups > 0 {
			r.createGroups(ctx)
			r.addMembers(ctx)
		}
		r.filteredGets(ctx)
		r.getsByID(ctx)
	}
	if r.cfg.has(phaseIncremental) {
		r.patchUsers(ctx)
		r.disableUsers(ctx)
		if r.cfg.Groups > 0 {
			r.patchMembers(ctx)
		}
	}
	if r.cfg.has(phaseBigGroup) {
		r.bigGroup(ctx)
	}
}

// run spreads jobs 0..total-1 of a new phase over the workers (with
// --rate, starts them at that rate instead) and returns
// the phase once they are done or ctx has ended. A phase that would start
// after ctx ended, or has no jobs, is not run at all (nil).
func (r *runner) run(ctx context.Context, name string, total, workers int, job func(ctx context.Context, p *Phase, i int)) *Phase {
	if ctx.Err() != nil || total <= 0 {
		return nil
	}
	p := newPhase(name, total)
	r.phases = append(r.phases, p)
	r.current.Store(p)
	p.mu.Lock()
	p.start = time.Now()
	p.cpu0 = cpuSample(r.cfg.CPU)
	p.mu.Unlock()
	var wg sync.WaitGroup
	if r.cfg.Rate > 0 {
		r.offer(ctx, p, total, job, &wg)
	} else {
		var next atomic.Int64
		for range min(workers, total) {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= total {
						return
					}
					job(ctx, p, i)
					if ctx.Err() == nil {
						p.done.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	p.mu.Lock()
	p.end = time.Now()
	p.cpu1 = cpuSample(r.cfg.CPU)
	p.pids = r.cfg.CPU
	p.mu.Unlock()
	return p
}

// maxInFlight bounds the jobs an open loop has started and not finished:
// beyond it the offered rate is not kept (the latencies, counted from
// each job's due time, show that).
const maxInFlight = 4096

// offer starts jobs 0..total-1 at --rate per second, each at its due time
// whether or not earlier ones are done, until ctx ends; wg counts them.
func (r *runner) offer(ctx context.Context, p *Phase, total int, job func(ctx context.Context, p *Phase, i int), wg *sync.WaitGroup) {
	start := time.Now()
	slots := make(chan struct{}, maxInFlight)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-slots }()
			job(context.WithValue(ctx, dueKey{}, &dueTime{at: due}), p, i)
			if ctx.Err() == nil {
				p.done.Add(1)
			}
		})
	}
}

// dueKey holds an open loop's *dueTime in a job's context.
type dueKey struct{}

// dueTime is when a job was due; its first request's latency counts from
// then, so that time spent waiting to be sent is not hidden.
type dueTime struct {
	at   time.Time
	used bool
}

// send sends one request for phase p and records it under op. It reports
// whether the server answered a success status. A request cut short by the
// end of the run (Ctrl-C, --duration) is neither recorded nor an error.
func (r *runner) send(ctx context.Context, p *Phase, op, method, path string, q url.Values, body []byte) (reply, bool) {
	target := r.client.url(path, q)
	rep := r.client.do(ctx, method, target, body)
	if rep.err != nil && ctx.Err() != nil {
		return rep, false
	}
	ok := rep.ok()
	latency := rep.latency
	if d, _ := ctx.Value(dueKey{}).(*dueTime); d != nil && !d.used {
		latency, d.used = time.Since(d.at), true
	}
	p.record(op, latency, !ok)
	if !ok {
		r.errs.add(p.Name, op, method, target, rep, "")
	}
	return rep, ok
}

// fail turns a request that answered a success status into an error,
// because its answer was wrong (no id, a filter that missed).
func (r *runner) fail(p *Phase, op, method, path string, rep reply, detail string) {
	s := p.op(op)
	s.mu.Lock()
	s.errors++
	s.mu.Unlock()
	p.errors.Add(1)
	r.errs.add(p.Name, op, method, r.client.url(path, nil), rep, detail)
}

// listResponse is the part of a SCIM ListResponse the tool reads.
type listResponse struct {
	TotalResults int `json:"totalResults"`
	Resources    []struct {
		ID string `json:"id"`
	} `json:"Resources"`
}

// idOf reads the id of a created resource.
func idOf(body []byte) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	if v.ID == "" {
		return "", fmt.Errorf("no id")
	}
	return v.ID, nil
}

// userName is the userName of user i of this run: an e-mail-like UPN, as Entra sends.
func (r *runner) userName(i int) string {
	return fmt.Sprintf("%s.user%07d@scimload.test", r.cfg.Prefix, i)
}

// groupName is the displayName of group g of this run.
func (r *runner) groupName(g int) string { return fmt.Sprintf("%s group %05d", r.cfg.Prefix, g) }

// indexes returns from, from+1, ..., to-1.
func indexes(from, to int) []int {
	out := make([]int, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// createUsers is Entra's create step for the users numbered in idx: a
// userName filter, then a POST when nothing matches (a user found is taken
// as is).
func (r *runner) createUsers(ctx context.Context, name string, idx []int) {
	r.run(ctx, name, len(idx), r.cfg.Concurrency, func(ctx context.Context, p *Phase, k int) {
		i := idx[k]
		userName := r.userName(i)
		q := url.Values{"filter": {`userName eq "` + userName + `"`}}
		rep, ok := r.send(ctx, p, "filter", http.MethodGet, "/Users", q, nil)
		if !ok {
			return
		}
		var list listResponse
		if err := json.Unmarshal(rep.body, &list); err != nil {
			r.fail(p, "filter", http.MethodGet, "/Users", rep, "not a ListResponse: "+err.Error())
			return
		}
		if list.TotalResults > 0 && len(list.Resources) > 0 {
			r.users[i] = list.Resources[0].ID
			p.items.Add(1)
			return
		}
		rep, ok = r.send(ctx, p, "POST", http.MethodPost, "/Users", nil, userBody(i, userName))
		if !ok {
			return
		}
		id, err := idOf(rep.body)
		if err != nil {
			r.fail(p, "POST", http.MethodPost, "/Users", rep, err.Error())
			return
		}
		r.users[i] = id
		p.items.Add(1)
	})
}

// postUsers creates --posts further users by POST /Users alone, without
// the filter Entra sends first: what a create costs by itself. They are
// named and numbered apart from the users the other phases work on, which
// they leave alone: an employeeNumber another user holds would make each
// create a linking candidate, not a plain create.
func (r *runner) postUsers(ctx context.Context) {
	const numbered = 10_000_000 // past any --users or --big-group index
	r.run(ctx, "POST /Users", r.cfg.Posts, r.cfg.Concurrency, func(ctx context.Context, p *Phase, i int) {
		userName := fmt.Sprintf("%s.post%07d@scimload.test", r.cfg.Prefix, i)
		rep, ok := r.send(ctx, p, "POST", http.MethodPost, "/Users", nil, userBody(numbered+i, userName))
		if !ok {
			return
		}
		if _, err := idOf(rep.body); err != nil {
			r.fail(p, "POST", http.MethodPost, "/Users", rep, err.Error())
			return
		}
		p.items.Add(1)
	})
}

const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

var departments = []string{"Sales", "Engineering", "Finance", "Support", "Newsroom", "Legal"}

// userBody is a POST /Users body shaped like Entra's (fixture 01) with the
// enterprise extension Entra maps by default.
func userBody(i int, userName string) []byte {
	given, family := fmt.Sprintf("Given%d", i), fmt.Sprintf("Family%d", i)
	return mustJSON(map[string]any{
		"schemas":    []string{schemaUser, schemaEnterprise},
		"externalId": uuid(),
		"userName":   userName,
		"active":     true,
		"emails":     []map[string]any{{"primary": true, "type": "work", "value": userName}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": given + " " + family, "familyName": family, "givenName": given},
		"roles":      []any{},
		schemaEnterprise: map[string]any{
			"employeeNumber": fmt.Sprint(100000 + i),
			"department":     departments[i%len(departments)],
		},
	})
}

// createGroups is Entra's create step for groups: a displayName filter
// (members excluded), then a POST of an empty group (fixture 08).
func (r *runner) createGroups(ctx context.Context) {
	r.groups = make([]string, r.cfg.Groups)
	r.run(ctx, "group create", r.cfg.Groups, r.cfg.Concurrency, func(ctx context.Context, p *Phase, g int) {
		name := r.groupName(g)
		q := url.Values{"filter": {`displayName eq "` + name + `"`}, "excludedAttributes": {"members"}}
		rep, ok := r.send(ctx, p, "filter", http.MethodGet, "/Groups", q, nil)
		if !ok {
			return
		}
		var list listResponse
		if err := json.Unmarshal(rep.body, &list); err != nil {
			r.fail(p, "filter", http.MethodGet, "/Groups", rep, "not a ListResponse: "+err.Error())
			return
		}
		if list.TotalResults > 0 && len(list.Resources) > 0 {
			r.groups[g] = list.Resources[0].ID
			p.items.Add(1)
			return
		}
		rep, ok = r.send(ctx, p, "POST", http.MethodPost, "/Groups", nil, groupBody(name))
		if !ok {
			return
		}
		id, err := idOf(rep.body)
		if err != nil {
			r.fail(p, "POST", http.MethodPost, "/Groups", rep, err.Error())
			return
		}
		r.groups[g] = id
		p.items.Add(1)
	})
}

// groupBody is Entra's POST /Groups body (fixture 08): no members.
func groupBody(name string) []byte {
	return mustJSON(map[string]any{
		"schemas":     []string{schemaGroup, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId":  uuid(),
		"displayName": name,
		"meta":        map[string]any{"resourceType": "Group"},
	})
}

// addMembers fills each group with --members-per-group users, --batch of
// them per PATCH (fixture 10). Group g gets users g*m .. g*m+m-1 (modulo the
// user count), so groups overlap only when users are few. Jobs alternate
// between groups so that workers seldom patch the same group at once.
func (r *runner) addMembers(ctx context.Context) {
	m, batch, users := r.cfg.MembersPerGroup, r.cfg.Batch, r.cfg.Users
	if m <= 0 || users <= 0 {
		return
	}
	r.members = make([][]int, len(r.groups))
	for g := range r.groups {
		r.members[g] = make([]int, m)
		for j := range m {
			r.members[g][j] = (g*m + j) % users
		}
	}
	batches := (m + batch - 1) / batch
	r.run(ctx, "member add", len(r.groups)*batches, r.cfg.Concurrency, func(ctx context.Context, p *Phase, k int) {
		g, b := k%len(r.groups), k/len(r.groups)
		if r.groups[g] == "" {
			return
		}
		var ids []string
		for _, u := range r.members[g][b*batch : min((b+1)*batch, m)] {
			if r.users[u] != "" {
				ids = append(ids, r.users[u])
			}
		}
		if len(ids) == 0 {
			return
		}
		if _, ok := r.send(ctx, p, "PATCH", http.MethodPatch, "/Groups/"+r.groups[g], nil, memberPatch("Add", ids, true)); ok {
			p.items.Add(int64(len(ids)))
		}
	})
}

// memberPatch is Entra's member add or remove (fixtures 10 and 11): op
// "Add" or "Remove", path members, a value array. withRef adds the
// "$ref": null Entra sends; the big group leaves it out to stay under the
// server's default 1 MiB body limit.
func memberPatch(op string, ids []string, withRef bool) []byte {
	values := make([]map[string]any, len(ids))
	for i, id := range ids {
		values[i] = map[string]any{"value": id}
		if withRef {
			values[i]["$ref"] = nil
		}
	}
	return mustJSON(map[string]any{
		"schemas":    []string{schemaPatchOp},
		"Operations": []map[string]any{{"op": op, "path": "members", "value": values}},
	})
}

// readyUsers returns the indexes of the users that exist.
func (r *runner) readyUsers() []int {
	var out []int
	for i, id := range r.users {
		if id != "" {
			out = append(out, i)
		}
	}
	return out
}

// filteredGets looks up random existing users by userName, as Entra does
// before it touches one; a lookup that does not find exactly that user is
// an error.
func (r *runner) filteredGets(ctx context.Context) {
	ready := r.readyUsers()
	if len(ready) == 0 {
		return
	}
	r.run(ctx, "filtered GET", r.cfg.Gets, r.cfg.Concurrency, func(ctx context.Context, p *Phase, _ int) {
		i := ready[rand.IntN(len(ready))]
		q := url.Values{"filter": {`userName eq "` + r.userName(i) + `"`}}
		rep, ok := r.send(ctx, p, "GET", http.MethodGet, "/Users", q, nil)
		if !ok {
			return
		}
		var list listResponse
		if err := json.Unmarshal(rep.body, &list); err != nil || list.TotalResults != 1 || len(list.Resources) != 1 || list.Resources[0].ID != r.users[i] {
			r.fail(p, "GET", http.MethodGet, "/Users", rep, fmt.Sprintf("expected exactly user %s, got %.200s", r.users[i], rep.body))
			return
		}
		p.items.Add(1)
	})
}

// getsByID reads random existing users by id (GET /Users/{id}), as Entra
// does before it updates one it has matched.
func (r *runner) getsByID(ctx context.Context) {
	ready := r.readyUsers()
	if len(ready) == 0 {
		return
	}
	r.run(ctx, "GET by id", r.cfg.GetsByID, r.cfg.Concurrency, func(ctx context.Context, p *Phase, _ int) {
		i := ready[rand.IntN(len(ready))]
		rep, ok := r.send(ctx, p, "GET", http.MethodGet, "/Users/"+r.users[i], nil, nil)
		if !ok {
			return
		}
		if id, err := idOf(rep.body); err != nil || id != r.users[i] {
			r.fail(p, "GET", http.MethodGet, "/Users/"+r.users[i], rep, fmt.Sprintf("expected user %s, got %.200s", r.users[i], rep.body))
			return
		}
		p.items.Add(1)
	})
}

// patchUsers sends Entra's attribute PATCHes to the first --user-patches
// users: fixture 05's shape (work email, family name) and fixture 24's (six
// title-case Replace operations, externalId and employeeNumber included),
// alternately.
func (r *runner) patchUsers(ctx context.Context) {
	ready := r.readyUsers()
	if len(ready) == 0 {
		return
	}
	r.run(ctx, "user patch", r.cfg.UserPatches, r.cfg.Concurrency, func(ctx context.Context, p *Phase, k int) {
		i := ready[k%len(ready)]
		ops := []map[string]any{
			{"op": "Replace", "path": `emails[type eq "work"].value`, "value": fmt.Sprintf("%s.updated%07d@scimload.test", r.cfg.Prefix, i)},
			{"op": "Replace", "path": "name.familyName", "value": fmt.Sprintf("Updated%d", i)},
		}
		if k%2 == 1 {
			ops = append(ops,
				map[string]any{"op": "Replace", "path": "displayName", "value": fmt.Sprintf("Given%d Updated%d", i, i)},
				map[string]any{"op": "Replace", "path": "name.givenName", "value": fmt.Sprintf("Given%d", i)},
				map[string]any{"op": "Replace", "path": "externalId", "value": uuid()},
				map[string]any{"op": "Replace", "path": schemaEnterprise + ":employeeNumber", "value": fmt.Sprint(200000 + i)},
			)
		}
		body := mustJSON(map[string]any{"schemas": []string{schemaPatchOp}, "Operations": ops})
		if _, ok := r.send(ctx, p, "PATCH", http.MethodPatch, "/Users/"+r.users[i], nil, body); ok {
			p.items.Add(1)
		}
	})
}

// disableUsers sends Entra's disable (fixture 20, "False" as a string) to the
// last --disables users.
func (r *runner) disableUsers(ctx context.Context) {
	ready := r.readyUsers()
	if len(ready) == 0 {
		return
	}
	body := mustJSON(map[string]any{
		"schemas":    []string{schemaPatchOp},
		"Operations": []map[string]any{{"op": "Replace", "path": "active", "value": "False"}},
	})
	r.run(ctx, "disable", r.cfg.Disables, r.cfg.Concurrency, func(ctx context.Context, p *Phase, k int) {
		i := ready[len(ready)-1-k%len(ready)]
		if _, ok := r.send(ctx, p, "PATCH", http.MethodPatch, "/Users/"+r.users[i], nil, body); ok {
			p.items.Add(1)
		}
	})
}

// patchMembers sends --single-member-patches PATCHes of one member each,
// adds and removes alternately: job k works on group k%G; its round j=k/G
// adds a user outside the group's initial members (even j) or removes one of
// them (odd j).
func (r *runner) patchMembers(ctx context.Context) {
	if len(r.members) == 0 {
		return
	}
	users, m, groups := r.cfg.Users, r.cfg.MembersPerGroup, len(r.groups)
	r.run(ctx, "member patch (1)", r.cfg.SingleMemberPatches, r.cfg.Concurrency, func(ctx context.Context, p *Phase, k int) {
		g, j := k%groups, k/groups
		if r.groups[g] == "" {
			return
		}
		op, u := "Add", (g*m+m+j/2)%users
		if j%2 == 1 {
			op, u = "Remove", r.members[g][(j/2)%m]
		}
		if r.users[u] == "" {
			return
		}
		if _, ok := r.send(ctx, p, op, http.MethodPatch, "/Groups/"+r.groups[g], nil, memberPatch(op, []string{r.users[u]}, true)); ok {
			p.items.Add(1)
		}
	})
}

// bigGroup creates one group, adds --big-group members in one PATCH, then
// removes 10 of them in another; each request is its own series, so the
// table shows each latency. Users missing for it are created first, in a
// phase of their own.
func (r *runner) bigGroup(ctx context.Context) {
	n := r.cfg.BigGroup
	var missing []int
	for i, id := range r.users[:n] {
		if id == "" {
			missing = append(missing, i)
		}
	}
	r.createUsers(ctx, "big group users", missing)
	var ids []string
	for _, id := range r.users[:n] {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	addOp, removeOp := fmt.Sprintf("PATCH add %d", len(ids)), fmt.Sprintf("PATCH remove %d", min(10, len(ids)))
	r.run(ctx, "big group", 1, 1, func(ctx context.Context, p *Phase, _ int) {
		rep, ok := r.send(ctx, p, "POST group", http.MethodPost, "/Groups", nil, groupBody(r.cfg.Prefix+" big group"))
		if !ok {
			return
		}
		id, err := idOf(rep.body)
		if err != nil {
			r.fail(p, "POST group", http.MethodPost, "/Groups", rep, err.Error())
			return
		}
		if _, ok := r.send(ctx, p, addOp, http.MethodPatch, "/Groups/"+id, nil, memberPatch("Add", ids, false)); !ok {
			return
		}
		p.items.Add(int64(len(ids)))
		if _, ok := r.send(ctx, p, removeOp, http.MethodPatch, "/Groups/"+id, nil, memberPatch("Remove", ids[:min(10, len(ids))], true)); ok {
			p.items.Add(int64(min(10, len(ids))))
		}
	})
}

// mustJSON encodes a body built from maps and strings, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("scimload: encoding a request body: " + err.Error())
	}
	return b
}

// uuid returns a random version 4 UUID, as Entra's object ids are.
func uuid() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic("scimload: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToLower(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}
