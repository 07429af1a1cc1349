package console_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
)

// TestBrowserSignInOut: in Chromium, a wrong token is refused on the form;
// the right one opens the overview with a session cookie that scripts
// cannot read (HttpOnly, SameSite=Strict), while nothing lands in the URL
// or the browser's storage; sign-out ends the session; every step is
// audited; no page reports a CSP violation.
func TestBrowserSignInOut(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.tab()
	e.do(ctx,
		chromedp.Navigate(e.base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("tenant")),
		chromedp.SendKeys(chromedp.ID("tenant"), e.tenant),
		chromedp.SendKeys(chromedp.ID("token"), "scimd_adm_wrong"),
		click(`form button[type=submit]`),
	)
	if got := e.text(ctx, `.flash.error`); !strings.Contains(got, "do not match") {
		t.Fatalf("wrong token: %q", got)
	}
	e.shot(ctx, "sign-in")
	e.signIn(ctx, e.tenant, e.token)
	if got := e.text(ctx, "main h1"); got != "Console "+e.tenant {
		t.Errorf("overview title %q", got)
	}
	if got := e.text(ctx, `label[for=seats]`); got != "0 of 10 seats used" {
		t.Errorf("seats %q", got)
	}
	e.noViolations(ctx)
	e.shot(ctx, "overview")

	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "scimd_console" {
			session = c
		}
	}
	switch {
	case session == nil:
		t.Fatalf("no session cookie among %d", len(cookies.Cookies))
	case !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Path != "/console":
		t.Errorf("session cookie: HttpOnly %v, SameSite %q, Path %q; want true, Strict, /console", session.HTTPOnly, session.SameSite, session.Path)
	case strings.Contains(session.Value, e.token):
		t.Errorf("the session cookie holds the admin token")
	}
	// htmx keeps the current path in sessionStorage: nothing secret.
	stored := eval[string](e, ctx, `JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])`)
	if strings.Contains(stored, e.token) || strings.Contains(stored, session.Value) || strings.Contains(stored, "scimd_console") {
		t.Errorf("scripts can read the token or the session: %s", stored)
	}
	if loc := eval[string](e, ctx, `location.href`); strings.Contains(loc, "token") || strings.Contains(loc, e.token) {
		t.Errorf("the URL holds the token: %s", loc)
	}

	e.do(ctx, click(`.signout button`), chromedp.WaitVisible(chromedp.ID("tenant")))
	if got := e.text(ctx, `.flash.ok`); got != "You are signed out." {
		t.Errorf("after sign-out: %q", got)
	}
	// The old session is gone: the console sends the browser to sign in.
	e.do(ctx, chromedp.Navigate(e.base+"/console/"), chromedp.WaitVisible(chromedp.ID("tenant")))
	e.noViolations(ctx)

	page, err := e.svc.Audit(context.Background(), e.tenant, provision.AuditQuery{Count: 10, TargetType: "ConsoleSession"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range page.Events {
		who := ""
		if ev.Actor != nil {
			who = ev.Actor.Name
		}
		actions = append(actions, ev.Action+" "+who)
	}
	want := []string{"console.signOut alice@example.com", "console.signIn alice@example.com", "console.signInFailed "}
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("audit %q, want %q", actions, want)
	}
}

// TestBrowserForgedForm: a page of another origin that posts a form to
// the console while the admin is signed in (the session cookie goes
// along: the origins share the site) is refused, without the token and
// with a wrong one, and changes nothing.
func TestBrowserForgedForm(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.tab()
	e.signIn(ctx, e.tenant, e.token)
	for _, field := range []string{"", `<input name="csrf" value="forged">`} {
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/console/provisioning/mode">%s
<input name="mode" value="manual"><button id="go">Win a prize</button></form>`, e.base, field)
		}))
		e.do(ctx, chromedp.Navigate(evil.URL), click(`#go`))
		evil.Close()
		if got := e.text(ctx, "main"); !strings.Contains(got, "security token does not match") {
			t.Errorf("forged form %q: the console answered %q", field, got)
		}
		ten, err := e.svc.GetTenant(context.Background(), e.tenant)
		if err != nil {
			t.Fatal(err)
		}
		if ten.Mode != "idp" {
			t.Fatalf("forged form %q changed the mode to %q", field, ten.Mode)
		}
	}
}

// TestSessionExpiry: a session idles out after Idle without use, lives no
// longer than Lifetime however used, and ends when its admin token is
// revoked; each time the console sends the browser back to sign in.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, nil)
	signedIn := func(c *http.Client) bool {
		t.Helper()
		status, _ := e.get(c, "/console/")
		switch status {
		case http.StatusOK:
			return true
		case http.StatusSeeOther:
			return false
		}
		t.Fatalf("GET /console/: %d", status)
		return false
	}
	login := func(token string) *http.Client {
		t.Helper()
		c := client()
		resp := e.httpSignIn(c, "198.51.100.1", e.tenant, token)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !signedIn(c) {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		return c
	}

	t.Run("idle", func(t *testing.T) {
		c := login(e.token)
		e.clock.advance(testLimits.Idle - 2*time.Minute)
		if !signedIn(c) {
			t.Fatal("signed out before the idle time")
		}
		e.clock.advance(testLimits.Idle - 2*time.Minute) // idle counts from the last use
		if !signedIn(c) {
			t.Fatal("use did not keep the session alive")
		}
		e.clock.advance(testLimits.Idle + time.Second)
		if signedIn(c) {
			t.Fatal("still signed in after idling out")
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		c := login(e.token)
		step := testLimits.Idle / 2 // used often enough never to idle out
		lived := time.Duration(0)
		for ; lived+step < testLimits.Lifetime; lived += step {
			e.clock.advance(step)
			if !signedIn(c) {
				t.Fatalf("signed out after %s of use", lived+step)
			}
		}
		e.clock.advance(testLimits.Lifetime - lived + time.Second) // less than Idle since the last use
		if signedIn(c) {
			t.Fatal("still signed in past the lifetime")
		}
	})
	t.Run("revoked", func(t *testing.T) {
		ctx := context.Background()
		bob, err := e.svc.CreateAdminToken(ctx, e.tenant, "bob@example.com", provision.Actor{Source: "admin", Operator: true})
		if err != nil {
			t.Fatal(err)
		}
		c, other := login(bob), login(e.token)
		if _, err := e.svc.RevokeAdminTokens(ctx, e.tenant, "bob@example.com", provision.Actor{Source: "admin", Operator: true}); err != nil {
			t.Fatal(err)
		}
		if signedIn(c) {
			t.Fatal("the session outlived its revoked token")
		}
		if !signedIn(other) {
			t.Fatal("revoking bob's token ended another admin's session")
		}
	})
}

// TestSignInCookies: the session cookie is HttpOnly, SameSite=Strict,
// scoped to /console, and Secure when the public URL is https; the sign-in
// form carries an anti-forgery token that a post without its cookie lacks.
func TestSignInCookies(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		secure    bool
	}{{"", false}, {"https://scimd.example", true}} {
		t.Run(fmt.Sprintf("secure=%v", tc.secure), func(t *testing.T) {
			e := newEnv(t, func(c *server.Config) { c.PublicURL = tc.publicURL })
			resp := e.httpSignIn(client(), "198.51.100.2", e.tenant, e.token)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: %d", resp.StatusCode)
			}
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "scimd_console" {
					session = c
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/console" || session.Secure != tc.secure {
				t.Fatalf("session cookie %+v; want HttpOnly, Strict, /console, Secure %v", session, tc.secure)
			}
		})
	}
	t.Run("no form token", func(t *testing.T) {
		e := newEnv(t, nil)
		form := url.Values{"tenant": {e.tenant}, "token": {e.token}}
		resp, err := client().Post(e.base+"/console/sign-in", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) == 0 || resp.Cookies()[0].Name != "scimd_console_signin" {
			t.Fatalf("sign-in without the form token: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
		}
	})
}

// TestSignInLimit: failed sign-ins are limited per client address, never
// per tenant: once an address has used its failures, even the right token
// is refused from it (429 with Retry-After), while another address signs
// in to the same tenant.
func TestSignInLimit(t *testing.T) {
	e := newEnv(t, nil)
	attacker := fmt.Sprintf("203.0.113.%d", time.Now().UnixNano()%200+1)
	for i := range testLimits.FailureBurst {
		resp := e.httpSignIn(client(), attacker, e.tenant, "scimd_adm_guess")
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := e.httpSignIn(client(), attacker, e.tenant, e.token)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "Too many failed sign-ins") {
		t.Fatalf("past the failures: %d (Retry-After %q)\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp = e.httpSignIn(client(), "198.51.100.3", e.tenant, e.token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another address: %d, want 303", resp.StatusCode)
	}
}

// TestSignInLimitIPv6: an IPv6 client's failed sign-ins are counted by
// its /64, which one subscriber usually holds whole: new addresses in it
// get no new failures, while the next /64 signs in.
func TestSignInLimitIPv6(t *testing.T) {
	e := newEnv(t, nil)
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := fmt.Sprintf("2001:db8:%x:%x", binary.BigEndian.Uint16(b[:2]), binary.BigEndian.Uint16(b[2:]))
	for i := range testLimits.FailureBurst {
		resp := e.httpSignIn(client(), fmt.Sprintf("%s::%x", prefix, i+1), e.tenant, "scimd_adm_guess")
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := e.httpSignIn(client(), prefix+":ffff:ffff:ffff:ffff", e.tenant, e.token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("another address of the /64: %d, want 429", resp.StatusCode)
	}
	resp = e.httpSignIn(client(), fmt.Sprintf("2001:db8:%x:%x::1", binary.BigEndian.Uint16(b[:2]), binary.BigEndian.Uint16(b[2:])+1), e.tenant, e.token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the next /64: %d, want 303", resp.StatusCode)
	}
}

// TestSignInFailuresAudited: failed sign-ins from ever new addresses do
// not fill a tenant's audit log: it records the hour's first
// AuditedFailures, then one notice, and the metric counts the rest; a
// sign-in is still recorded, and the next hour records failures again.
func TestSignInFailuresAudited(t *testing.T) {
	const recorded = 2
	e := newEnv(t, func(c *server.Config) { c.ConsoleSessions.AuditedFailures = recorded })
	// A minute into an hour: the failures below share one window.
	e.clock.advance(time.Until(time.Now().Truncate(time.Hour).Add(time.Hour + time.Minute)))
	before := e.metric(`scimd_console_sign_in_failures_unrecorded_total`)
	fail := func() {
		t.Helper()
		resp := e.httpSignIn(client(), uniqueAddr(), e.tenant, "scimd_adm_guess")
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure: %d, want 401", resp.StatusCode)
		}
	}
	for range recorded + 4 {
		fail()
	}
	resp := e.httpSignIn(client(), uniqueAddr(), e.tenant, e.token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d, want 303", resp.StatusCode)
	}
	e.clock.advance(time.Hour)
	fail()
	want := []string{"console.signInFailed", "console.signIn", "console.signInFailuresUnrecorded", "console.signInFailed", "console.signInFailed"}
	if got := e.auditActions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	if got := e.metric(`scimd_console_sign_in_failures_unrecorded_total`) - before; got != 3 {
		t.Errorf("unrecorded failures counted %v, want 3", got)
	}
}

// TestOperatorSignInCounted: the operator's sign-ins, which no tenant's
// audit log records, are counted by outcome.
func TestOperatorSignInCounted(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ConsoleOperator = true })
	for _, token := range []string{"wrong", "op-" + t.Name()} {
		e.operatorSignIn(client(), token)
	}
	for _, series := range []string{`scimd_console_sign_ins_total{outcome="failed",who="operator"}`, `scimd_console_sign_ins_total{outcome="ok",who="operator"}`} {
		if got := e.metric(series); got != 1 {
			t.Errorf("%s = %v, want 1", series, got)
		}
	}
}
