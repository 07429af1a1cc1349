package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

func noEnv(string) string { return "" }

func TestParseFlags(t *testing.T) {
	base := []string{"--url", "http://127.0.0.1:8080/scim/v2/acme", "--token", "tok", "--prefix", "run1"}
	def := config{
		URL: "http://127.0.0.1:8080/scim/v2/acme", Token: "tok", Prefix: "run1",
		Phases: []string{phaseInitial, phaseIncremental},
		Users:  1000, Groups: 10, MembersPerGroup: 100, Batch: 100,
		Gets: 1000, UserPatches: 200, Disables: 50, SingleMemberPatches: 200,
		Concurrency: 8, Duration: 5 * time.Minute, Timeout: time.Minute,
	}
	with := func(f func(*config)) config {
		c := def
		c.Phases = append([]string(nil), def.Phases...)
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{name: "defaults", args: base, want: def},
		{name: "token from the environment", args: []string{"--url", def.URL, "--prefix", "run1"},
			env: map[string]string{"SCIMLOAD_TOKEN": "tok"}, want: def},
		{name: "a flag wins over the environment", args: base, env: map[string]string{"SCIMLOAD_TOKEN": "other"}, want: def},
		{name: "automatic counts follow --users", args: append(base, "--users", "5000", "--gets", "7"),
			want: with(func(c *config) {
				c.Users, c.Gets, c.UserPatches, c.Disables, c.SingleMemberPatches = 5000, 7, 1000, 250, 1000
			})},
		{name: "--posts", args: append(base, "--posts", "7"), want: with(func(c *config) { c.Posts = 7 })},
		{name: "negative posts", args: append(base, "--posts", "-1"), wantErr: "must not be negative"},
		{name: "--rate opens the loop", args: append(base, "--rate", "2000"), want: with(func(c *config) { c.Rate = 2000 })},
		{name: "a negative rate", args: append(base, "--rate", "-1"), wantErr: "--rate"},
		{name: "--big-group adds its phase", args: append(base, "--big-group", "20000"),
			want: with(func(c *config) { c.BigGroup, c.Phases = 20000, append(c.Phases, phaseBigGroup) })},
		{name: "phases listed once each", args: append(base, "--phases", "initial, initial,big-group", "--big-group", "5"),
			want: with(func(c *config) { c.BigGroup, c.Phases = 5, []string{phaseInitial, phaseBigGroup} })},
		{name: "no url", args: []string{"--token", "t"}, wantErr: "--url is required"},
		{name: "no token", args: []string{"--url", def.URL}, wantErr: "--token"},
		{name: "unknown phase", args: append(base, "--phases", "initial,steady"), wantErr: `unknown phase "steady"`},
		{name: "empty phases", args: append(base, "--phases", ""), wantErr: "unknown phase"},
		{name: "incremental alone", args: append(base, "--phases", "incremental"), wantErr: "incremental needs initial"},
		{name: "big-group without a size", args: append(base, "--phases", "big-group"), wantErr: "needs --big-group N"},
		{name: "more members than users", args: append(base, "--users", "10", "--members-per-group", "11"), wantErr: "more than --users"},
		{name: "no workers", args: append(base, "--concurrency", "0"), wantErr: "--concurrency"},
		{name: "no batch", args: append(base, "--batch", "0"), wantErr: "--batch"},
		{name: "negative users", args: append(base, "--users", "-3"), wantErr: "must not be negative"},
		{name: "negative gets", args: append(base, "--gets", "-2"), wantErr: "-1 (automatic)"},
		{name: "zero duration", args: append(base, "--duration", "0s"), wantErr: "--duration"},
		{name: "prefix with a quote", args: append(base, "--prefix", `a"b`), wantErr: "--prefix"},
		{name: "stray argument", args: append(base, "extra"), wantErr: "unexpected argument"},
		{name: "unknown flag", args: append(base, "--user", "3"), wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUsageHidesToken: help and flag mistakes print the defaults; the
// token from the environment is never one of them.
func TestUsageHidesToken(t *testing.T) {
	const secret = "scimload-token-from-env-5e1b"
	getenv := func(k string) string { return map[string]string{"SCIMLOAD_TOKEN": secret}[k] }
	for _, args := range [][]string{{"--help"}, {"--users", "many"}, {"--bogus"}} {
		var out bytes.Buffer
		if _, err := parseFlags(args, &out, getenv); err == nil {
			t.Errorf("%v accepted", args)
		}
		if !strings.Contains(out.String(), "-token") || strings.Contains(out.String(), secret) {
			t.Errorf("%v: usage shows the token from the environment, or no usage:\n%s", args, out.String())
		}
	}
}

func TestParseFlagsRandomPrefix(t *testing.T) {
	a, errA := parseFlags([]string{"--url", "http://127.0.0.1/", "--token", "t"}, io.Discard, noEnv)
	b, errB := parseFlags([]string{"--url", "http://127.0.0.1/", "--token", "t"}, io.Discard, noEnv)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.Prefix == b.Prefix || !prefixPattern.MatchString(a.Prefix) {
		t.Errorf("prefixes %q and %q: want two different valid run ids", a.Prefix, b.Prefix)
	}
}

func TestRunExitCodes(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		args       []string
		want       int
		wantOutput string
	}{
		{"bad flag", context.Background(), []string{"--users", "x"}, 2, "invalid value"},
		{"remote target", context.Background(), []string{"--url", "http://192.0.2.1/scim/v2/acme", "--token", "t"}, 2, "--allow-remote"},
		{"help", context.Background(), []string{"-h"}, 0, "-concurrency"},
		{"interrupted before the first request", canceled, []string{"--url", "http://127.0.0.1:1/scim/v2/acme", "--token", "t"}, 0, "stopped early: interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got := run(tt.ctx, tt.args, &out, &out, noEnv, net.DefaultResolver.LookupIPAddr)
			if got != tt.want || !strings.Contains(out.String(), tt.wantOutput) {
				t.Errorf("exit %d, want %d; output (want %q):\n%s", got, tt.want, tt.wantOutput, out.String())
			}
		})
	}
}

const operatorToken = "scimload-test-operator"

// startServer runs scimd in process on a loopback port, over REDIS_URL when
// it is set and the embedded store otherwise, and returns its root URL.
func startServer(t *testing.T) string {
	t.Helper()
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		e, err := storage.StartEmbedded()
		if err != nil {
			t.Fatalf("embedded redis: %v", err)
		}
		t.Cleanup(e.Close)
		redisURL = e.URL()
	}
	rdb, err := storage.NewClient(redisURL)
	if err != nil {
		t.Fatalf("redis client: %v", err)
	}
	engine, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatalf("policies: %v", err)
	}
	app := server.New(server.Config{OperatorToken: operatorToken}, provision.New(storage.New(rdb, storage.Options{}), engine, provision.Options{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := rdb.Close(); err != nil {
			t.Errorf("redis close: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// call sends one JSON request and decodes the answer into out (when not nil).
func call(t *testing.T, method, target, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, target, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// newTenant creates a tenant for one test and deletes it when the test ends.
func newTenant(t *testing.T, root string) (base, token string) {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := "scimload-" + hex.EncodeToString(b[:])
	var out struct{ SCIMBaseURL, SCIMToken string }
	if s := call(t, http.MethodPost, root+"/admin/v1/tenants", operatorToken,
		map[string]any{"id": id, "name": "Load " + id, "licenseLimit": 1000}, &out); s != http.StatusCreated {
		t.Fatalf("tenant create: %d", s)
	}
	t.Cleanup(func() {
		if s := call(t, http.MethodDelete, root+"/admin/v1/tenants/"+id, operatorToken, nil, nil); s != http.StatusNoContent {
			t.Errorf("tenant delete: %d", s)
		}
	})
	return out.SCIMBaseURL, out.SCIMToken
}

// load runs the tool with --json and returns its exit code and report.
func load(t *testing.T, args ...string) (int, report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(args, "--json"), &stdout, &stderr, noEnv, net.DefaultResolver.LookupIPAddr)
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d; stdout is not a JSON report: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	return code, rep, stderr.String()
}

// row is what the end-to-end test checks of a phase.
type row struct {
	Name           string
	Done, Requests int
	Errors         int
	Items          int64
	Ops            map[string]int // requests per series
}

func rows(rep report) []row {
	var out []row
	for _, p := range rep.Phases {
		r := row{Name: p.Name, Done: p.Done, Requests: p.Requests, Errors: p.Errors, Items: p.Items}
		for _, o := range p.Ops {
			if r.Ops == nil {
				r.Ops = map[string]int{}
			}
			r.Ops[o.Name] = o.Requests
		}
		out = append(out, r)
	}
	return out
}

// TestLoadEndToEnd runs a small load against a real server and checks the
// counts in the report and the state the server holds afterwards.
func TestLoadEndToEnd(t *testing.T) {
	root := startServer(t)
	base, token := newTenant(t, root)
	args := []string{"--url", base, "--token", token, "--prefix", "e2e", "--concurrency", "4",
		"--users", "50", "--posts", "5", "--groups", "3", "--members-per-group", "10", "--batch", "4", "--big-group", "60"}

	code, rep, stderr := load(t, args...)
	if code != 0 {
		t.Fatalf("exit %d; errors %v\n%s", code, rep.FirstErrors, stderr)
	}
	want := []row{
		{Name: "user create", Done: 50, Requests: 100, Items: 50, Ops: map[string]int{"filter": 50, "POST": 50}},
		{Name: "POST /Users", Done: 5, Requests: 5, Items: 5},
		{Name: "group create", Done: 3, Requests: 6, Items: 3, Ops: map[string]int{"filter": 3, "POST": 3}},
		{Name: "member add", Done: 9, Requests: 9, Items: 30}, // 3 groups x batches of 4, 4 and 2
		{Name: "filtered GET", Done: 50, Requests: 50, Items: 50},
		{Name: "user patch", Done: 10, Requests: 10, Items: 10},
		{Name: "disable", Done: 2, Requests: 2, Items: 2},
		{Name: "member patch (1)", Done: 10, Requests: 10, Items: 10, Ops: map[string]int{"Add": 6, "Remove": 4}},
		{Name: "big group users", Done: 10, Requests: 20, Items: 10, Ops: map[string]int{"filter": 10, "POST": 10}},
		{Name: "big group", Done: 1, Requests: 3, Items: 70, Ops: map[string]int{"POST group": 1, "PATCH add 60": 1, "PATCH remove 10": 1}},
	}
	if diff := cmp.Diff(want, rows(rep)); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}

	// What the server holds: 60 users and 5 made by --posts, 2 disabled; groups of 10
	// members to which member patch (1) sent, in rounds over the groups,
	// add, remove, add, remove (group 0 only): group 0 is back at 10, groups
	// 1 and 2 have 11; the big group has 60 - 10.
	list := func(path string, q url.Values) (out struct {
		TotalResults int
		Resources    []struct {
			DisplayName string
			Members     []struct{ Value string }
		}
	}) {
		if s := call(t, http.MethodGet, base+path+"?"+q.Encode(), token, nil, &out); s != http.StatusOK {
			t.Fatalf("GET %s: %d", path, s)
		}
		return out
	}
	if n := list("/Users", url.Values{"count": {"0"}}).TotalResults; n != 65 {
		t.Errorf("users: %d, want 65", n)
	}
	if n := list("/Users", url.Values{"count": {"0"}, "filter": {"active eq false"}}).TotalResults; n != 2 {
		t.Errorf("disabled users: %d, want 2", n)
	}
	// Every user has an employeeNumber of its own: --posts' users are
	// numbered apart, so none of their creates is a linking candidate.
	var all struct {
		Resources []map[string]any
	}
	q := url.Values{"count": {"100"}, "attributes": {schemaEnterprise + ":employeeNumber"}}
	if s := call(t, http.MethodGet, base+"/Users?"+q.Encode(), token, nil, &all); s != http.StatusOK {
		t.Fatalf("GET /Users: %d", s)
	}
	numbers := map[any]int{}
	for _, u := range all.Resources {
		ext, _ := u[schemaEnterprise].(map[string]any)
		numbers[ext["employeeNumber"]]++
	}
	if len(all.Resources) != 65 || len(numbers) != 65 {
		t.Errorf("%d users, %d distinct employeeNumbers (%v); want 65 of each", len(all.Resources), len(numbers), numbers)
	}
	sizes := map[string]int{}
	for _, g := range list("/Groups", url.Values{"attributes": {"displayName,members"}}).Resources {
		sizes[g.DisplayName] = len(g.Members)
	}
	wantSizes := map[string]int{"e2e group 00000": 10, "e2e group 00001": 11, "e2e group 00002": 11, "e2e big group": 50}
	if diff := cmp.Diff(wantSizes, sizes); diff != "" {
		t.Errorf("group sizes (-want +got):\n%s", diff)
	}

	// A rerun with the same prefix finds every user and group (Entra's
	// filter-then-create) and creates nothing.
	code, rep, stderr = load(t, "--url", base, "--token", token, "--prefix", "e2e", "--phases", "initial",
		"--users", "50", "--groups", "3", "--members-per-group", "10", "--batch", "4", "--gets", "5")
	if code != 0 {
		t.Fatalf("rerun: exit %d; errors %v\n%s", code, rep.FirstErrors, stderr)
	}
	want = []row{
		{Name: "user create", Done: 50, Requests: 50, Items: 50},
		{Name: "group create", Done: 3, Requests: 3, Items: 3},
		{Name: "member add", Done: 9, Requests: 9, Items: 30},
		{Name: "filtered GET", Done: 5, Requests: 5, Items: 5},
	}
	if diff := cmp.Diff(want, rows(rep)); diff != "" {
		t.Errorf("rerun phases (-want +got):\n%s", diff)
	}
}

// TestLoadCountsFailures: a wrong token makes every request fail; the run
// says so, shows the server's answer and exits 1.
func TestLoadCountsFailures(t *testing.T) {
	root := startServer(t)
	base, _ := newTenant(t, root)
	code, rep, _ := load(t, "--url", base, "--token", "wrong", "--users", "3", "--groups", "0", "--phases", "initial")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if diff := cmp.Diff([]row{{Name: "user create", Done: 3, Requests: 3, Errors: 3}}, rows(rep)); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
	if len(rep.FirstErrors) != 3 || !strings.Contains(rep.FirstErrors[0], "401") {
		t.Errorf("first errors: %q, want three 401s", rep.FirstErrors)
	}
}

// TestRateIsAnOpenLoop: with --rate, a job starts when due even though
// none before it has finished (here every job waits for all to start,
// which one worker of a closed loop could never do), and every job runs.
func TestRateIsAnOpenLoop(t *testing.T) {
	const total = 50
	r := newRunner(config{Rate: 1e6, Concurrency: 1}, nil)
	var started sync.WaitGroup
	started.Add(total)
	var dues atomic.Int64
	p := r.run(context.Background(), "open", total, 1, func(ctx context.Context, p *Phase, i int) {
		if d, _ := ctx.Value(dueKey{}).(*dueTime); d != nil {
			dues.Add(1)
		}
		started.Done()
		started.Wait()
	})
	if got := p.done.Load(); got != total {
		t.Errorf("%d jobs done, want %d", got, total)
	}
	if dues.Load() != total {
		t.Errorf("%d jobs knew when they were due, want %d", dues.Load(), total)
	}
}
