package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestServeDemo: `serve --demo` prints the console URL with the demo
// tenant's id and an admin token that works, and the tenant is populated
// the way the console's pages need: sub-accounts, a custom role, SCIM and
// manual users, groups with members and grants, a nearly full license with
// a refused user, a seat request, provisioning status and audit history.
func TestServeDemo(t *testing.T) {
	var out bytes.Buffer
	m := serveForTest(t, &out, "--demo")
	base := "http://" + m.ln.Addr().String()
	match := regexp.MustCompile(`open (\S+) and sign in with tenant id "demo" and admin token (\S+)`).FindStringSubmatch(out.String())
	if match == nil || match[1] != base+"/console/" {
		t.Fatalf("output %q does not give %s/console/ and a token", out.String(), base)
	}
	token := match[2]
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/admin/v1/tenants/demo"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var lic struct {
		Limit, SeatsUsed, RefusedAttempts int
		RecentRefusals                    []struct{ UserName, Reason string }
	}
	get("/license", &lic)
	if lic.Limit != 12 || lic.SeatsUsed != 11 || lic.RefusedAttempts != 1 || len(lic.RecentRefusals) != 1 || lic.RecentRefusals[0].UserName != "ivan.petrov@demo.example" {
		t.Errorf("license %+v, want 11 of 12 seats and Ivan refused", lic)
	}
	var users struct {
		Users []struct {
			ManagedBy string
			Active    bool
		}
	}
	get("/users", &users)
	kinds := map[string]int{}
	for _, u := range users.Users {
		kinds[u.ManagedBy]++
		if !u.Active {
			kinds["inactive"]++
		}
	}
	if kinds["scim"] != 8 || kinds["manual"] != 4 || kinds["inactive"] != 1 {
		t.Errorf("users by kind %v", kinds)
	}
	var groups struct {
		Groups []struct {
			DisplayName, ManagedBy string
			Grants                 []any
		}
	}
	get("/groups", &groups)
	granting, app := 0, 0
	for _, g := range groups.Groups {
		if len(g.Grants) > 0 {
			granting++
		}
		if g.ManagedBy == "manual" {
			app++
		}
	}
	if len(groups.Groups) != 7 || granting != 6 || app != 1 {
		t.Errorf("groups %+v", groups)
	}
	var accounts struct{ Accounts []any }
	get("/accounts", &accounts)
	var roles struct{ Roles []struct{ Builtin bool } }
	get("/roles", &roles)
	custom := 0
	for _, r := range roles.Roles {
		if !r.Builtin {
			custom++
		}
	}
	var reqs struct{ SeatRequests []any }
	get("/license/requests", &reqs)
	var status struct{ LastHour map[string]int }
	get("/provisioning/status", &status)
	var audit struct{ Events []any }
	get("/audit?count=100", &audit)
	if len(accounts.Accounts) != 3 || custom != 1 || len(reqs.SeatRequests) != 1 || status.LastHour["success"] < 10 || len(audit.Events) < 30 {
		t.Errorf("accounts %d, custom roles %d, seat requests %d, status %v, audit events %d", len(accounts.Accounts), custom, len(reqs.SeatRequests), status.LastHour, len(audit.Events))
	}

	// Sign in to the console as printed, and open every page.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(match[1] + "sign-in")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatalf("no sign-in form: %s", page)
	}
	resp, err = browser.PostForm(match[1]+"sign-in", url.Values{"tenant": {"demo"}, "token": {token}, "csrf": {string(csrf[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	paths := []string{"", "provisioning", "groups", "roles", "roles/edit?name=Desk%20Chief", "accounts", "license", "migration"}
	var ids struct{ Groups []struct{ ID string } }
	get("/groups", &ids)
	for _, g := range ids.Groups {
		paths = append(paths, "groups/"+g.ID)
	}
	for _, p := range paths {
		resp, err := browser.Get(match[1] + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path == "/console/sign-in" || !strings.Contains(string(body), "Sign out") {
			t.Errorf("console page /%s: %d at %s", p, resp.StatusCode, resp.Request.URL.Path)
		}
	}
}

// TestDemoNeedsEmbeddedStore: --demo never writes into a Redis of its own.
func TestDemoNeedsEmbeddedStore(t *testing.T) {
	_, err := parseServeEnv([]string{"--demo", "--redis-url", "redis://127.0.0.1:1/0"}, io.Discard, func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "--demo runs on the embedded store only") {
		t.Errorf("err %v", err)
	}
	_, err = parseServeEnv([]string{"--demo"}, io.Discard, func(k string) (string, bool) { return "redis://127.0.0.1:1/0", k == "SCIMD_REDIS_URL" })
	if err == nil || !strings.Contains(err.Error(), "--demo runs on the embedded store only") {
		t.Errorf("from the environment: %v", err)
	}
}

// serveForTest starts serve with args (on a free port, with the test
// operator token, the environment ignored) and stops it when t ends.
func serveForTest(t *testing.T, stdout io.Writer, args ...string) *instance {
	t.Helper()
	args = append([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, args...)
	cfg, err := parseServeEnv(args, io.Discard, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), stdout)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.wait(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		m.close()
	})
	return m
}
