// Package server assembles scimd's HTTP surface: a Fiber app with the SCIM
// edge, the admin edge, health endpoints, limits and error rendering.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/server/accessapi"
	"github.com/scimd/scimd/server/adminapi"
	"github.com/scimd/scimd/server/console"
	"github.com/scimd/scimd/server/feed"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/server/scimapi"
)

// Config is what the HTTP surface needs to know.
type Config struct {
	// PublicURL is the externally visible scheme://host[:port]; empty derives
	// it from each request's Host header.
	PublicURL string
	// OperatorToken guards tenant management.
	OperatorToken string
	// BodyLimit is the largest request body accepted, in bytes; 0 means 1 MiB.
	BodyLimit int
	// PreflightBodyLimit is the largest user export a migration preflight
	// accepts, in bytes; 0 means 32 MiB (about 60,000 users as CSV).
	PreflightBodyLimit int
	// RateLimit is the SCIM requests per second one tenant may make to this
	// process (0: unlimited); RateBurst is the bucket (0: one second's worth).
	RateLimit float64
	RateBurst int
	// RateLimitShared counts RateLimit across every replica, in Redis.
	RateLimitShared bool
	// Scan bounds what filters without an index may cost a tenant (zero
	// fields: the defaults, on).
	Scan scimapi.ScanBudget
	// RequestTimeout bounds the store work of one request; 0 means 10s.
	RequestTimeout time.Duration
	// MaxConns caps the connections served at once (fasthttp's
	// Concurrency; beyond, 503 and closed); 0 means 1024.
	MaxConns int
	// ReadTimeout bounds reading a request, and frees idle keep-alive
	// connections at shutdown; 0 means 30s.
	ReadTimeout time.Duration
	// Metrics records the requests and serves /metrics; nil makes a registry
	// of the app's own.
	Metrics *Metrics
	// AccessRateLimit is the decision API requests per second one tenant
	// may make to this process (0: unlimited); AccessRateBurst is the
	// bucket (0: one second's worth).
	AccessRateLimit float64
	AccessRateBurst int
	// AccessExportPage is how many users a decision export reads at a
	// time; 0 means 500.
	AccessExportPage int
	// AdminRateLimit and AdminRateBurst bound each tenant's admin writes
	// (see adminapi.Options); 0 means unlimited.
	AdminRateLimit float64
	AdminRateBurst int
	// TrustedProxies are the addresses whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; nobody's when empty.
	TrustedProxies []netip.Prefix
	// AllowedHosts, when not empty, are the Host headers answered (421
	// otherwise); see allowedHosts.
	AllowedHosts []string
	// ConsoleSessions bounds console sessions and failed sign-ins (zero
	// fields: console.DefaultSessionLimits).
	ConsoleSessions provision.SessionLimits
	// ConsoleOperator serves the operator's console pages (/console/operator/),
	// signed in with OperatorToken; off by default on a public listener.
	ConsoleOperator bool
	// MetricsElsewhere leaves /metrics off this app, for a listener of its
	// own (Metrics.App).
	MetricsElsewhere bool
	// Feed serves the change feed (GET /access/v1/tenants/{t}/changes); nil
	// leaves the route off. Assemble makes it.
	Feed *feed.Hub
	// FeedWait caps a long poll's timeout (0: 60s); FeedHeartbeat is the
	// event streams' heartbeat interval (0: 15s).
	FeedWait      time.Duration
	FeedHeartbeat time.Duration
	// FeedHub bounds the hub Assemble makes.
	FeedHub feed.HubOptions
	// PolicyRollout, when set, is the replica's policy heartbeat: /readyz
	// says which revision it runs, which one is active, and, while they
	// differ, that it serves the stored decisions.
	PolicyRollout *rollout.Heartbeat
	// Webhooks, when set, serves the operator's webhook routes; Assemble
	// makes them with WebhookOptions.
	Webhooks       *feed.Webhooks
	WebhookOptions feed.WebhookOptions
	// PolicyDiff, when set, serves the operator's policy diffs (POST
	// /admin/v1/tenants/{t}/policy-diff); Assemble makes it with
	// PolicyDiffOptions, comparing with the policies the server runs.
	PolicyDiff        *rollout.Previewer
	PolicyDiffOptions rollout.PreviewOptions
	// Access tunes the access resolver Assemble builds (Metrics is always
	// the server's).
	Access access.Options
}

// New returns the Fiber app serving svc.
func New(cfg Config, svc *provision.Service) *fiber.App {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.PreflightBodyLimit <= 0 {
		cfg.PreflightBodyLimit = 32 << 20
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	app := fiber.New(fiber.Config{
		AppName:               "scimd",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.ReadTimeout,
		IdleTimeout:           2 * cfg.ReadTimeout,
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler,
		// X-Forwarded-Proto (and the like) only from trusted proxies: Fiber
		// believes anyone's without the check.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          prefixStrings(cfg.TrustedProxies),
		Concurrency:             cfg.MaxConns,
		// Bodies stream: none is buffered before a handler reads it
		// through reqbody, after authentication and within its route's
		// limit (BodyLimit then only caps fasthttp's 8 KiB prefetch).
		StreamRequestBody: true,
		// fasthttp would read a multipart body (to temporary files past
		// 16 MiB) before any handler.
		DisablePreParseMultipartForm: true,
	})
	app.Server().ErrorHandler = readError(app.Server().ErrorHandler)
	// observe comes first: it sets the request id (X-Request-ID) that the
	// rest logs, and sees a panic as the 500 that recover makes of it.
	app.Use(observe(cfg.Metrics, cfg.Access.Edge))
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		slog.Error("panic", "request_id", c.Locals(requestIDLocal), "panic", e)
	}}))
	app.Use(securityHeaders)
	app.Use(clientAddr(cfg.TrustedProxies), allowedHosts(cfg.AllowedHosts))
	app.Use(reqbody.Guard(cfg.BodyLimit))

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := svc.Ready(ctx); err != nil {
			return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "detail": "redis is unreachable"})
		}
		out := fiber.Map{"status": "ready"}
		var details []string
		if svc.StoreFull() {
			// Ready all the same: reads and the deletes that free space work.
			details = append(details, "store full: Redis refused a write for want of memory (maxmemory) in the last minute; reads work, writes answer 503")
		}
		if cfg.PolicyRollout != nil {
			// Ready all the same: a replica on a revision that is not
			// active yet serves the stored decisions (a rolling deploy).
			st := cfg.PolicyRollout.State()
			out["policy"] = fiber.Map{"revision": st.Running, "active": st.Active, "serving": st.Serving(), "replicas": st.Revisions}
			if d := st.Detail(); d != "" {
				details = append(details, d)
			}
		}
		if len(details) > 0 {
			out["detail"] = strings.Join(details, "; ")
		}
		return c.JSON(out)
	})
	if !cfg.MetricsElsewhere {
		metrics := adaptor.HTTPHandler(cfg.Metrics.Handler())
		app.Get("/metrics", reqbody.Limit(0), func(c *fiber.Ctx) error {
			// The adaptor would read any body a scrape carried.
			if _, err := reqbody.Read(c); err != nil {
				return err
			}
			return metrics(c)
		})
	}

	adminapi.New(svc, adminapi.Options{OperatorToken: cfg.OperatorToken, PublicURL: cfg.PublicURL, Timeout: cfg.RequestTimeout, ClientIP: ClientIP, PreflightBodyLimit: cfg.PreflightBodyLimit,
		AdminRateLimit: cfg.AdminRateLimit, AdminRateBurst: cfg.AdminRateBurst, Webhooks: cfg.Webhooks, PolicyDiff: cfg.PolicyDiff}).Register(app)
	access := accessapi.New(svc, accessapi.Options{Timeout: cfg.RequestTimeout, RateLimit: cfg.AccessRateLimit, RateBurst: cfg.AccessRateBurst, WriteTimeout: cfg.ReadTimeout, ExportPage: cfg.AccessExportPage})
	access.Register(app)
	if cfg.Feed != nil {
		access.RegisterChanges(app, cfg.Feed, accessapi.ChangesOptions{Timeout: cfg.RequestTimeout, MaxWait: cfg.FeedWait, Heartbeat: cfg.FeedHeartbeat, WriteTimeout: cfg.ReadTimeout})
	}
	console.New(svc, console.Options{PublicURL: cfg.PublicURL, Timeout: cfg.RequestTimeout, ClientIP: ClientIP,
		AdminRateLimit: cfg.AdminRateLimit, AdminRateBurst: cfg.AdminRateBurst, Sessions: cfg.ConsoleSessions, PreflightBodyLimit: cfg.PreflightBodyLimit,
		OperatorPages: cfg.ConsoleOperator, OperatorToken: cfg.OperatorToken}).Register(app)
	scimapi.New(svc, scimapi.Options{PublicURL: cfg.PublicURL, Timeout: cfg.RequestTimeout, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, RateLimitShared: cfg.RateLimitShared, Scan: cfg.Scan}).Register(app)

	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// errMalformed is the answer to a request fasthttp could not read: bad
// framing, conflicting Content-Length headers, a missing Host.
var errMalformed = errors.New("the request is malformed (its framing or headers)")

// readError replaces fasthttp's errors for requests it could not read with
// errMalformed before Fiber renders them: their text quotes the request's
// bytes, bearer token included. Too large, too slow and too long headers
// keep their own status.
func readError(next func(*fasthttp.RequestCtx, error)) func(*fasthttp.RequestCtx, error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		var small *fasthttp.ErrSmallBuffer
		var netErr net.Error
		if !errors.As(err, &small) && !errors.As(err, &netErr) && !errors.Is(err, fasthttp.ErrBodyTooLarge) && !errors.Is(err, fasthttp.ErrGetOnly) {
			err = errMalformed
		}
		next(ctx, err)
	}
}

// securityHeaderKV are securityHeaders' names, already in canonical form,
// and values: SetCanonical skips normalizing and copying what never
// changes, work that showed in a profile of a cached decision read.
var securityHeaderKV = [][2][]byte{
	{[]byte("X-Content-Type-Options"), []byte("nosniff")},
	{[]byte("X-Frame-Options"), []byte("DENY")},
	{[]byte("Referrer-Policy"), []byte("no-referrer")},
	{[]byte("Cache-Control"), []byte("no-store")},
}

func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	for _, kv := range securityHeaderKV {
		h.SetCanonical(kv[0], kv[1])
	}
	return c.Next()
}

// errorHandler renders errors raised outside the edges' own handling (body
// too large, unknown route, panics) in the format of the API that was asked:
// SCIM errors under /scim, problems elsewhere. It never shows an error's text
// unless Fiber made it for the client.
func errorHandler(c *fiber.Ctx, err error) error {
	status := http.StatusInternalServerError
	detail := "internal error"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status, detail = fe.Code, fe.Message
	} else {
		// The route template, not the path: a SCIM path can hold a userName.
		api, route := classify(c.Path())
		switch api {
		case apiAdmin:
			route = adminRoute(c.Route().Path)
		case apiAccess:
			route = templateRoute("/access/", c.Route().Path)
		}
		slog.Error("unhandled error", "request_id", c.Locals(requestIDLocal), "route", route, "err", err)
	}
	if status == http.StatusRequestEntityTooLarge {
		detail = "the request body is larger than this server accepts"
	}
	if strings.HasPrefix(c.Path(), "/scim/") {
		return scimapi.SendError(c, status, detail)
	}
	return adminapi.Problem(c, status, detail)
}
