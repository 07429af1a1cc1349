package console_test

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// screenshots, when set, is where the browser tests write screenshots of
// the pages they visit (also SCIMD_SCREENSHOTS); a plain run writes none.
var screenshots = flag.String("screenshots", os.Getenv("SCIMD_SCREENSHOTS"), "directory to write console screenshots to")

// browser is the one Chromium every test of the package shares (started
// in TestMain, when there is one); each test opens a browser context of
// its own, with its own cookies.
var (
	browser       context.Context
	browserReason string
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The server's access log would drown the test output.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := func() int {
		path := os.Getenv("SCIMD_CHROMIUM")
		if path == "" {
			path = "/usr/bin/chromium"
		}
		if _, err := exec.LookPath(path); err != nil {
			browserReason = "no browser: install Debian's chromium (apt-get install chromium fonts-dejavu-core) or set SCIMD_CHROMIUM"
			return m.Run()
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("headless", true),
			chromedp.WindowSize(1280, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		defer cancelAlloc()
		ctx, cancel := chromedp.NewContext(alloc)
		defer cancel()
		if err := chromedp.Do(ctx); err != nil {
			browserReason = "the browser did not start: " + err.Error()
			return m.Run()
		}
		browser = ctx
		return m.Run()
	}()
	os.Exit(code)
}

// clock is the server's clock: real time plus an offset a test moves
// forward to expire sessions.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is a scimd served on a real listener, with one tenant of the test.
type env struct {
	t      testing.TB
	base   string // http://127.0.0.1:port
	svc    *provision.Service
	clock  *clock
	tenant string
	token  string // the tenant's first admin token
	// metrics is the server's registry.
	metrics *server.Metrics
}

var (
	engineOnce sync.Once
	engine     *policies.Engine
	engineErr  error
)

// testLimits are the session limits of the tests' servers.
var testLimits = provision.SessionLimits{Idle: 30 * time.Minute, Lifetime: 12 * time.Hour, FailuresPerSecond: 0.001, FailureBurst: 3}

// newEnv starts a server (embedded Redis, or REDIS_URL when set) with set
// applied to its configuration, and creates a tenant.
func newEnv(t testing.TB, set func(*server.Config)) *env {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		e, err := storage.StartEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		url = e.URL()
	}
	rdb, err := storage.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	engineOnce.Do(func() { engine, engineErr = policies.New(policies.Options{}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	clk := &clock{}
	cfg := server.Config{OperatorToken: "op-" + t.Name(), ConsoleSessions: testLimits,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if set != nil {
		set(&cfg)
	}
	srv := server.Assemble(cfg, storage.New(rdb, storage.Options{}), engine, provision.Options{Clock: clk.now})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = srv.App.Shutdown() })
	e := &env{t: t, base: "http://" + ln.Addr().String(), svc: srv.Service, clock: clk, metrics: srv.Metrics}
	e.tenant, e.token = e.newTenant(10)
	return e
}

var tenantSeq atomic.Int64

// newTenant creates a tenant with a license limit, deleted when the test
// ends, and returns its id and first admin token.
func (e *env) newTenant(limit int64) (string, string) {
	e.t.Helper()
	id := fmt.Sprintf("ct-%d-%d", time.Now().UnixNano()%1e9, tenantSeq.Add(1))
	_, creds, err := e.svc.CreateTenant(context.Background(), provision.NewTenant{ID: id, Name: "Console " + id, LicenseLimit: &limit, AdminName: "alice@example.com"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if err := e.svc.DeleteTenant(context.Background(), id); err != nil && provision.KindOf(err) != provision.KindNotFound {
			e.t.Errorf("delete tenant %s: %v", id, err)
		}
	})
	return id, creds.AdminToken
}

// uniqueAddr is a client address of its own (from 198.18.0.0/15, set
// aside for tests), sent as X-Forwarded-For from the trusted loopback
// proxy. Failed sign-ins are counted per address in a key every test on
// REDIS_URL shares (and that outlives the run): with one address for all,
// a few deliberate failures anywhere locked every later sign-in out.
func uniqueAddr() string {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("198.%d.%d.%d", 18+b[0]%2, b[1], 1+tenantSeq.Add(1)%254)
}

// tab opens a page in a browser context of its own (its own cookies),
// recording every Content-Security-Policy violation in window.__csp; it
// skips the test when there is no browser.
func (e *env) tab() context.Context {
	e.t.Helper()
	if browser == nil {
		e.t.Skip(browserReason)
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	e.t.Cleanup(cancel)
	// The tab's requests come from an address of its own (see uniqueAddr).
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Forwarded-For": uniqueAddr()}}); err != nil {
		e.t.Fatal(err)
	}
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (ev) { window.__csp.push(ev.violatedDirective + " " + ev.blockedURI); });`})
	if err != nil {
		e.t.Fatal(err)
	}
	return ctx
}

// do runs browser steps, each test step bounded, and fails the test on an
// error.
func (e *env) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		e.t.Fatal(err)
	}
}

// click clicks what sel selects and waits for the page it loads.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))(ctx, t)
		return err
	})
}

// poll waits until a JavaScript expression is true in the page.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return err
	})
}

// settled waits until htmx has finished swapping and processing new
// content (a click before then would post the form the plain way).
func settled() chromedp.Action[chromedp.Void] {
	return poll(`document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null`)
}

// signIn signs in through the form and waits for the overview.
func (e *env) signIn(ctx context.Context, tenant, token string) {
	e.t.Helper()
	e.do(ctx,
		chromedp.Navigate(e.base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("tenant")),
		chromedp.SendKeys(chromedp.ID("tenant"), tenant),
		chromedp.SendKeys(chromedp.ID("token"), token),
		click(`form button[type=submit]`),
		chromedp.WaitVisible(chromedp.ID("seats")),
	)
}

// text returns the text of the first element sel matches.
func (e *env) text(ctx context.Context, sel string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		e.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](e *env, ctx context.Context, expr string) T {
	e.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// noViolations fails the test if the page reported a CSP violation.
func (e *env) noViolations(ctx context.Context) {
	e.t.Helper()
	if v := eval[[]string](e, ctx, `window.__csp || []`); len(v) > 0 {
		e.t.Errorf("CSP violations: %q", v)
	}
}

// shot writes a screenshot of the page to the -screenshots directory, when
// one is given.
func (e *env) shot(ctx context.Context, name string) {
	e.t.Helper()
	if *screenshots == "" {
		return
	}
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".jpg"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// client is an HTTP client with a cookie jar that does not follow redirects.
func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: fromAddr{uniqueAddr()}}
}

// fromAddr sends each request as from addr (see uniqueAddr), unless the
// test set X-Forwarded-For itself.
type fromAddr struct{ addr string }

func (f fromAddr) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Forwarded-For") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("X-Forwarded-For", f.addr)
	}
	return http.DefaultTransport.RoundTrip(r)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// httpSignIn signs in with a plain HTTP client from address ip (a trusted
// proxy's X-Forwarded-For) and returns the response.
func (e *env) httpSignIn(c *http.Client, ip, tenant, token string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base+"/console/sign-in", nil)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf field in the sign-in page:\n%s", body)
	}
	form := url.Values{"tenant": {tenant}, "token": {token}, "csrf": {string(m[1])}}
	req, _ = http.NewRequest(http.MethodPost, e.base+"/console/sign-in", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err = c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// get fetches a console path with c and returns the status and body.
func (e *env) get(c *http.Client, p string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.base + p)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// metric returns the value of one series of the server's metrics (0 when
// it has none yet).
func (e *env) metric(series string) float64 {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// auditActions lists the actions of the tenant's console session events,
// newest first.
func (e *env) auditActions() []string {
	e.t.Helper()
	page, err := e.svc.Audit(context.Background(), e.tenant, provision.AuditQuery{Count: 50, TargetType: "ConsoleSession"})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range page.Events {
		out = append(out, ev.Action)
	}
	return out
}

// operatorSignIn signs in to the operator pages with c and returns the
// response (its body closed).
func (e *env) operatorSignIn(c *http.Client, token string) *http.Response {
	e.t.Helper()
	resp, err := c.Get(e.base + "/console/operator/sign-in")
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		e.t.Fatalf("no csrf field in the operator sign-in page (%d):\n%s", resp.StatusCode, page)
	}
	resp, err = c.PostForm(e.base+"/console/operator/sign-in", url.Values{"token": {token}, "csrf": {string(m[1])}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
