package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseServe(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "scimd serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	redis.SetLogger(redisLogger{log})
	m, err := start(cfg, log, stdout)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	err = m.wait(ctx)
	m.close()
	if err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// statusFlushInterval is how often the SCIM request counts of the
// provisioning status are written to Redis.
const statusFlushInterval = 5 * time.Second

// waitMargin is the least a Redis read must outlast --redis-wait-timeout:
// the script and the round trip come on top of the WAIT.
const waitMargin = 250 * time.Millisecond

// instance is a running server and what it owns; tests start one on :0.
type instance struct {
	log        *slog.Logger
	app        *fiber.App
	ln         net.Listener
	metricsApp *fiber.App         // nil unless --metrics-addr
	metricsLn  net.Listener       // nil unless --metrics-addr
	pprof      *http.Server       // nil unless --pprof-addr
	silent     []*silentConns     // the listeners', for shutdown
	stopWatch  context.CancelFunc // ends the token-change subscription and the status flusher
	resolver   *access.Resolver   // stopped before Redis closes
	flushed    chan struct{}      // closed when the status flusher's last flush is done
	stopFeed   func()             // ends the change feed's polls and streams, before the app's shutdown
	heartbeat  chan struct{}      // closed when the policy heartbeat has left
	rdb        redis.UniversalClient
	embedded   *storage.Embedded
	served     chan error // one result per listener
}

func start(cfg config, log *slog.Logger, stdout io.Writer) (*instance, error) {
	m := &instance{log: log, served: make(chan error, 2)}
	build := readBuildInfo()
	log.Info("scimd starting", "version", build.Version, "revision", build.Revision, "go", build.GoVersion)
	if limit, from := setMemoryLimit(cfg.MemoryLimit, os.Getenv, cgroupMemoryFiles); limit > 0 {
		log.Info("go memory limit", "bytes", limit, "from", from)
	}
	// Policies first: a policy that does not compile or fails its tests
	// must stop the start before anything listens.
	testDir := cfg.PolicyTests
	if testDir == policyTestsNone {
		testDir = ""
	}
	engine, err := policies.New(policies.Options{Dir: cfg.PolicyDir, TestDir: testDir})
	if err != nil {
		return nil, err // says "policies:" itself
	}
	switch {
	case cfg.PolicyDir == "" && testDir == "":
		log.Info("policies: built-in", "revision", engine.Revision())
	case cfg.PolicyDir == "":
		log.Info("policies: built-in, tested", "tests", testDir, "revision", engine.Revision())
	case testDir == "":
		log.Warn("policies: loaded untested (--policy-tests none)", "dir", cfg.PolicyDir, "revision", engine.Revision())
	default:
		log.Info("policies: loaded and tested", "dir", cfg.PolicyDir, "tests", cfg.PolicyTests, "revision", engine.Revision())
	}
	url := cfg.RedisURL
	if url == "" {
		e, err := storage.StartEmbedded()
		if err != nil {
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		m.embedded = e
		url = e.URL()
		log.Warn("no --redis-url: using an embedded in-process Redis (miniredis); all data is lost at exit. Point --redis-url at Redis with AOF for real use", "addr", e.Addr())
	}
	rdb, err := storage.NewClient(url)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	m.rdb = rdb
	if rt := storage.ReadTimeout(rdb); cfg.RedisWaitReplicas > 0 && rt > 0 && cfg.RedisWaitTimeout > rt-waitMargin {
		// The WAIT would outlast the read of its reply (which also waits for
		// the script and the network): every write would time out as if
		// Redis were gone.
		m.close()
		return nil, fmt.Errorf("--redis-wait-timeout %s must be below the Redis read timeout %s by %s or more (read_timeout in --redis-url)", cfg.RedisWaitTimeout, rt, waitMargin)
	}
	st := storage.New(rdb, storage.Options{PolicyKeyTag: cfg.PolicyRolloutTag, AuditMaxLen: cfg.AuditMaxLen, AuditMinAge: cfg.AuditMinAge, FeedMaxLen: cfg.FeedMaxLen, FeedMaxAge: cfg.FeedMaxAge, AccessLogMaxLen: cfg.AccessLogMaxLen, WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: cfg.RedisWaitTimeout,
		Quotas: storage.Quotas{Users: cfg.QuotaUsers, Groups: cfg.QuotaGroups, Members: cfg.QuotaMembers}})
	if strings.Contains(url, "+sentinel://") && cfg.RedisWaitReplicas == 0 {
		log.Warn("redis: Sentinel without --redis-wait-replicas: writes acknowledged in the moment before a failover are lost with the old master (replication is asynchronous); set --redis-wait-replicas 1 with two or more replicas")
	}
	pingCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := st.Ping(pingCtx); err != nil {
		// Not fatal: readiness reports it and requests answer 503 until Redis is back.
		log.Warn("redis does not answer yet", "err", err)
	}
	if cfg.OperatorToken == "" {
		cfg.OperatorToken = generateToken()
		fmt.Fprintf(stdout, "operator token (generated for this run; set SCIMD_OPERATOR_TOKEN to keep one): %s\n", cfg.OperatorToken)
	}
	metrics := server.NewMetrics()
	metrics.SetBuildInfo(build.Version, build.Revision, build.GoVersion)
	// The replica records the policy revision it runs; the revision every
	// live replica runs is active (see server/rollout).
	heartbeat := rollout.New(st, rollout.Options{Revision: engine.Revision(), Log: log, Metrics: metrics})
	if _, err := heartbeat.Beat(pingCtx); err != nil {
		log.Warn("policy rollout: first heartbeat failed; retried every few seconds", "err", err)
	}
	srv := server.Assemble(server.Config{PublicURL: cfg.PublicURL, OperatorToken: cfg.OperatorToken, BodyLimit: cfg.BodyLimit, PreflightBodyLimit: cfg.PreflightBodyLimit, MaxConns: cfg.MaxConns, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, RateLimitShared: cfg.RateLimitShared,
		TrustedProxies: cfg.TrustedProxies, AllowedHosts: cfg.AllowedHosts, AdminRateLimit: cfg.AdminRateLimit, AdminRateBurst: cfg.AdminRateBurst,
		AccessRateLimit: cfg.AccessRateLimit, AccessRateBurst: cfg.AccessRateBurst, PolicyRollout: heartbeat,
		Scan: cfg.Scan, Metrics: metrics, MetricsElsewhere: cfg.MetricsAddr != "", ConsoleOperator: cfg.ConsoleOperator, FeedHub: cfg.Feed, WebhookOptions: cfg.Webhooks, PolicyDiffOptions: rollout.PreviewOptions{MaxUsers: cfg.PolicyDiffUsers, Timeout: cfg.PolicyDiffTimeout},
		Access: access.Options{Log: log, Replica: heartbeat.Replica(), ActiveRevision: heartbeat.ActiveRevision, LogSample: cfg.AccessLogSample, MaxDelay: maxDelay(cfg.AccessMaxDelay)}}, st, engine, provision.Options{DecisionCache: cfg.DecisionCache})
	m.stopFeed = srv.Stop
	srv.Start()
	svc := srv.Service
	// The resolver keeps every user's stored access decision current.
	m.resolver = srv.Resolver
	if cfg.AccessResolver {
		m.resolver.Start()
	}
	// Token checks cached here are dropped when another replica rotates a
	// token or deletes a tenant.
	watch, stopWatch := context.WithCancel(context.Background())
	m.stopWatch = stopWatch
	// SCIM request counts are kept in process and flushed every few
	// seconds for the provisioning status: no Redis write per request.
	m.flushed = make(chan struct{})
	go func() {
		defer close(m.flushed)
		svc.RunStatusFlusher(watch, statusFlushInterval)
	}()
	m.heartbeat = make(chan struct{})
	go func() {
		defer close(m.heartbeat)
		heartbeat.Run(watch) // leaves when watch ends: the rollout need not wait for this replica's entry to expire
	}()
	select {
	case <-svc.WatchTokenChanges(watch):
	case <-time.After(3 * time.Second):
		log.Warn("redis: token-change subscription not confirmed yet; cached token checks expire within 5s meanwhile")
	}
	// Decisions read by id are cached once the replicas' writes are heard
	// (until then, and whenever the subscription is not known live, reads
	// go to Redis): no need to wait for it.
	svc.WatchAccessChanged(watch)
	m.app = srv.App
	ln, silent, err := listen(cfg.Addr, cfg.TLSCert, cfg.TLSKey, cfg.MaxConnsPerIP)
	if err != nil {
		m.close()
		return nil, err
	}
	m.ln, m.silent = ln, append(m.silent, silent)
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			ln.Close()
			m.close()
			return nil, fmt.Errorf("--pprof-addr: %w", err)
		}
		m.pprof = servePprof(pln, log)
		log.Info("pprof listening", "addr", pln.Addr().String())
	}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			m.close()
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		msilent := newSilentConns(mln)
		m.metricsLn, m.metricsApp, m.silent = msilent, metrics.App(), append(m.silent, msilent)
		log.Info("metrics listening", "addr", mln.Addr().String())
		go func() { m.served <- m.metricsApp.Listener(msilent) }()
	}
	base := cfg.PublicURL
	if base == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		base = scheme + "://" + ln.Addr().String()
	}
	if cfg.Demo {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		token, err := seedDemo(dctx, svc)
		cancel()
		if err != nil {
			ln.Close()
			m.close()
			return nil, err
		}
		printDemo(stdout, base, token)
	} else {
		// The newcomer's next step; a log line (stdout is for what a
		// person must copy, and deployments read the log as JSON).
		log.Info("console", "url", strings.TrimRight(base, "/")+"/console/", "sign_in", "a tenant id and one of its admin tokens (--demo makes a tenant to try it)")
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")
	go func() { m.served <- m.app.Listener(ln) }()
	return m, nil
}

// listen opens the API's listener: plain TCP, or TLS 1.2+ with the given
// certificate, loaded now so that a bad file stops the start. It holds each
// client address to perIP connections (0: no limit), and is watched for
// connections that send nothing, to close them at shutdown.
func listen(addr, certFile, keyFile string, perIP int) (net.Listener, *silentConns, error) {
	var tc *tls.Config
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		// fasthttp speaks HTTP/1.1 only: offer nothing else in ALPN.
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--addr: %w", err)
	}
	var ln net.Listener = tcp
	if perIP > 0 {
		ln = newPerIPConns(tcp, perIP, tc == nil)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	silent := newSilentConns(ln)
	return silent, silent, nil
}

// wait serves until ctx ends (SIGINT/SIGTERM), then shuts down gracefully:
// in-flight requests finish, idle keep-alive connections close, and so do
// connections that have not sent a request within a second.
func (m *instance) wait(ctx context.Context) error {
	select {
	case err := <-m.served:
		return err
	case <-ctx.Done():
	}
	m.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	swept := make(chan struct{})
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, s := range m.silent {
				s.closeSilent(time.Second)
			}
			select {
			case <-swept:
				return
			case <-tick.C:
			}
		}
	}()
	defer close(swept)
	// Long polls and event streams would hold the shutdown until they end.
	m.stopFeed()
	err := m.app.ShutdownWithContext(sctx)
	if m.metricsApp != nil {
		err = errors.Join(err, m.metricsApp.ShutdownWithContext(sctx))
	}
	return err
}

func (m *instance) close() {
	if m.pprof != nil {
		m.pprof.Close()
	}
	if m.stopFeed != nil {
		m.stopFeed() // again after wait: a no-op; before the client closes otherwise
	}
	if m.resolver != nil {
		m.resolver.Stop() // its leases are released while Redis is still open
	}
	if m.stopWatch != nil {
		m.stopWatch()
	}
	if m.flushed != nil {
		<-m.flushed // its last flush needs the client still open
	}
	if m.heartbeat != nil {
		<-m.heartbeat // leaving needs the client still open
	}
	if m.rdb != nil {
		if err := m.rdb.Close(); err != nil {
			m.log.Warn("closing redis client", "err", err)
		}
	}
	if m.embedded != nil {
		m.embedded.Close()
	}
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	// server.LogHandler adds the request id to every line logged with a request's context.
	if cfg.LogFormat == "json" {
		return slog.New(server.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(server.LogHandler(slog.NewTextHandler(w, opts)))
}

// redisLogger sends go-redis's own messages (dial failures, Sentinel
// switches) to the server's log instead of the standard logger's stderr.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

func generateToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("no randomness: " + err.Error())
	}
	return "scimd_op_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// maxDelay is --access-resolver-max-delay as access.Options.MaxDelay, where
// 0 means the default and a negative delay none.
func maxDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
