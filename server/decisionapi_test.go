package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
)

// The decision API's tests write decision records themselves, in the
// format of ACCESS.md, so that what is read is known exactly.

func accessPath(tn tenant) string { return "/access/v1/tenants/" + tn.ID }

// putDecision stores a decision record for user uid of tn and returns it.
func (h *harness) putDecision(tn tenant, uid, etag string, active bool) map[string]any {
	h.t.Helper()
	rec := map[string]any{
		"user": uid, "active": active,
		"enterprise": map[string]any{"role": "Enterprise Admin", "score": 90, "rule": "highest_score"},
		"accounts":   map[string]any{"news": map[string]any{"role": "Editor", "score": 50, "rule": "sub_account_override"}, "sport": nil},
		"revision":   "rev1", "generation": 7, "input_hash": "secret-input-hash", "etag": etag,
		"decided_at": "2026-12-06T00:00:00Z", "stale": false,
	}
	h.putRecord(tn, uid, rec)
	return rec
}

// putRecord stores rec as the decision record of user uid of tn.
func (h *harness) putRecord(tn tenant, uid string, rec map[string]any) {
	h.t.Helper()
	raw, err := json.Marshal(rec)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.rdb.Set(context.Background(), "t:{"+tn.ID+"}:access:user:"+uid, raw, 0).Err(); err != nil {
		h.t.Fatal(err)
	}
}

// scimUser creates a user through SCIM and returns its id.
func (h *harness) scimUser(tn tenant, userName string, extra ...string) string {
	h.t.Helper()
	id, _ := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(userName, extra...)).want(201).json()["id"].(string)
	if id == "" {
		h.t.Fatal("no id")
	}
	return id
}

func (h *harness) decisionToken(tn tenant, name string) string {
	h.t.Helper()
	tok, _ := h.do(http.MethodPost, adminPath(tn)+"/decision-tokens", tn.AdminToken, map[string]any{"name": name}).want(201).json()["token"].(string)
	if !strings.HasPrefix(tok, "scimd_dec_") {
		h.t.Fatalf("decision token %q", tok)
	}
	return tok
}

func (h *harness) platformToken(name string) string {
	h.t.Helper()
	tok, _ := h.do(http.MethodPost, "/admin/v1/decision-tokens", operatorToken, map[string]any{"name": name}).want(201).json()["token"].(string)
	if !strings.HasPrefix(tok, "scimd_pdec_") {
		h.t.Fatalf("platform decision token %q", tok)
	}
	h.t.Cleanup(func() { h.do(http.MethodDelete, "/admin/v1/decision-tokens/"+url.PathEscape(name), operatorToken, nil) })
	return tok
}

// TestDecisionTokens: minted by an admin or the operator, shown once,
// listed by name only, revoked (at once on this replica), capped; platform
// tokens by the operator only.
func TestDecisionTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		uid := h.scimUser(tn, "ann@x.example")
		h.putDecision(tn, uid, "e1", true)
		tok := h.decisionToken(tn, "login-service")
		h.do(http.MethodGet, accessPath(tn)+"/users/"+uid, tok, nil).want(200)
		h.do(http.MethodPost, adminPath(tn)+"/decision-tokens", operatorToken, map[string]any{"name": "login-service"}).want(201)

		list := h.do(http.MethodGet, adminPath(tn)+"/decision-tokens", tn.AdminToken, nil).want(200)
		if strings.Contains(list.text(), tok) || strings.Contains(list.text(), "scimd_dec_") {
			t.Fatalf("the list shows a token: %s", list.body)
		}
		var names struct {
			DecisionTokens []struct {
				Name   string
				Tokens int
			}
		}
		list.decode(&names)
		if len(names.DecisionTokens) != 1 || names.DecisionTokens[0].Name != "login-service" || names.DecisionTokens[0].Tokens != 2 {
			t.Fatalf("list: %s", list.body)
		}
		h.do(http.MethodPost, adminPath(tn)+"/decision-tokens", tn.AdminToken, map[string]any{"name": ""}).want(400)
		h.do(http.MethodPost, adminPath(tn)+"/decision-tokens", tn.AdminToken, map[string]any{"nom": "x"}).want(400)

		if n := h.do(http.MethodDelete, adminPath(tn)+"/decision-tokens/login-service", tn.AdminToken, nil).want(200).json()["revoked"]; n != float64(2) {
			t.Fatalf("revoked %v, want 2", n)
		}
		h.do(http.MethodGet, accessPath(tn)+"/users/"+uid, tok, nil).want(401)
		h.do(http.MethodDelete, adminPath(tn)+"/decision-tokens/login-service", tn.AdminToken, nil).want(404)

		// The cap, as admin tokens have one.
		for i := 0; i < 100; i++ {
			h.do(http.MethodPost, adminPath(tn)+"/decision-tokens", operatorToken, map[string]any{"name": fmt.Sprintf("svc-%d", i)}).want(201)
		}
		h.do(http.MethodPost, adminPath(tn)+"/decision-tokens", operatorToken, map[string]any{"name": "one-too-many"}).want(403).detail()

		// Platform tokens: the operator's alone.
		h.do(http.MethodPost, "/admin/v1/decision-tokens", tn.AdminToken, map[string]any{"name": "platform"}).want(401)
		name := "platform-" + tn.ID
		ptok := h.platformToken(name)
		h.do(http.MethodGet, accessPath(tn)+"/users/"+uid, ptok, nil).want(200)
		plist := h.do(http.MethodGet, "/admin/v1/decision-tokens", operatorToken, nil).want(200)
		if strings.Contains(plist.text(), ptok) || !strings.Contains(plist.text(), name) {
			t.Fatalf("platform list: %s", plist.body)
		}
		h.do(http.MethodGet, "/admin/v1/decision-tokens", tn.AdminToken, nil).want(401)
		h.do(http.MethodDelete, "/admin/v1/decision-tokens/"+url.PathEscape(name), operatorToken, nil).want(200)
		h.do(http.MethodGet, accessPath(tn)+"/users/"+uid, ptok, nil).want(401)
	})
}

// TestDecisionTokenReadsNothingElse: a decision token (the tenant's or the
// platform's) is refused by every admin and SCIM route the app has (the
// list comes from the app, so a route added later is checked too), cannot
// read another tenant's decisions, and the decision API takes no other
// kind of token.
func TestDecisionTokenReadsNothingElse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, other := h.newTenant(10), h.newTenant(10)
		uid := h.scimUser(tn, "ann@x.example")
		h.putDecision(tn, uid, "e1", true)
		otherUID := h.scimUser(other, "bo@x.example")
		h.putDecision(other, otherUID, "e2", true)
		tok := h.decisionToken(tn, "svc")
		ptok := h.platformToken("platform-" + tn.ID)

		seen := 0
		for _, r := range h.app.GetRoutes(true) {
			if !strings.HasPrefix(r.Path, "/admin/") && !strings.HasPrefix(r.Path, "/scim/") {
				continue
			}
			if r.Method == http.MethodConnect || r.Method == http.MethodTrace || r.Path == "/admin/v1/openapi.json" {
				continue // the API's description is public
			}
			path := strings.NewReplacer(":tenant", tn.ID, ":id", uid, ":name", "svc", "*", "Users").Replace(r.Path)
			for kind, token := range map[string]string{"tenant": tok, "platform": ptok} {
				res := h.do(r.Method, path, token, "{}")
				if res.status != http.StatusUnauthorized && res.status != http.StatusForbidden {
					t.Errorf("%s token on %s %s: status %d, want 401 or 403; body: %s", kind, r.Method, path, res.status, res.body)
				}
			}
			seen++
		}
		if seen < 40 {
			t.Fatalf("only %d admin and SCIM routes found", seen)
		}

		// Another tenant's decisions: not with this tenant's token.
		for _, p := range []string{"/users/" + otherUID, "/users?userName=bo@x.example", "/users.ndjson", "/changes?timeout=0"} {
			h.do(http.MethodGet, accessPath(other)+p, tok, nil).want(401)
		}
		h.do(http.MethodPost, accessPath(other)+"/users/batch", tok, map[string]any{"ids": []string{otherUID}}).want(401)
		// The platform token reads both.
		h.do(http.MethodGet, accessPath(other)+"/users/"+otherUID, ptok, nil).want(200)

		// No other kind of token reads decisions.
		otherDec := h.decisionToken(other, "svc")
		for kind, token := range map[string]string{"admin": tn.AdminToken, "scim": tn.SCIMToken, "operator": operatorToken, "other tenant's decision": otherDec, "none": ""} {
			for _, r := range h.app.GetRoutes(true) {
				if !strings.HasPrefix(r.Path, "/access/") || r.Method == http.MethodHead {
					continue
				}
				path := strings.NewReplacer(":tenant", tn.ID, ":id", uid).Replace(r.Path)
				res := h.do(r.Method, path, token, map[string]any{"ids": []string{uid}})
				if res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s token on %s %s: status %d, want 401 with a challenge; body: %s", kind, r.Method, path, res.status, res.body)
				}
			}
		}
	})
}

type decisionOut struct {
	User       string
	Active     bool
	Enterprise map[string]any
	Accounts   map[string]any
	Revision   string
	Generation int64
	Stale      bool
	ETag       string
	Pending    bool
}

// TestDecisionRead: one user's decision with its ETag (304 when it holds),
// by id, by userName (as uniqueness compares it) and by externalId (a list).
func TestDecisionRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		tok := h.decisionToken(tn, "svc")
		ann := h.scimUser(tn, "Ann.Lee@X.example", `,"externalId":"alee"`)
		ann2 := h.scimUser(tn, "ann.lee@y.example", `,"externalId":"alee"`)
		bo := h.scimUser(tn, "bo@x.example")
		h.putDecision(tn, ann, "e1", true)
		h.putDecision(tn, ann2, "e2", false)

		res := h.do(http.MethodGet, accessPath(tn)+"/users/"+ann, tok, nil).want(200)
		if strings.Contains(res.text(), "input_hash") || strings.Contains(res.text(), "secret-input-hash") {
			t.Fatalf("internals shown: %s", res.body)
		}
		var d decisionOut
		res.decode(&d)
		if d.User != ann || !d.Active || d.Enterprise["role"] != "Enterprise Admin" || d.Accounts["news"] == nil || d.Revision != "rev1" || d.Generation != 7 || d.Stale {
			t.Fatalf("decision: %s", res.body)
		}
		if _, ok := d.Accounts["sport"]; !ok {
			t.Fatalf("a sub-account without a role is missing: %s", res.body)
		}
		if res.header.Get("ETag") != `"e1"` || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
			t.Fatalf("headers: %v", res.header)
		}
		h.do(http.MethodGet, accessPath(tn)+"/users/"+ann, tok, nil, "If-None-Match", `"e1"`).want(304)
		h.do(http.MethodGet, accessPath(tn)+"/users/"+ann, tok, nil, "If-None-Match", `"x", W/"e1"`).want(304)
		h.do(http.MethodGet, accessPath(tn)+"/users/"+ann, tok, nil, "If-None-Match", `"e0"`).want(200)
		h.putDecision(tn, ann, "e3", true)
		if got := h.do(http.MethodGet, accessPath(tn)+"/users/"+ann, tok, nil, "If-None-Match", `"e1"`).want(200).header.Get("ETag"); got != `"e3"` {
			t.Fatalf("ETag after a change: %s", got)
		}

		// By userName: case, width and invisible characters do not matter.
		for _, q := range []string{"Ann.Lee@X.example", "ANN.LEE@x.EXAMPLE", "Ａｎｎ.Lee@X.example", "Ann.Lee\u200b@X.example"} {
			res := h.do(http.MethodGet, accessPath(tn)+"/users?userName="+url.QueryEscape(q), tok, nil).want(200)
			if res.decode(&d); d.User != ann || res.header.Get("ETag") != `"e3"` {
				t.Fatalf("userName %q: %s", q, res.body)
			}
		}
		h.do(http.MethodGet, accessPath(tn)+"/users?userName=Ann.Lee@X.example", tok, nil, "If-None-Match", `"e3"`).want(304)
		h.do(http.MethodGet, accessPath(tn)+"/users?userName=nobody@x.example", tok, nil).want(404).detail()

		// By externalId: every holder.
		var list struct {
			Decisions []decisionOut
			More      bool
		}
		h.do(http.MethodGet, accessPath(tn)+"/users?externalId=alee", tok, nil).want(200).decode(&list)
		got := map[string]bool{}
		for _, d := range list.Decisions {
			got[d.User] = d.Active
		}
		if len(list.Decisions) != 2 || got[ann] != true || got[ann2] != false || list.More {
			t.Fatalf("externalId: %+v", list)
		}
		h.do(http.MethodGet, accessPath(tn)+"/users?externalId=nobody", tok, nil).want(200).decode(&list)
		if len(list.Decisions) != 0 {
			t.Fatalf("externalId nobody: %+v", list)
		}

		// Bad questions: precise 4xx.
		h.do(http.MethodGet, accessPath(tn)+"/users/no-such-user", tok, nil).want(404).detail()
		h.do(http.MethodGet, accessPath(tn)+"/users", tok, nil).want(400).detail()
		h.do(http.MethodGet, accessPath(tn)+"/users?userName=a&externalId=b", tok, nil).want(400).detail()
		h.do(http.MethodGet, accessPath(tn)+"/users?userName=", tok, nil).want(400).detail()
		h.do(http.MethodGet, accessPath(tn)+"/users?username=a", tok, nil).want(400).detail()
		h.do(http.MethodGet, accessPath(tn)+"/users/"+ann+"?pretty=1", tok, nil).want(400).detail()
		ptok := h.platformToken("platform-" + tn.ID)
		h.do(http.MethodGet, "/access/v1/tenants/no-such-tenant/users/"+ann, ptok, nil).want(404).detail()

		// A user the resolver has not decided yet is decided on read by
		// the policies (the real resolver, as Assemble wires it), and
		// stored: the next read answers the same decision.
		res = h.do(http.MethodGet, accessPath(tn)+"/users/"+bo, tok, nil).want(200)
		res.decode(&d)
		if d.User != bo || !d.Active || d.Revision == "" || d.ETag == "" || res.header.Get("ETag") != `"`+d.ETag+`"` {
			t.Fatalf("decided on read: %s", res.body)
		}
		h.do(http.MethodGet, accessPath(tn)+"/users/"+bo, tok, nil, "If-None-Match", `"`+d.ETag+`"`).want(304)
	})
}

// TestDecisionBatch: up to 1,000 ids in one request, unknown ones named as
// missing; 1,001 is a 400.
func TestDecisionBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		tok := h.decisionToken(tn, "svc")
		a, b := h.scimUser(tn, "a@x.example"), h.scimUser(tn, "b@x.example")
		h.putDecision(tn, a, "ea", true)
		h.putDecision(tn, b, "eb", false)
		var out struct {
			Decisions []decisionOut
			Missing   []string
			Pending   []string
		}
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": []string{b, "ghost", a, b}}).want(200).decode(&out)
		if len(out.Decisions) != 2 || out.Decisions[0].User != b || out.Decisions[1].User != a || out.Decisions[0].ETag != "eb" ||
			len(out.Missing) != 1 || out.Missing[0] != "ghost" || len(out.Pending) != 0 {
			t.Fatalf("batch: %+v", out)
		}

		ids := make([]string, 1000)
		for i := range ids {
			ids[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		}
		ids[0] = a
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": ids}).want(200).decode(&out)
		if len(out.Decisions) != 1 || len(out.Missing) != 999 {
			t.Fatalf("batch of 1000: %d decisions, %d missing", len(out.Decisions), len(out.Missing))
		}
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": append(ids, "one-more")}).want(400).detail()
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, `{"ids": "a"}`).want(400).detail()
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, `{"id": ["a"]}`).want(400).detail()
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, strings.Repeat("x", 300<<10)).want(413)
	})
}

// TestDecisionExport: every user's decision, one JSON line each, in
// creation order, across pages.
func TestDecisionExport(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessConfig(t, url, func(c *server.Config) { c.AccessExportPage = 2 })
			tn := h.newTenant(10)
			tok := h.decisionToken(tn, "svc")
			var ids []string
			for i := 0; i < 7; i++ {
				id := h.scimUser(tn, fmt.Sprintf("u%d@x.example", i))
				h.putDecision(tn, id, fmt.Sprintf("e%d", i), i%2 == 0)
				ids = append(ids, id)
			}
			res := h.do(http.MethodGet, accessPath(tn)+"/users.ndjson", tok, nil).want(200)
			if ct := res.header.Get("Content-Type"); ct != "application/x-ndjson" {
				t.Fatalf("Content-Type %q", ct)
			}
			var got []string
			sc := bufio.NewScanner(bytes.NewReader(res.body))
			for sc.Scan() {
				var d decisionOut
				if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				if d.ETag != fmt.Sprintf("e%d", len(got)) {
					t.Fatalf("line %d: %s", len(got), sc.Text())
				}
				got = append(got, d.User)
			}
			if strings.Join(got, ",") != strings.Join(ids, ",") {
				t.Fatalf("export order %v, want %v", got, ids)
			}

			empty := h.newTenant(10)
			etok := h.decisionToken(empty, "svc")
			if res := h.do(http.MethodGet, accessPath(empty)+"/users.ndjson", etok, nil).want(200); len(res.body) != 0 {
				t.Fatalf("empty export: %q", res.body)
			}
			ptok := h.platformToken("platform-" + tn.ID)
			h.do(http.MethodGet, "/access/v1/tenants/no-such-tenant/users.ndjson", ptok, nil).want(404).detail()
		})
	}
}

// TestDecisionRateLimit: a tenant's decision reads beyond its rate are 429
// with Retry-After; another tenant is not affected.
func TestDecisionRateLimit(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarnessConfig(t, url, func(c *server.Config) { c.AccessRateLimit, c.AccessRateBurst = 0.001, 2 })
			tn, other := h.newTenant(10), h.newTenant(10)
			tok, otok := h.decisionToken(tn, "svc"), h.decisionToken(other, "svc")
			uid := h.scimUser(tn, "a@x.example")
			h.putDecision(tn, uid, "e", true)
			h.do(http.MethodGet, accessPath(tn)+"/users/"+uid, tok, nil).want(200)
			h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": []string{uid}}).want(200)
			res := h.do(http.MethodGet, accessPath(tn)+"/users/"+uid, tok, nil).want(429)
			if res.header.Get("Retry-After") == "" || res.detail() == "" {
				t.Fatalf("429 without Retry-After: %v", res.header)
			}
			h.do(http.MethodGet, accessPath(other)+"/users/nobody", otok, nil).want(404)
		})
	}
}

// fakeResolver decides by writing a fixed record, as the resolver's
// ResolveNow writes the policy's; or fails.
type fakeResolver struct {
	h     *harness
	tn    tenant
	fail  bool
	calls []string
}

func (r *fakeResolver) ResolveNow(_ context.Context, tenant, uid string) error {
	r.calls = append(r.calls, uid)
	if r.fail {
		return fmt.Errorf("policy error")
	}
	r.h.putDecision(r.tn, uid, "decided-"+uid, true)
	return nil
}

// TestDecisionDecidedOnRead: a user that exists but has no decision yet is
// decided on read through the resolver (by id, by userName, in a batch, in
// an export); when that fails the answer is 503 or pending, never a 404 or a
// 500; an unknown user never reaches the resolver.
func TestDecisionDecidedOnRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		tok := h.decisionToken(tn, "svc")
		a, b, c := h.scimUser(tn, "a@x.example"), h.scimUser(tn, "b@x.example"), h.scimUser(tn, "c@x.example")
		r := &fakeResolver{h: h, tn: tn, fail: true}
		h.svc.SetResolver(r)

		res := h.do(http.MethodGet, accessPath(tn)+"/users/"+a, tok, nil).want(503)
		if res.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		var batch struct {
			Decisions []decisionOut
			Missing   []string
			Pending   []string
		}
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": []string{a, "ghost"}}).want(200).decode(&batch)
		if len(batch.Decisions) != 0 || len(batch.Pending) != 1 || batch.Pending[0] != a || len(batch.Missing) != 1 {
			t.Fatalf("batch while the resolver fails: %+v", batch)
		}
		if res := h.do(http.MethodGet, accessPath(tn)+"/users.ndjson", tok, nil).want(200); !strings.Contains(res.text(), `{"user":"`+a+`","pending":true}`) {
			t.Fatalf("export while the resolver fails: %s", res.body)
		}

		r.fail, r.calls = false, nil
		var d decisionOut
		h.do(http.MethodGet, accessPath(tn)+"/users/"+a, tok, nil).want(200).decode(&d)
		if d.User != a || d.ETag != "decided-"+a {
			t.Fatalf("decided on read: %+v", d)
		}
		h.do(http.MethodGet, accessPath(tn)+"/users?userName=B@X.example", tok, nil).want(200).decode(&d)
		if d.User != b {
			t.Fatalf("by userName: %+v", d)
		}
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": []string{c, a, "ghost"}}).want(200).decode(&batch)
		if len(batch.Decisions) != 2 || batch.Decisions[0].User != c || len(batch.Pending) != 0 {
			t.Fatalf("batch: %+v", batch)
		}
		h.do(http.MethodGet, accessPath(tn)+"/users/ghost", tok, nil).want(404)
		if strings.Join(r.calls, ",") != strings.Join([]string{a, b, c}, ",") {
			t.Fatalf("the resolver was asked for %v, want each undecided user once", r.calls)
		}
	})
}

// TestDecidedOnReadIsBounded: one batch decides at most
// provision.MaxDecidedOnRead undecided users on the spot; the rest are
// pending, left to the resolver, so a request's cost does not grow with
// the number of undecided users it names.
func TestDecidedOnReadIsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		tok := h.decisionToken(tn, "svc")
		ids := make([]string, provision.MaxDecidedOnRead+5)
		for i := range ids {
			ids[i] = h.scimUser(tn, fmt.Sprintf("u%d@x.example", i))
		}
		r := &fakeResolver{h: h, tn: tn}
		h.svc.SetResolver(r)
		var batch struct {
			Decisions []decisionOut
			Missing   []string
			Pending   []string
		}
		h.do(http.MethodPost, accessPath(tn)+"/users/batch", tok, map[string]any{"ids": ids}).want(200).decode(&batch)
		if len(batch.Decisions) != provision.MaxDecidedOnRead || len(batch.Pending) != 5 || len(r.calls) != provision.MaxDecidedOnRead {
			t.Fatalf("batch of %d undecided users: %d decided, %d pending, %d asked of the resolver", len(ids), len(batch.Decisions), len(batch.Pending), len(r.calls))
		}
		// The export page decides as many, no more.
		r.calls = nil
		h.do(http.MethodGet, accessPath(tn)+"/users.ndjson", tok, nil).want(200)
		if len(r.calls) > provision.MaxDecidedOnRead {
			t.Fatalf("an export page asked the resolver for %d users", len(r.calls))
		}
	})
}
