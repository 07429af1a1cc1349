package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/server"
)

// The change feed is written by the resolver; until a test drives one,
// entries are appended as its script writes them (storage's test helper).

func (h *harness) appendChange(tenant, user string) string {
	h.t.Helper()
	id, err := h.st.AppendFeedForTest(context.Background(), tenant, fmt.Appendf(nil,
		`{"user":%q,"old":null,"new":{"active":true,"enterprise":null,"accounts":{}},"cause":{"kind":"user_created","id":%q,"generation":1},"revision":"r1","generation":1,"at":"2026-12-06T00:00:00Z"}`, user, user))
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

type changesAnswer struct {
	Changes []struct {
		ID   string `json:"id"`
		User string `json:"user"`
	} `json:"changes"`
	Next string `json:"next"`
}

func (a changesAnswer) ids() []string {
	out := []string{}
	for _, c := range a.Changes {
		out = append(out, c.ID)
	}
	return out
}

func changesPath(tenant, query string) string {
	return "/access/v1/tenants/" + tenant + "/changes" + query
}

func TestChangesPoll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ten := h.newTenant(10)
		empty := h.newTenant(10)
		tok, emptyTok := h.decisionToken(ten, "feed"), h.decisionToken(empty, "feed")
		ids := []string{h.appendChange(ten.ID, "u1"), h.appendChange(ten.ID, "u2"), h.appendChange(ten.ID, "u3")}
		get := func(query string) changesAnswer {
			t.Helper()
			var a changesAnswer
			h.do(http.MethodGet, changesPath(ten.ID, query), tok, nil).want(200).decode(&a)
			return a
		}
		for _, tt := range []struct {
			name, query string
			want        []string
			next        string
		}{
			{"from the oldest", "?timeout=0", ids, ids[2]},
			{"a page", "?timeout=0&limit=2", ids[:2], ids[1]},
			{"the next page", "?timeout=0&limit=2&after=" + ids[1], ids[2:], ids[2]},
			{"nothing new", "?timeout=0&after=" + ids[2], []string{}, ids[2]},
			{"without timeout answers at once too", "?after=" + ids[0], ids[1:], ids[2]},
		} {
			t.Run(tt.name, func(t *testing.T) {
				a := get(tt.query)
				if d := cmp.Diff(tt.want, a.ids()); d != "" {
					t.Errorf("ids (-want +got):\n%s", d)
				}
				if a.Next != tt.next {
					t.Errorf("next = %q, want %q", a.Next, tt.next)
				}
			})
		}
		if a := get("?timeout=0&limit=1"); a.Changes[0].User != "u1" {
			t.Errorf("the entry's fields are not carried: %+v", a)
		}
		var a changesAnswer
		h.do(http.MethodGet, changesPath(empty.ID, "?timeout=0"), emptyTok, nil).want(200).decode(&a)
		if len(a.Changes) != 0 || a.Next != "0-0" {
			t.Errorf("empty feed: %+v", a)
		}

		for _, tt := range []struct {
			name, query string
		}{
			{"cursor not an id", "?after=abc"},
			{"cursor without seq", "?after=12"},
			{"negative timeout", "?timeout=-1"},
			{"timeout not a number", "?timeout=1s"},
			{"limit 0", "?limit=0"},
			{"limit above 1000", "?limit=1001"},
			{"unknown parameter", "?since=1-0"},
		} {
			t.Run("400 "+tt.name, func(t *testing.T) {
				r := h.do(http.MethodGet, changesPath(ten.ID, tt.query), tok, nil).want(400)
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Errorf("content type %q", ct)
				}
				r.detail()
			})
		}
		for _, tt := range []struct {
			name, tenant, token string
			want                int
		}{
			{"no token", ten.ID, "", 401},
			{"another tenant's decision token", ten.ID, emptyTok, 401},
			{"the SCIM token", ten.ID, ten.SCIMToken, 401},
			{"the admin token", ten.ID, ten.AdminToken, 401},
			{"the operator token", ten.ID, operatorToken, 401},
			{"a platform decision token", ten.ID, h.platformToken("feed-" + ten.ID), 200},
		} {
			t.Run(tt.name, func(t *testing.T) {
				h.do(http.MethodGet, changesPath(tt.tenant, "?timeout=0"), tt.token, nil).want(tt.want)
			})
		}

		// Two of three entries trimmed: a cursor below the floor missed one.
		if err := h.st.TrimFeedForTest(context.Background(), ten.ID, 1); err != nil {
			t.Fatal(err)
		}
		r := h.do(http.MethodGet, changesPath(ten.ID, "?timeout=0&after="+ids[0]), tok, nil).want(410)
		if !strings.Contains(r.detail(), "export") {
			t.Errorf("410 does not say to re-export: %s", r.body)
		}
		h.do(http.MethodGet, changesPath(ten.ID, "?timeout=30&after="+ids[0]), tok, nil).want(410)
		if a := get("?timeout=0&after=" + ids[1]); !cmp.Equal(a.ids(), ids[2:]) {
			t.Errorf("at the floor: %v, want %v", a.ids(), ids[2:])
		}
		if a := get("?timeout=0"); !cmp.Equal(a.ids(), ids[2:]) {
			t.Errorf("from the oldest retained: %v, want %v", a.ids(), ids[2:])
		}
	})
}

// forEachBackendConfig is forEachBackend with the server's configuration
// changed by set.
func forEachBackendConfig(t *testing.T, set func(*server.Config), fn func(t *testing.T, h *harness)) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			fn(t, newHarnessConfig(t, url, set))
		})
	}
}

// waitSubscribed waits until the hub has n waiters on tenant's feed.
func (h *harness) waitSubscribed(tenant string, n int) {
	h.t.Helper()
	for h.srv.Feed.Subscribers(tenant) < n {
		runtime.Gosched()
	}
}

func TestChangesLongPoll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ten := h.newTenant(10)
		tok := h.decisionToken(ten, "feed")
		first := h.appendChange(ten.ID, "u1")
		got := make(chan response, 1)
		go func() {
			got <- h.do(http.MethodGet, changesPath(ten.ID, "?timeout=60&after="+first), tok, nil)
		}()
		h.waitSubscribed(ten.ID, 1)
		second := h.appendChange(ten.ID, "u2")
		var a changesAnswer
		(<-got).want(200).decode(&a)
		if !cmp.Equal(a.ids(), []string{second}) || a.Next != second {
			t.Errorf("woken with %+v, want %s", a, second)
		}
		if n := h.srv.Feed.Subscribers(ten.ID); n != 0 {
			t.Errorf("%d subscribers left after the poll", n)
		}

		// A poll that nothing wakes answers empty when its timeout ends.
		h.do(http.MethodGet, changesPath(ten.ID, "?timeout=1&after="+second), tok, nil).want(200).decode(&a)
		if len(a.Changes) != 0 || a.Next != second {
			t.Errorf("timed out poll: %+v", a)
		}
	})
}

// stream opens the tenant's change stream on a real connection; lastID
// resumes. It answers the response (body open unless the status is not
// 200).
func openStream(t *testing.T, addr, tenant, token, lastID string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+changesPath(tenant, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	// A transport of its own: each stream is a connection of its own.
	c := &http.Client{Transport: &http.Transport{}}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

type sseEvent struct {
	ID, Event, Data string
	Comment         string
}

// readEvent reads one block of the stream (an event or a comment).
func readEvent(t *testing.T, r *bufio.Reader) (sseEvent, error) {
	t.Helper()
	var e sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return e, nil
		case strings.HasPrefix(line, ":"):
			e.Comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			e.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.Data += line[6:]
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

// nextEvent skips comments to the next event.
func nextEvent(t *testing.T, r *bufio.Reader) sseEvent {
	t.Helper()
	for {
		e, err := readEvent(t, r)
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if e.Comment == "" {
			return e
		}
	}
}

func TestChangesEventStream(t *testing.T) {
	// No heartbeat comes to re-read the feed: the new entry must wake the stream.
	forEachBackendConfig(t, func(c *server.Config) { c.FeedHeartbeat = time.Hour }, func(t *testing.T, h *harness) {
		addr := serve(t, h)
		t.Cleanup(h.srv.Stop) // before the app's shutdown, which waits for streams
		ten := h.newTenant(10)
		tok := h.decisionToken(ten, "feed")
		ids := []string{h.appendChange(ten.ID, "u1"), h.appendChange(ten.ID, "u2")}

		res := openStream(t, addr, ten.ID, tok, "")
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		r := bufio.NewReader(res.Body)
		for _, id := range ids {
			if e := nextEvent(t, r); e.ID != id || !strings.Contains(e.Data, `"user":"u`) {
				t.Fatalf("event %+v, want id %s", e, id)
			}
		}
		h.waitSubscribed(ten.ID, 1)
		ids = append(ids, h.appendChange(ten.ID, "u3"))
		if e := nextEvent(t, r); e.ID != ids[2] || !strings.Contains(e.Data, `"user":"u3"`) {
			t.Fatalf("event %+v, want id %s", e, ids[2])
		}
		res.Body.Close()

		// An EventSource reconnects with the last id it saw.
		res = openStream(t, addr, ten.ID, tok, ids[0])
		r = bufio.NewReader(res.Body)
		for _, id := range ids[1:] {
			if e := nextEvent(t, r); e.ID != id {
				t.Fatalf("resumed with %+v, want id %s", e, id)
			}
		}
		res.Body.Close()

		if res := openStream(t, addr, ten.ID, tok, "not-a-cursor"); res.StatusCode != 400 {
			t.Errorf("bad Last-Event-ID: status %d", res.StatusCode)
		}
		if err := h.st.TrimFeedForTest(context.Background(), ten.ID, 1); err != nil {
			t.Fatal(err)
		}
		if res := openStream(t, addr, ten.ID, tok, ids[0]); res.StatusCode != 410 {
			t.Errorf("expired Last-Event-ID: status %d", res.StatusCode)
		}
	})
}

func TestChangesHeartbeat(t *testing.T) {
	forEachBackendConfig(t, func(c *server.Config) { c.FeedHeartbeat = 20 * time.Millisecond }, func(t *testing.T, h *harness) {
		addr := serve(t, h)
		t.Cleanup(h.srv.Stop)
		ten := h.newTenant(10)
		tok := h.decisionToken(ten, "feed")
		r := bufio.NewReader(openStream(t, addr, ten.ID, tok, "").Body)
		for {
			e, err := readEvent(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if e.Comment == "heartbeat" {
				break
			}
		}
	})
}

func TestChangesStreamCaps(t *testing.T) {
	forEachBackendConfig(t, func(c *server.Config) {
		c.FeedHub.StreamsPerTenant = 1
		c.FeedHub.Streams = 2
	}, func(t *testing.T, h *harness) {
		addr := serve(t, h)
		t.Cleanup(h.srv.Stop)
		a, b, c := h.newTenant(10), h.newTenant(10), h.newTenant(10)
		at, bt, ct := h.decisionToken(a, "feed"), h.decisionToken(b, "feed"), h.decisionToken(c, "feed")
		if res := openStream(t, addr, a.ID, at, ""); res.StatusCode != 200 {
			t.Fatalf("first stream: %d", res.StatusCode)
		}
		if res := openStream(t, addr, a.ID, at, ""); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
			t.Errorf("second stream of a tenant: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
		h.do(http.MethodGet, changesPath(a.ID, "?timeout=30"), at, nil).want(429)
		h.do(http.MethodGet, changesPath(a.ID, "?timeout=0"), at, nil).want(200)
		if res := openStream(t, addr, b.ID, bt, ""); res.StatusCode != 200 {
			t.Errorf("another tenant's stream: %d", res.StatusCode)
		}
		if res := openStream(t, addr, c.ID, ct, ""); res.StatusCode != 503 {
			t.Errorf("a stream beyond the process's cap: %d", res.StatusCode)
		}
	})
}

func TestChangesStopEndsStreams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		addr := serve(t, h)
		ten := h.newTenant(10)
		tok := h.decisionToken(ten, "feed")
		res := openStream(t, addr, ten.ID, tok, "")
		r := bufio.NewReader(res.Body)
		if e, err := readEvent(t, r); err != nil || e.Comment == "" {
			t.Fatalf("first block %+v, %v", e, err)
		}
		last := h.appendChange(ten.ID, "u1")
		polled := make(chan response, 1)
		go func() {
			polled <- h.do(http.MethodGet, changesPath(ten.ID, "?timeout=60&after="+last), tok, nil)
		}()
		h.waitSubscribed(ten.ID, 2)
		h.srv.Stop()
		// The stream ends (EOF) and the poll answers, without waiting for
		// a heartbeat or the poll's timeout.
		for {
			if _, err := readEvent(t, r); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("stream ended with %v, want EOF", err)
			}
		}
		var a changesAnswer
		(<-polled).want(200).decode(&a)
		if len(a.Changes) != 0 || a.Next != last {
			t.Errorf("poll at shutdown: %+v", a)
		}
		if res := openStream(t, addr, ten.ID, tok, ""); res.StatusCode != 503 {
			t.Errorf("stream after stop: %d", res.StatusCode)
		}
	})
}

// An event stream has no end of its own: revoking its token (or deleting
// the tenant) must end it, not leave it following the feed.
func TestChangesStreamEndsWhenTokenRevoked(t *testing.T) {
	forEachBackendConfig(t, func(c *server.Config) { c.FeedHeartbeat = 20 * time.Millisecond }, func(t *testing.T, h *harness) {
		addr := serve(t, h)
		t.Cleanup(h.srv.Stop)
		ten := h.newTenant(10)
		tok := h.decisionToken(ten, "feed")
		r := bufio.NewReader(openStream(t, addr, ten.ID, tok, "").Body)
		if e, err := readEvent(t, r); err != nil || e.Comment == "" {
			t.Fatalf("opening comment: %+v, %v", e, err)
		}
		h.do(http.MethodDelete, adminPath(ten)+"/decision-tokens/feed", ten.AdminToken, nil).want(200)
		// Heartbeats are counted, not timed: the check runs at each one.
		for beats := 0; ; {
			e, err := readEvent(t, r)
			if err != nil {
				t.Fatalf("stream ended without saying why: %v", err)
			}
			if e.Event == "revoked" {
				break
			}
			if beats++; beats > 200 {
				t.Fatal("the stream still runs 200 heartbeats after its token was revoked")
			}
		}
		if _, err := r.ReadByte(); err == nil {
			t.Error("the stream went on after the revoked event")
		}
	})
}

// TestChangesFromResolver: a SCIM write, decided by the running resolver,
// reaches a waiting long poll and an open event stream through the feed.
func TestChangesFromResolver(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, url string) {
		h := newResolverHarness(t, url)
		addr := serve(t, h)
		t.Cleanup(h.srv.Stop)
		ten := h.newTenant(10)
		tok := h.decisionToken(ten, "feed")
		var start changesAnswer
		h.do(http.MethodGet, changesPath(ten.ID, "?timeout=0"), tok, nil).want(200).decode(&start)
		stream := bufio.NewReader(openStream(t, addr, ten.ID, tok, start.Next).Body)
		polled := make(chan response, 1)
		go func() {
			polled <- h.do(http.MethodGet, changesPath(ten.ID, "?timeout=60&after="+start.Next), tok, nil)
		}()
		h.waitSubscribed(ten.ID, 2)
		id, _ := h.do(http.MethodPost, ten.Base+"/Users", ten.SCIMToken, userBody("feed.user@example.com")).want(201).json()["id"].(string)
		var a changesAnswer
		(<-polled).want(200).decode(&a)
		if len(a.Changes) == 0 || a.Changes[0].User != id {
			t.Fatalf("poll woke with %+v, want the new user %s", a, id)
		}
		if e := nextEvent(t, stream); e.ID != a.Changes[0].ID || !strings.Contains(e.Data, id) {
			t.Errorf("stream event %+v, want %s", e, a.Changes[0].ID)
		}
	})
}
