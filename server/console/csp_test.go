package console_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/server/console"
)

// inline finds what the CSP would refuse to run in served HTML: a script
// element without src, a style element or attribute, an event-handler
// attribute, a javascript: URL.
func inline(html string) string {
	for _, tag := range scriptTag.FindAllString(html, -1) {
		if !strings.Contains(strings.ToLower(tag), " src=") {
			return tag
		}
	}
	return inlineAttr.FindString(html)
}

var (
	scriptTag  = regexp.MustCompile(`(?i)<script[^>]*>`)
	inlineAttr = regexp.MustCompile(`(?i)<style[\s>]|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
)

// consolePages are the pages every test of the HTML walks, signed in.
var consolePages = []string{"/console/", "/console/users", "/console/provisioning", "/console/audit"}

// TestNoInlineScriptOrStyle: no page the console serves (the sign-in and
// error pages too) holds inline script, style or event handlers, and
// every answer carries the strict CSP; the scan finds them in a page that
// has them.
func TestNoInlineScriptOrStyle(t *testing.T) {
	for _, bad := range []string{`<script>alert(1)</script>`, `<script type="module">x()</script>`, `<p style="color:red">`, `<a onclick="x()">`, `<style>p{}</style>`} {
		if inline(bad) == "" {
			t.Fatalf("the scan misses %s", bad)
		}
	}
	if inline(`<script src="/console/static/console.js" defer></script>`) != "" {
		t.Fatal("the scan flags a script with src")
	}
	e := newEnv(t, nil)
	c := client()
	check := func(path string, wantStatus int) {
		t.Helper()
		resp, err := c.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantStatus {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, wantStatus)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != console.CSP {
			t.Errorf("%s: CSP %q", path, got)
		}
		if m := inline(string(body)); m != "" {
			t.Errorf("%s serves inline code: %q", path, m)
		}
	}
	check("/console/sign-in", http.StatusOK)
	resp := e.httpSignIn(c, "198.51.100.9", e.tenant, e.token)
	resp.Body.Close()
	for _, p := range consolePages {
		check(p, http.StatusOK)
	}
	check("/console/no-such-page", http.StatusNotFound)
}

// TestBrowserCSPReports: the browser reports a violation when a page
// gains inline style (so an empty report means something), and the
// console's own pages report none.
func TestBrowserCSPReports(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.tab()
	e.signIn(ctx, e.tenant, e.token)
	for _, p := range consolePages {
		e.do(ctx, chromedp.Navigate(e.base+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		e.noViolations(ctx)
	}
	e.do(ctx, chromedp.Evaluate[chromedp.Void](`document.body.insertAdjacentHTML("beforeend", '<p style="color:red">x</p>')`))
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(waitCtx, chromedp.Poll[bool](`window.__csp.length > 0`)); err != nil {
		t.Fatalf("no violation reported for inline style: %v", err)
	}
}
