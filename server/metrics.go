package server

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// Metrics is scimd's Prometheus registry: HTTP requests by API, route
// template, method and status; the service's counts and policy timings (it
// implements provision.Metrics); and the Go and process collectors. It owns
// its registry rather than using the global one, so that several servers in
// one process (tests) do not collide.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	policy          *prometheus.HistogramVec
	redisErrors     prometheus.Counter
	notReplicated   prometheus.Counter
	oomRefusals     prometheus.Counter
	licenseRefusals prometheus.Counter
	auditEvents     prometheus.Counter
	auditFull       prometheus.Counter
	signIns         *prometheus.CounterVec
	signInsUnrec    prometheus.Counter
	policyActive    *prometheus.GaugeVec
	policyReplicas  *prometheus.GaugeVec
	access          *accessMetrics
	// series is copied on write (a few dozen series, each stored once), so
	// that reading it takes no lock.
	series   atomic.Pointer[map[seriesKey]requestSeries]
	seriesMu sync.Mutex
}

var (
	_ provision.Metrics = (*Metrics)(nil)
	_ rollout.Metrics   = (*Metrics)(nil)
)

// NewMetrics returns a registry with every scimd series registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimd_http_requests_total",
			Help: "HTTP requests answered, by API (scim, admin, health, other), route template, method and status.",
		}, []string{"api", "route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimd_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by API, route template and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"api", "route", "method"}),
		policy: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scimd_policy_evaluation_seconds",
			Help: "Time of one policy decision, by decision (roles, scores, locks).",
			// A decision takes a few hundred microseconds: 50µs to about 100ms.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 12),
		}, []string{"decision"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_redis_errors_total",
			Help: "Store calls of the service that failed because Redis was unreachable, timed out or answered unexpectedly.",
		}),
		notReplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_redis_unreplicated_writes_total",
			Help: "Writes answered 503 because fewer Redis replicas than --redis-wait-replicas confirmed them in time (also counted in scimd_redis_errors_total).",
		}),
		oomRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_redis_oom_refusals_total",
			Help: "Writes Redis refused because it reached maxmemory (answered 503 \"store full\"); alert on any rate.",
		}),
		licenseRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_license_refusals_total",
			Help: "User creates and reactivations refused because the tenant's license limit was reached.",
		}),
		auditEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_audit_events_total",
			Help: "Audit events written, each with the change it records.",
		}),
		auditFull: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_audit_full_refusals_total",
			Help: "Writes refused (429) because recording them would drop audit events younger than --audit-min-age.",
		}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimd_console_sign_ins_total",
			Help: "Console sign-ins by who (tenant, operator) and outcome (ok; failed: a wrong token; throttled: refused by the per-address limit of failures).",
		}, []string{"who", "outcome"}),
		signInsUnrec: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_console_sign_in_failures_unrecorded_total",
			Help: "Failed tenant sign-ins the tenant's audit log does not record: past the hour's bound, one notice says so, then only this counts them.",
		}),
		policyActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimd_policy_revision_active",
			Help: "1 when the policy revision this replica runs (label) is the active one, and it re-decides stored access; 0 while it serves the stored decisions (a rolling deploy: not every live replica runs one revision).",
		}, []string{"revision"}),
		policyReplicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimd_policy_replicas",
			Help: "Live replicas by the policy revision they run, as this replica's last heartbeat saw them.",
		}, []string{"revision"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.policy, m.redisErrors, m.notReplicated, m.oomRefusals, m.licenseRefusals, m.auditEvents, m.auditFull,
		m.signIns, m.signInsUnrec,
		m.policyActive, m.policyReplicas,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.access = newAccessMetrics(m.reg)
	m.series.Store(&map[seriesKey]requestSeries{})
	return m
}

// PolicyRollout records where the policy rollout stands after a heartbeat
// (it implements rollout.Metrics).
func (m *Metrics) PolicyRollout(running string, r storage.Rollout) {
	active := 0.0
	if running == r.Active {
		active = 1
	}
	m.policyActive.WithLabelValues(running).Set(active)
	m.policyReplicas.Reset()
	for rev, n := range r.Revisions {
		m.policyReplicas.WithLabelValues(rev).Set(float64(n))
	}
}

// SetBuildInfo exports scimd_build_info, a gauge of 1 whose labels say
// which build answers (to tell replicas apart during a rolling upgrade).
func (m *Metrics) SetBuildInfo(version, revision, goVersion string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "scimd_build_info",
		Help:        "Always 1; its labels are the version, VCS revision and Go version of the running scimd.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	m.reg.MustRegister(g)
}

// Handler serves the registry in Prometheus' exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// App returns a Fiber app that serves only /metrics, for a listen address
// of its own (scimd serve --metrics-addr).
func (m *Metrics) App() *fiber.App {
	// A scrape has no body: refuse one (413) rather than buffer Fiber's
	// default 4 MiB per connection before the handler.
	app := fiber.New(fiber.Config{AppName: "scimd-metrics", DisableStartupMessage: true, ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute, BodyLimit: 1 << 10})
	app.Get("/metrics", adaptor.HTTPHandler(m.Handler()))
	return app
}

// RedisError implements provision.Metrics.
func (m *Metrics) RedisError() { m.redisErrors.Inc() }

// WriteNotReplicated implements provision.Metrics.
func (m *Metrics) WriteNotReplicated() { m.notReplicated.Inc() }

// StoreFull implements provision.Metrics.
func (m *Metrics) StoreFull() { m.oomRefusals.Inc() }

// AuditFull implements provision.Metrics.
func (m *Metrics) AuditFull() { m.auditFull.Inc() }

// ConsoleSignIn implements provision.Metrics.
func (m *Metrics) ConsoleSignIn(who, outcome string) { m.signIns.WithLabelValues(who, outcome).Inc() }

// SignInFailureUnrecorded implements provision.Metrics.
func (m *Metrics) SignInFailureUnrecorded() { m.signInsUnrec.Inc() }

// LicenseRefused implements provision.Metrics.
func (m *Metrics) LicenseRefused() { m.licenseRefusals.Inc() }

// AuditEvent implements provision.Metrics.
func (m *Metrics) AuditEvent() { m.auditEvents.Inc() }

// PolicyEvaluated implements provision.Metrics.
func (m *Metrics) PolicyEvaluated(decision string, d time.Duration) {
	m.policy.WithLabelValues(decision).Observe(d.Seconds())
}

func (m *Metrics) observeRequest(api, route, method string, status int, d time.Duration) {
	k := seriesKey{api, route, method, status}
	if s, ok := (*m.series.Load())[k]; ok {
		s.requests.Inc()
		s.duration.Observe(d.Seconds())
		return
	}
	s := requestSeries{
		requests: m.requests.WithLabelValues(api, route, method, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(api, route, method),
	}
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	old := *m.series.Load()
	if _, ok := old[k]; ok || len(old) >= maxCachedSeries {
		return
	}
	next := make(map[seriesKey]requestSeries, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	// The labels are constants or remembered templates (see classify,
	// templateRoute, methodLabel), never the request's own bytes.
	next[k] = s
	m.series.Store(&next)
}

// seriesKey names one request series: its labels, the status unformatted.
type seriesKey struct {
	api, route, method string
	status             int
}

// requestSeries are the counter and histogram of one seriesKey, looked up
// once: WithLabelValues hashes and checks its labels on every call, and
// formatting the status allocated (about 6% of a SCIM request).
type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// maxCachedSeries bounds Metrics.series; past it, a series is looked up
// per request as before.
const maxCachedSeries = 1024

// Route labels are templates, never the path itself: a tenant id or a user
// id in a label would grow the series with every tenant and user.
const (
	apiSCIM   = "scim"
	apiAdmin  = "admin"
	apiAccess = "access"
	apiHealth = "health"
	apiOther  = "other"
)

// classify names the API and route template of a request path, before the
// request is handled (the SCIM edge rewrites the path). Admin routes get
// their template after routing, from adminRoute.
func classify(path string) (api, route string) {
	switch path {
	case "/healthz":
		return apiHealth, "/healthz"
	case "/readyz":
		return apiHealth, "/readyz"
	case "/metrics":
		return apiHealth, "/metrics"
	}
	if rest, ok := strings.CutPrefix(path, "/scim/v2/"); ok {
		tenant, rest, _ := strings.Cut(rest, "/")
		if tenant == "" {
			return apiSCIM, "/scim/v2/other"
		}
		return apiSCIM, scimRoute(rest)
	}
	if strings.HasPrefix(path, "/admin/") {
		return apiAdmin, ""
	}
	if strings.HasPrefix(path, "/access/") {
		return apiAccess, ""
	}
	return apiOther, "other"
}

// scimResources are the SCIM endpoints a route label may name, with their
// labels made once rather than per request.
var scimResources = func() []scimResource {
	var rs []scimResource
	for _, r := range []string{"Users", "Groups", "ServiceProviderConfig", "Schemas", "ResourceTypes"} {
		l := scimBase + "/" + r
		rs = append(rs, scimResource{name: r, list: l, item: l + "/{id}", other: l + "/{id}/other"})
	}
	return rs
}()

type scimResource struct{ name, list, item, other string }

const scimBase = "/scim/v2/{tenant}"

// scimRoute is the template of what follows /scim/v2/{tenant}/.
func scimRoute(rest string) string {
	if rest == "" {
		return scimBase
	}
	name, id, _ := strings.Cut(rest, "/")
	for _, r := range scimResources {
		if !strings.EqualFold(name, r.name) {
			continue
		}
		switch {
		case id == "":
			return r.list
		case strings.Contains(id, "/"):
			return r.other
		}
		return r.item
	}
	return scimBase + "/other"
}

// adminRoute turns the route Fiber matched, such as
// /admin/v1/tenants/:tenant/users/:id, into /admin/v1/tenants/{tenant}/users/{id}.
// A request that matched no admin route (an unknown path, or one refused
// before routing) is /admin/other.
func adminRoute(matched string) string {
	return templateRoute("/admin/", matched)
}

// templateRoute is adminRoute for any API whose routes are under prefix
// (the decision API's too). Answers are remembered: splitting the matched
// route on every request cost about 8% of a cached decision read.
func templateRoute(prefix, matched string) string {
	k := routeKey{prefix, matched}
	if t, ok := (*routeTemplates.Load())[k]; ok {
		return t
	}
	t := makeTemplate(prefix, matched)
	routeTemplatesMu.Lock()
	defer routeTemplatesMu.Unlock()
	old := *routeTemplates.Load()
	// Bounded: Fiber's fallback route (a request refused before routing)
	// carries the request's own path.
	if _, ok := old[k]; !ok && len(old) < maxRouteTemplates {
		m := make(map[routeKey]string, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		// Fiber's strings may alias the request's buffer.
		m[routeKey{prefix, strings.Clone(matched)}] = t
		routeTemplates.Store(&m)
	}
	return t
}

type routeKey struct{ prefix, matched string }

// routeTemplates is copied on write (a few dozen routes, each stored once),
// so that reading it takes no lock.
var (
	routeTemplates   atomic.Pointer[map[routeKey]string]
	routeTemplatesMu sync.Mutex
)

const maxRouteTemplates = 256

func init() { routeTemplates.Store(&map[routeKey]string{}) }

func makeTemplate(prefix, matched string) string {
	if !strings.HasPrefix(matched, prefix) {
		return prefix + "other"
	}
	parts := strings.Split(matched, "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, ":"):
			parts[i] = "{" + strings.TrimRight(p[1:], "?") + "}"
		case p == "*" || p == "+":
			parts[i] = "{path}"
		}
	}
	return strings.Join(parts, "/")
}

// knownMethods bounds the method label; anything else is OTHER.
var knownMethods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS",
}

func methodLabel(m string) string {
	if l, ok := knownMethods[m]; ok {
		return l
	}
	return "OTHER"
}
