package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/server/feed"
	"github.com/scimd/scimd/server/scimapi"
	"github.com/scimd/scimd/storage"
)

// config is everything `scimd serve` is told. Each setting comes from its
// flag, else its environment variable, else the --config file, else its
// default.
type config struct {
	ConfigFile         string
	Addr               string
	RedisURL           string
	RedisWaitReplicas  int
	RedisWaitTimeout   time.Duration
	OperatorToken      string
	PublicURL          string
	BodyLimit          int
	PreflightBodyLimit int
	MaxConns           int
	MaxConnsPerIP      int
	RateLimit          float64
	RateBurst          int
	RateLimitShared    bool
	Scan               scimapi.ScanBudget
	LogFormat          string
	LogLevel           string
	AuditMaxLen        int64
	QuotaUsers         int64
	QuotaGroups        int64
	QuotaMembers       int64
	AuditMinAge        time.Duration
	FeedMaxLen         int64
	AccessResolver     bool
	AccessMaxDelay     time.Duration
	FeedMaxAge         time.Duration
	AccessLogSample    float64
	PolicyDiffUsers    int
	PolicyDiffTimeout  time.Duration
	AccessLogMaxLen    int64
	AdminRateLimit     float64
	AdminRateBurst     int
	AccessRateLimit    float64
	AccessRateBurst    int
	DecisionCache      int64
	PolicyDir          string
	PolicyTests        string
	PolicyRolloutTag   string
	MetricsAddr        string
	PprofAddr          string
	MemoryLimit        int64
	TLSCert            string
	TLSKey             string
	TrustedProxies     []netip.Prefix
	AllowedHosts       []string
	Demo               bool
	ConsoleOperator    bool
	Feed               feed.HubOptions
	Webhooks           feed.WebhookOptions
}

// minOperatorToken is the shortest operator token serve accepts, in bytes.
const minOperatorToken = 32

const serveUsage = `Usage: scimd serve [flags]

Runs the SCIM and admin APIs, /healthz, /readyz and /metrics.

Every flag can also be set by its environment variable (named after each
flag below) or by a "name = value" line in the file given with --config. A
flag wins over its variable, a variable over the file, the file over the
default; an empty variable counts as unset.

Flags:
`

// parseServe reads serve's settings from args, the environment and the
// config file, and checks them. It returns flag.ErrHelp after printing the
// help to stderr for -h/--help.
func parseServe(args []string, stderr io.Writer) (config, error) {
	return parseServeEnv(args, stderr, os.LookupEnv)
}

// parseServeEnv is parseServe over a given environment, for tests.
func parseServeEnv(args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) (config, error) {
	var c config
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.ConfigFile, "config", "", "`file` of \"name = value\" lines setting any of these flags by name; # starts a comment line")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.RedisURL, "redis-url", "", "redis://, rediss://, redis+cluster://h1,h2,... or redis+sentinel://s1,s2/master URL; empty starts an embedded in-process Redis whose data is lost at exit")
	fs.IntVar(&c.RedisWaitReplicas, "redis-wait-replicas", 0, "acknowledge a write only once this many Redis replicas have it (WAIT), else answer 503; set it with Sentinel so that a failover loses no acknowledged write; 0 does not wait")
	fs.DurationVar(&c.RedisWaitTimeout, "redis-wait-timeout", time.Second, "how long a write waits for --redis-wait-replicas; keep it below the Redis read timeout (2s unless the URL says otherwise)")
	fs.StringVar(&c.OperatorToken, "operator-token", "", "bearer token of the operator API, at least 32 characters; empty generates one and prints it once")
	fs.StringVar(&c.PublicURL, "public-url", "", "externally visible scheme://host[:port] used in meta.location and scimBaseUrl; empty uses each request's Host")
	fs.IntVar(&c.BodyLimit, "body-limit", 1<<20, "largest request body accepted, in bytes")
	fs.IntVar(&c.PreflightBodyLimit, "preflight-body-limit", 32<<20, "largest user export a migration preflight accepts, in bytes")
	fs.IntVar(&c.MaxConns, "max-conns", 1024, "connections served at once, idle keep-alive ones included; a connection beyond gets 503 and is closed")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 128, "connections one client address may hold open; one beyond gets 429 and is closed; 0 means no limit (behind a proxy every connection comes from the proxy: raise it or set 0)")
	fs.Float64Var(&c.RateLimit, "rate-limit", 0, "SCIM requests per second one tenant may make to this process (to all replicas with --rate-limit-shared), answered 429 with Retry-After beyond it; 0 means no limit")
	fs.IntVar(&c.RateBurst, "rate-burst", 0, "requests a tenant may send at once above --rate-limit; 0 means one second's worth")
	fs.BoolVar(&c.RateLimitShared, "rate-limit-shared", false, "count --rate-limit across every replica, in Redis (one more round trip per SCIM request), instead of per process")
	fs.IntVar(&c.Scan.MaxRecords, "scan-max-records", scimapi.DefaultScanMaxRecords, "most records one SCIM filter without an index (co, ew, pr, not, title eq…) may examine; beyond, 400 tooMany; -1 means no bound")
	fs.Float64Var(&c.Scan.Rate, "scan-rate", scimapi.DefaultScanRate, "records per second a tenant's filters without an index may examine, per process (all replicas with --scan-budget-shared); beyond, 429 with Retry-After; -1 means no bound")
	fs.IntVar(&c.Scan.Burst, "scan-burst", 0, "records a tenant's scans may examine at once above --scan-rate; 0 means the larger of --scan-max-records and one second's worth")
	fs.BoolVar(&c.Scan.Shared, "scan-budget-shared", false, "count --scan-rate across every replica, in Redis (one more round trip per scan), instead of per process")
	fs.IntVar(&c.Scan.Concurrency, "scan-concurrency", scimapi.DefaultScanConcurrency, "filters without an index one tenant may run at once in this process; more answer 429; -1 means no bound")
	fs.IntVar(&c.Scan.IndexedFree, "scan-indexed-free", scimapi.DefaultScanIndexedFree, "records a SCIM filter may read through an index (a large group's members, a repeated externalId) without charge; more are charged like a scan of that many")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error; the access log is at info, health checks and scrapes at debug")
	fs.Int64Var(&c.AuditMaxLen, "audit-max-len", 100000, "audit events kept per tenant (older ones are trimmed, unless younger than --audit-min-age)")
	fs.Int64Var(&c.QuotaUsers, "quota-users", storage.DefaultQuotas.Users, "users a tenant may hold, inactive ones included, unless the operator API sets its own quota; a create beyond it answers 403")
	fs.Int64Var(&c.QuotaGroups, "quota-groups", storage.DefaultQuotas.Groups, "groups a tenant may hold unless the operator API sets its own quota; a create beyond it answers 403")
	fs.Int64Var(&c.QuotaMembers, "quota-members", storage.DefaultQuotas.Members, "members one group may have unless the operator API sets the tenant's own quota; a change that would grow a group beyond it answers 403")
	c.AuditMinAge = 24 * time.Hour
	fs.Func("audit-min-age", "audit events younger than this are never trimmed: a write that would need it is refused (429) until they age (e.g. 24h, 30d; 0 trims by count only) (default 24h)", func(v string) error {
		d, err := parseAge(v)
		c.AuditMinAge = d
		return err
	})
	fs.BoolVar(&c.AccessResolver, "access-resolver", true, "re-decide stored access decisions in the background (with the other replicas, under a lease per tenant); false leaves that to other replicas: this one still answers decisions, and decides a user without one on read")
	fs.DurationVar(&c.AccessMaxDelay, "access-resolver-max-delay", access.DefaultMaxDelay, "longest the resolver waits, before each batch, while SCIM requests are in flight (it re-decides in the background and yields the CPU to them); with the SCIM API idle it never waits; 0 never waits")
	fs.Int64Var(&c.FeedMaxLen, "access-feed-max-len", 100000, "entries kept in each tenant's access change feed (older ones are trimmed; a reader behind them gets 410 and re-exports)")
	c.FeedMaxAge = 7 * 24 * time.Hour
	fs.Func("access-feed-max-age", "access change feed entries older than this are trimmed (e.g. 24h, 7d) (default 7d)", func(v string) error {
		d, err := parseAge(v)
		c.FeedMaxAge = d
		return err
	})
	fs.Float64Var(&c.AccessLogSample, "access-log-sample", 0.01, "share of re-resolutions (0 to 1) the resolver records in each tenant's re-resolution log (GET .../access/log): 1 records every one, 0 none")
	fs.Int64Var(&c.AccessLogMaxLen, "access-log-max-len", 1000, "entries kept in each tenant's re-resolution log (older ones are trimmed)")
	fs.IntVar(&c.PolicyDiffUsers, "policy-diff-max-users", 10000, "users one operator policy diff (POST .../policy-diff) decides at most; a tenant with more is diffed over its first ones (truncated: true)")
	fs.DurationVar(&c.PolicyDiffTimeout, "policy-diff-timeout", time.Minute, "time budget of one operator policy diff (compile, tests, decisions); one runs at a time per replica")
	fs.Float64Var(&c.AdminRateLimit, "admin-rate-limit", 10, "changes a second one tenant's admins may make through the admin API, across all replicas (429 with Retry-After beyond); 0 means no limit")
	fs.IntVar(&c.AdminRateBurst, "admin-rate-burst", 50, "admin changes a tenant may make at once above --admin-rate-limit")
	fs.Float64Var(&c.AccessRateLimit, "access-rate-limit", 1000, "decision API requests per second one tenant may make to this process (a batch or an export is one), answered 429 with Retry-After beyond it; 0 means no limit")
	fs.IntVar(&c.AccessRateBurst, "access-rate-burst", 0, "decision API requests a tenant may send at once above --access-rate-limit; 0 means one second's worth")
	c.DecisionCache = 64 << 20
	fs.Func("decision-cache", "memory for stored access decisions kept in process, so that a decision read by id costs no Redis round trip, as bytes or with a unit (64MiB); every replica drops what a change rewrites, and reads bypass the cache while its subscription is not known to be live; 0 keeps none (default 64MiB)", func(v string) error {
		if strings.TrimSpace(v) == "0" {
			c.DecisionCache = 0
			return nil
		}
		n, err := parseBytes(v)
		if err == nil && n == 0 {
			err = fmt.Errorf("%q is not a size such as 64MiB, or 0", v)
		}
		c.DecisionCache = n
		return err
	})
	fs.StringVar(&c.PolicyDir, "policy-dir", "", "directory of edited policies (laid out like policies/); empty uses the built-in ones")
	fs.StringVar(&c.PolicyTests, "policy-tests", "", "directory of Rego tests the policies must pass before the server starts; default with --policy-dir: a policytests/ folder beside it, and without one the start is refused; none starts edited policies untested")
	fs.StringVar(&c.PolicyRolloutTag, "policy-rollout-tag", "policy", "name of the set of replicas that roll policies out together: their heartbeats and active revision live in Redis under {NAME}:replicas and {NAME}:active; give each deployment sharing one Redis its own")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "listen address of a separate plain-HTTP listener for /metrics; empty serves /metrics on --addr")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "loopback listen address (e.g. 127.0.0.1:6060) serving Go's profiles at /debug/pprof/; a non-loopback address is refused; empty serves none")
	fs.Func("memory-limit", "soft limit of the Go heap (GOMEMLIMIT) as bytes or with a unit (512MiB, 2GiB); auto: 90% of the container's cgroup memory limit when there is one; GOMEMLIMIT in the environment wins (default auto)", func(v string) error {
		n, err := parseBytes(v)
		c.MemoryLimit = n
		return err
	})
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate chain to serve HTTPS with (TLS 1.2 or later); needs --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.Func("trusted-proxies", "comma-separated `CIDRs` or addresses of the proxies in front of scimd: only their X-Forwarded-For (read from the right) and X-Forwarded-Proto are believed; empty believes no one's", func(v string) error {
		c.TrustedProxies = nil
		for _, s := range splitList(v) {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return fmt.Errorf("%q is neither a CIDR nor an address", s)
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
		return nil
	})
	fs.Func("allowed-hosts", "comma-separated `hosts` (name or name:port) the server answers for; another Host header gets 421. Empty answers any Host (then set --public-url in production)", func(v string) error {
		c.AllowedHosts = nil
		for _, s := range splitList(v) {
			if strings.ContainsAny(s, "/ @") {
				return fmt.Errorf("%q is not a host or host:port", s)
			}
			c.AllowedHosts = append(c.AllowedHosts, s)
		}
		return nil
	})
	fs.BoolVar(&c.ConsoleOperator, "console-operator", false, "serve the operator's console pages at /console/operator/ (every tenant: create, license limit, delete; seat requests; provisioning health), signed in with the operator token; off by default: turn it on only where operators alone reach the listener")
	fs.BoolVar(&c.Demo, "demo", false, "create a demo tenant (sub-accounts, SCIM and manual users, groups, grants, a custom role, a nearly full license, audit history) and print the console URL and its sign-in; embedded store only")
	fs.IntVar(&c.Feed.Readers, "feed-readers", feed.DefaultReaders, "tenants whose change feed this process follows with a blocking Redis read (one connection each, on a client of their own); the feeds of more tenants with listeners are polled every second")
	fs.IntVar(&c.Feed.StreamsPerTenant, "feed-streams-per-tenant", 16, "open change streams (SSE) and waiting long polls one tenant may have on this process; beyond, 429")
	fs.BoolVar(&c.Webhooks.AllowPrivate, "webhook-allow-private", false, "let webhook URLs reach loopback, private and link-local addresses (refused otherwise, when set and at every connection)")
	fs.IntVar(&c.Webhooks.Attempts, "webhook-attempts", 8, "times a webhook batch is sent (with exponential backoff from 1s to 5m) before it is dead-lettered")
	fs.IntVar(&c.Feed.Streams, "feed-streams", 512, "open change streams (SSE) and waiting long polls on this process; beyond, 503")
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " (env " + envName(f.Name) + ")" })
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := applyLayers(fs, lookupEnv); err != nil {
		return c, err
	}
	if c.PolicyDir != "" && c.PolicyTests == "" {
		sibling := filepath.Join(filepath.Dir(filepath.Clean(c.PolicyDir)), "policytests")
		if st, err := os.Stat(sibling); err == nil && st.IsDir() {
			c.PolicyTests = sibling
		} else {
			return c, fmt.Errorf("--policy-dir %s: no tests found (no %s): edited policies must pass their tests to start; name them with --policy-tests DIR, or pass --policy-tests none to start untested", c.PolicyDir, sibling)
		}
	}
	if c.PolicyRolloutTag == "" || strings.ContainsAny(c.PolicyRolloutTag, "{}") {
		// The name is the keys' Redis Cluster hash tag: a brace would end it.
		return c, fmt.Errorf("--policy-rollout-tag must be a non-empty name without braces, not %q", c.PolicyRolloutTag)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return c, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if n := len(c.OperatorToken); n > 0 && n < minOperatorToken {
		// The operator token opens every tenant: a short one can be guessed.
		return c, fmt.Errorf("--operator-token must be at least %d characters (it has %d); `openssl rand -base64 32` makes one", minOperatorToken, n)
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return c, fmt.Errorf("--public-url must start with http:// or https://")
	}
	switch {
	case c.RedisWaitReplicas < 0:
		return c, fmt.Errorf("--redis-wait-replicas must be 0 or more")
	case c.Demo && c.RedisURL != "":
		return c, fmt.Errorf("--demo runs on the embedded store only (its data goes at exit); it will not write a demo tenant into the Redis of --redis-url")
	case c.RedisWaitReplicas > 0 && c.RedisURL == "":
		return c, fmt.Errorf("--redis-wait-replicas needs --redis-url: the embedded Redis has no replicas")
	case c.RedisWaitTimeout <= 0:
		return c, fmt.Errorf("--redis-wait-timeout must be positive")
	}
	switch {
	case math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 || c.RateLimit > 0 && c.RateLimit < 0.001:
		return c, fmt.Errorf("--rate-limit must be 0 (no limit) or between 0.001 and a finite number of requests a second")
	case c.RateBurst < 0:
		return c, fmt.Errorf("--rate-burst must be 0 or more")
	case c.RateLimitShared && c.RateLimit == 0:
		return c, fmt.Errorf("--rate-limit-shared needs --rate-limit")
	}
	switch {
	case c.Scan.MaxRecords < -1 || c.Scan.MaxRecords == 0:
		return c, fmt.Errorf("--scan-max-records must be positive, or -1 for no bound")
	case math.IsNaN(c.Scan.Rate) || math.IsInf(c.Scan.Rate, 0) || c.Scan.Rate != -1 && c.Scan.Rate < 0.001:
		return c, fmt.Errorf("--scan-rate must be at least 0.001 records a second and finite, or -1 for no bound")
	case c.Scan.Burst < 0:
		return c, fmt.Errorf("--scan-burst must be 0 or more")
	case c.Scan.Shared && c.Scan.Rate == -1:
		return c, fmt.Errorf("--scan-budget-shared needs a --scan-rate")
	case c.Scan.Concurrency < -1 || c.Scan.Concurrency == 0:
		return c, fmt.Errorf("--scan-concurrency must be positive, or -1 for no bound")
	case math.IsNaN(c.AdminRateLimit) || math.IsInf(c.AdminRateLimit, 0) || c.AdminRateLimit < 0 || c.AdminRateLimit > 0 && c.AdminRateLimit < 0.001:
		return c, fmt.Errorf("--admin-rate-limit must be 0 (no limit) or between 0.001 and a finite number of changes a second")
	case c.AdminRateBurst < 1 && c.AdminRateLimit > 0:
		return c, fmt.Errorf("--admin-rate-burst must be 1 or more")
	case math.IsNaN(c.AccessRateLimit) || math.IsInf(c.AccessRateLimit, 0) || c.AccessRateLimit < 0 || c.AccessRateLimit > 0 && c.AccessRateLimit < 0.001:
		return c, fmt.Errorf("--access-rate-limit must be 0 (no limit) or between 0.001 and a finite number of requests a second")
	case c.AccessRateBurst < 0:
		return c, fmt.Errorf("--access-rate-burst must be 0 or more")
	case c.AccessMaxDelay < 0 || c.AccessMaxDelay > 5*time.Second:
		// Decisions must follow a write promptly: seconds of waiting per
		// batch would leave them stale for minutes on a big job.
		return c, fmt.Errorf("--access-resolver-max-delay must be between 0 and 5s")
	case c.AuditMaxLen < 1:
		return c, fmt.Errorf("--audit-max-len must be 1 or more")
	case c.FeedMaxLen < 1:
		return c, fmt.Errorf("--access-feed-max-len must be 1 or more")
	case c.FeedMaxAge < time.Minute:
		return c, fmt.Errorf("--access-feed-max-age must be 1m or more")
	case !(c.AccessLogSample >= 0 && c.AccessLogSample <= 1):
		return c, fmt.Errorf("--access-log-sample must be between 0 and 1")
	case c.AccessLogMaxLen < 1:
		return c, fmt.Errorf("--access-log-max-len must be 1 or more")
	case c.PolicyDiffUsers < 1:
		return c, fmt.Errorf("--policy-diff-max-users must be 1 or more")
	case c.PolicyDiffTimeout < time.Second:
		return c, fmt.Errorf("--policy-diff-timeout must be 1s or more")
	case c.Scan.IndexedFree < 1:
		return c, fmt.Errorf("--scan-indexed-free must be positive")
	}
	switch {
	case c.MaxConns < 1:
		return c, fmt.Errorf("--max-conns must be 1 or more")
	case c.MaxConnsPerIP < 0:
		return c, fmt.Errorf("--max-conns-per-ip must be 0 (no limit) or more")
	}
	if c.QuotaUsers < 1 || c.QuotaGroups < 1 || c.QuotaMembers < 1 {
		return c, fmt.Errorf("--quota-users, --quota-groups and --quota-members must be 1 or more")
	}
	if c.Feed.Readers < 1 || c.Feed.StreamsPerTenant < 1 || c.Feed.Streams < 1 || c.Webhooks.Attempts < 1 {
		return c, fmt.Errorf("--feed-readers, --feed-streams-per-tenant, --feed-streams and --webhook-attempts must be 1 or more")
	}
	if c.PprofAddr != "" {
		if err := checkLoopback(c.PprofAddr); err != nil {
			return c, fmt.Errorf("--pprof-addr: %w", err)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	}
	return c, nil
}

// parseAge reads a duration, also in whole days ("30d").
func parseAge(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 24h or 30d", v)
	}
	return d, nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// envName is the variable that sets a flag: SCIMD_ and the flag's name in
// capitals, dashes as underscores (--redis-url: SCIMD_REDIS_URL).
func envName(flagName string) string {
	return "SCIMD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyLayers sets each flag the command line left alone from its
// environment variable, else from the config file (named by --config or
// SCIMD_CONFIG). Errors name the variable, or the file, line and key.
func applyLayers(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	env := func(name string) (string, bool) {
		v, ok := lookupEnv(envName(name))
		return v, ok && v != ""
	}
	path := fs.Lookup("config").Value.String()
	if v, ok := env("config"); ok && !given["config"] {
		path = v
		if err := fs.Set("config", v); err != nil {
			return err
		}
	}
	var file map[string]fileSetting
	if path != "" {
		var err error
		if file, err = readConfigFile(path, fs); err != nil {
			return err
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := env(f.Name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
			return
		}
		if s, ok := file[f.Name]; ok {
			if e := fs.Set(f.Name, s.value); e != nil {
				err = fmt.Errorf("%s line %d: %s = %q: %w", path, s.line, f.Name, s.value, e)
			}
		}
	})
	return err
}

type fileSetting struct {
	value string
	line  int
}

// readConfigFile reads "name = value" lines, names being those of fs's
// flags. Blank lines and lines starting with # are skipped; the value is the
// rest of the line, trimmed, and may be double-quoted (Go syntax) to keep
// spaces. An unknown or repeated name is an error naming it.
func readConfigFile(path string, fs *flag.FlagSet) (map[string]fileSetting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	out := map[string]fileSetting{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s line %d: want name = value", path, n)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case name == "config":
			return nil, fmt.Errorf("%s line %d: a config file cannot name another", path, n)
		case fs.Lookup(name) == nil:
			hint := ""
			if alt := strings.ReplaceAll(strings.TrimLeft(strings.ToLower(name), "-"), "_", "-"); alt != name && fs.Lookup(alt) != nil {
				hint = fmt.Sprintf(" (did you mean %q?)", alt)
			}
			return nil, fmt.Errorf("%s line %d: unknown key %q%s", path, n, name, hint)
		}
		if prev, dup := out[name]; dup {
			return nil, fmt.Errorf("%s line %d: %q is already set on line %d", path, n, name, prev.line)
		}
		if strings.HasPrefix(value, `"`) {
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %s: bad quoted value", path, n, name)
			}
			value = uq
		}
		out[name] = fileSetting{value: value, line: n}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return out, nil
}
