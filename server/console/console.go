// Package console is the admin console: server-rendered pages for a
// tenant's admins, another edge beside the admin API. Every page calls
// server/provision, as the admin API does, so no rule lives here twice;
// its assets are embedded, and htmx (vendored, pinned) does the partial
// updates.
//
// Security: a sign-in exchanges an admin token for a server-side session
// (an HttpOnly, SameSite=Strict cookie; the token never reaches the
// browser again); every state-changing request carries the session's CSRF
// token; the Content-Security-Policy admits no inline script or style.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
)

// Root is where the console is served.
const Root = "/console"

// CSP is the console's Content-Security-Policy: scripts and styles only
// from files it serves, nothing framed, forms posted only to itself.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Options configure the console.
type Options struct {
	// PublicURL is the externally visible base URL; empty derives it from
	// the request. An https one makes the cookie Secure.
	PublicURL string
	// Timeout bounds the work of one request; 0 means 10s.
	Timeout time.Duration
	// ClientIP is the client's address (behind trusted proxies, from
	// X-Forwarded-For); nil means the peer's.
	ClientIP func(*fiber.Ctx) string
	// AdminRateLimit and AdminRateBurst bound the tenant's admin writes,
	// the admin API's bucket (see adminapi.Options).
	AdminRateLimit float64
	AdminRateBurst int
	// Sessions bounds sessions and failed sign-ins; zero fields take
	// DefaultSessionLimits'.
	Sessions provision.SessionLimits
	// OperatorPages serves the operator's pages under /operator (tenants,
	// seat requests), signed in with OperatorToken; off by default.
	OperatorPages bool
	OperatorToken string
	// PreflightBodyLimit is the largest user export the migration page
	// reads, in bytes; 0 means 32 MiB.
	PreflightBodyLimit int
}

// DefaultSessionLimits: a session idles out after 30 minutes and lives 12
// hours; an address (an IPv6 /64) may fail 10 sign-ins at once, then one
// every 30s; a tenant's audit log records 20 failed sign-ins an hour (at
// most 504 events a day however many addresses fail).
var DefaultSessionLimits = provision.SessionLimits{Idle: 30 * time.Minute, Lifetime: 12 * time.Hour, FailuresPerSecond: 1.0 / 30, FailureBurst: 10, AuditedFailures: 20}

// Console serves /console/...
type Console struct {
	svc   *provision.Service
	opts  Options
	pages map[string]*template.Template
}

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the console over svc.
func New(svc *provision.Service, opts Options) *Console {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.ClientIP == nil {
		opts.ClientIP = func(c *fiber.Ctx) string { return c.IP() }
	}
	if opts.AdminRateBurst <= 0 {
		opts.AdminRateBurst = max(1, int(math.Ceil(opts.AdminRateLimit)))
	}
	if opts.PreflightBodyLimit <= 0 {
		opts.PreflightBodyLimit = 32 << 20
	}
	d := DefaultSessionLimits
	if opts.Sessions.Idle <= 0 {
		opts.Sessions.Idle = d.Idle
	}
	if opts.Sessions.Lifetime <= 0 {
		opts.Sessions.Lifetime = d.Lifetime
	}
	if opts.Sessions.FailuresPerSecond <= 0 {
		opts.Sessions.FailuresPerSecond = d.FailuresPerSecond
	}
	if opts.Sessions.FailureBurst <= 0 {
		opts.Sessions.FailureBurst = d.FailureBurst
	}
	if opts.Sessions.AuditedFailures <= 0 {
		opts.Sessions.AuditedFailures = d.AuditedFailures
	}
	return &Console{svc: svc, opts: opts, pages: parsePages()}
}

// Register mounts the console on r.
func (cs *Console) Register(r fiber.Router) {
	g := r.Group(Root, cs.headers)
	g.Get("/static/:file", cs.static)
	g.Get("/sign-in", cs.signInPage)
	g.Post("/sign-in", reqbody.Limit(signInBodyLimit), cs.signIn)
	g.Post("/sign-out", cs.session, cs.signOut)
	// The migration preflight reads an upload larger than a form, and
	// checks its CSRF token itself (the form is multipart); it changes
	// nothing.
	g.Post("/migration/preflight", reqbody.Limit(cs.opts.PreflightBodyLimit), cs.session, cs.preflight)
	cs.registerOperator(g)
	for _, p := range cs.routes() {
		if p.post && p.preview {
			g.Post(p.path, cs.session, cs.previewForm, p.handler)
			continue
		}
		if p.post {
			g.Post(p.path, cs.session, cs.write, p.handler)
			continue
		}
		g.Get(p.path, cs.session, p.handler)
	}
	// Anything else under /console is a page that does not exist.
	g.Use(func(c *fiber.Ctx) error { return cs.errorPage(c, nil, http.StatusNotFound, "There is no such page.") })
}

// route is a page or a form's target, behind the session.
type route struct {
	path string
	post bool
	// preview: a POST that changes nothing (a live preview): its form's
	// CSRF token is checked, but it is not held to the write rate limit.
	preview bool
	handler fiber.Handler
}

func (cs *Console) routes() []route {
	return []route{
		{path: "/", handler: cs.overview},
		{path: "/users", handler: cs.users},
		{path: "/users/:id", handler: cs.user},
		{path: "/users/:id", post: true, handler: cs.editUser},
		{path: "/provisioning", handler: cs.provisioning},
		{path: "/audit", handler: cs.audit},
		{path: "/provisioning", post: true, handler: cs.putLinking},
		{path: "/provisioning/mode", post: true, handler: cs.putMode},
		{path: "/provisioning/scim-token", post: true, handler: cs.rotateSCIMToken},
		{path: "/groups", handler: cs.groups},
		{path: "/groups", post: true, handler: cs.createGroup},
		{path: "/groups/:id", handler: cs.group},
		{path: "/groups/:id/preview", post: true, preview: true, handler: cs.groupPreview},
		{path: "/groups/:id/grants", post: true, handler: cs.saveGrants},
		{path: "/roles", handler: cs.roles},
		{path: "/roles/edit", handler: cs.roleEdit},
		{path: "/roles/score", post: true, preview: true, handler: cs.roleScore},
		{path: "/roles", post: true, handler: cs.saveRole},
		{path: "/roles/delete", post: true, handler: cs.deleteRole},
		{path: "/accounts", handler: cs.accounts},
		{path: "/accounts", post: true, handler: cs.saveAccount},
		{path: "/accounts/delete", post: true, handler: cs.deleteAccount},
		{path: "/license", handler: cs.license},
		{path: "/license/requests", post: true, handler: cs.requestSeats},
		{path: "/migration", handler: cs.migration},
		{path: "/migration/finalize", post: true, handler: cs.finalize},
	}
}

// NavItem is an entry of the console's navigation.
type NavItem struct {
	Path, Label string
}

// Nav is the navigation, in order.
var Nav = []NavItem{
	{"/", "Overview"},
	{"/users", "Users"},
	{"/provisioning", "Provisioning"},
	{"/groups", "Groups"},
	{"/roles", "Roles"},
	{"/accounts", "Sub-accounts"},
	{"/license", "License"},
	{"/migration", "Migration"},
	{"/audit", "Audit log"},
}

// headers sets the console's security headers on every answer.
func (cs *Console) headers(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", CSP)
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set("Cross-Origin-Resource-Policy", "same-origin")
	return c.Next()
}

func (cs *Console) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), cs.opts.Timeout)
}

// write holds console writes to the admin API's rate limit and checks the
// CSRF token, after the session; the form is read here, within the
// route's body limit.
func (cs *Console) write(c *fiber.Ctx) error {
	sess := sessionOf(c)
	form, ok, err := cs.checkedForm(c)
	if !ok {
		return err
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	allowed, wait, err := cs.svc.AllowAdminWrite(ctx, sess.Tenant, cs.opts.AdminRateLimit, cs.opts.AdminRateBurst)
	if err == nil && !allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return cs.errorPage(c, sess, http.StatusTooManyRequests, "This tenant's admins are making changes faster than allowed; wait a moment and try again.")
	}
	c.Locals(formKey{}, form)
	return c.Next()
}

// previewForm checks the CSRF token of a POST that changes nothing, such
// as the grants editor's preview.
func (cs *Console) previewForm(c *fiber.Ctx) error {
	form, ok, err := cs.checkedForm(c)
	if !ok {
		return err
	}
	c.Locals(formKey{}, form)
	return c.Next()
}

// checkedForm reads the form within the route's body limit and checks its
// CSRF token; when it is not ok, the error page is already answered.
func (cs *Console) checkedForm(c *fiber.Ctx) (url.Values, bool, error) {
	sess := sessionOf(c)
	form, err := readForm(c)
	if err != nil {
		return nil, false, cs.errorPage(c, sess, http.StatusBadRequest, "The form could not be read.")
	}
	if !csrfOK(c, form, sess.CSRF) {
		return nil, false, cs.errorPage(c, sess, http.StatusForbidden, "This form is out of date or did not come from this console (its security token does not match). Reload the page and try again.")
	}
	return form, true, nil
}

type formKey struct{}

// formOf is the request's form, read by write.
func formOf(c *fiber.Ctx) url.Values {
	f, _ := c.Locals(formKey{}).(url.Values)
	return f
}

// readForm reads an application/x-www-form-urlencoded body through reqbody.
func readForm(c *fiber.Ctx) (url.Values, error) {
	body, err := reqbody.Read(c)
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(body))
}

// csrfOK checks the CSRF token of a state-changing request: htmx sends it
// as a header, a plain form as a field.
func csrfOK(c *fiber.Ctx, form url.Values, want string) bool {
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = form.Get("csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// actor is who makes a console change, for the audit log.
func (cs *Console) actor(c *fiber.Ctx) provision.Actor {
	return provision.Actor{Source: "admin", User: sessionOf(c).Admin, IP: cs.opts.ClientIP(c)}
}

// root is the externally visible base URL.
func (cs *Console) root(c *fiber.Ctx) string {
	if cs.opts.PublicURL != "" {
		return strings.TrimRight(cs.opts.PublicURL, "/")
	}
	return c.Protocol() + "://" + string(c.Request().Host())
}

// fail renders a service error as a page; unknown errors are logged and
// shown without detail.
func (cs *Console) fail(c *fiber.Ctx, err error) error {
	sess := sessionOf(c)
	var pe *provision.Error
	if !errors.As(err, &pe) {
		slog.Error("console: internal error", "path", c.Route().Path, "err", err)
		return cs.errorPage(c, sess, http.StatusInternalServerError, "Something went wrong on our side.")
	}
	status := httpstatus.Of(pe.Kind)
	if status == http.StatusInternalServerError {
		slog.Error("console: internal error", "path", c.Route().Path, "err", err)
		return cs.errorPage(c, sess, status, "Something went wrong on our side.")
	}
	if s := httpstatus.RetryAfter(pe); s > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(s))
	}
	return cs.errorPage(c, sess, status, pe.Detail)
}
