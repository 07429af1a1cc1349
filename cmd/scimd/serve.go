package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// config is everything `scimd serve` is told, from flags and environment
// (a flag wins over its variable).
type config struct {
	Addr               string
	RedisURL           string
	OperatorToken      string
	PublicURL          string
	BodyLimit          int
	PreflightBodyLimit int
	RateLimit          float64
	RateBurst          int
	LogFormat          string
	LogLevel           string
	AuditMaxLen        int64
	PolicyDir          string
	PolicyTests        string
}

func parseServe(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", envOr("SCIMD_ADDR", "127.0.0.1:8080"), "listen address (env SCIMD_ADDR)")
	fs.StringVar(&c.RedisURL, "redis-url", envOr("SCIMD_REDIS_URL", ""), "redis:// or rediss:// URL; empty starts an embedded in-process Redis whose data is lost at exit (env SCIMD_REDIS_URL)")
	fs.StringVar(&c.OperatorToken, "operator-token", envOr("SCIMD_OPERATOR_TOKEN", ""), "bearer token of the operator API; empty generates one and prints it once (env SCIMD_OPERATOR_TOKEN)")
	fs.StringVar(&c.PublicURL, "public-url", envOr("SCIMD_PUBLIC_URL", ""), "externally visible scheme://host[:port] used in meta.location and scimBaseUrl; empty uses each request's Host (env SCIMD_PUBLIC_URL)")
	fs.IntVar(&c.BodyLimit, "body-limit", 1<<20, "largest request body accepted, in bytes")
	fs.IntVar(&c.PreflightBodyLimit, "preflight-body-limit", 32<<20, "largest user export a migration preflight accepts, in bytes")
	fs.Float64Var(&c.RateLimit, "rate-limit", 0, "SCIM requests per second one tenant may make to this process, answered 429 with Retry-After beyond it; 0 means no limit")
	fs.IntVar(&c.RateBurst, "rate-burst", 0, "requests a tenant may send at once above --rate-limit; 0 means one second's worth")
	fs.StringVar(&c.LogFormat, "log-format", envOr("SCIMD_LOG_FORMAT", "text"), "text or json (env SCIMD_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("SCIMD_LOG_LEVEL", "info"), "debug, info, warn or error (env SCIMD_LOG_LEVEL)")
	fs.Int64Var(&c.AuditMaxLen, "audit-max-len", 100000, "audit events kept per tenant (older ones are trimmed)")
	fs.StringVar(&c.PolicyDir, "policy-dir", envOr("SCIMD_POLICY_DIR", ""), "directory of edited policies (laid out like policies/); empty uses the built-in ones (env SCIMD_POLICY_DIR)")
	fs.StringVar(&c.PolicyTests, "policy-tests", envOr("SCIMD_POLICY_TESTS", ""), "directory of Rego tests the policies must pass before the server starts; default with --policy-dir: a policytests/ folder beside it, if there is one (env SCIMD_POLICY_TESTS)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.PolicyDir != "" && c.PolicyTests == "" {
		sibling := filepath.Join(filepath.Dir(filepath.Clean(c.PolicyDir)), "policytests")
		if st, err := os.Stat(sibling); err == nil && st.IsDir() {
			c.PolicyTests = sibling
		}
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return c, fmt.Errorf("--public-url must start with http:// or https://")
	}
	return c, nil
}

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

// instance is a running server and what it owns; tests start one on :0.
type instance struct {
	log      *slog.Logger
	app      *fiber.App
	ln       net.Listener
	rdb      redis.UniversalClient
	embedded *storage.Embedded
	served   chan error
}

func start(cfg config, log *slog.Logger, stdout io.Writer) (*instance, error) {
	m := &instance{log: log, served: make(chan error, 1)}
	// Policies first: a policy that does not compile or fails its tests
	// must stop the start before anything listens.
	engine, err := policies.New(policies.Options{Dir: cfg.PolicyDir, TestDir: cfg.PolicyTests})
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	switch {
	case cfg.PolicyDir == "":
		log.Info("policies: built-in", "revision", engine.Revision())
	case cfg.PolicyTests == "":
		log.Warn("policies: loaded without tests; pass --policy-tests to check them at start", "dir", cfg.PolicyDir, "revision", engine.Revision())
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
	st := storage.New(rdb, storage.Options{AuditMaxLen: cfg.AuditMaxLen})
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
	svc := provision.New(st, engine, provision.Options{})
	m.app = server.New(server.Config{PublicURL: cfg.PublicURL, OperatorToken: cfg.OperatorToken, BodyLimit: cfg.BodyLimit, PreflightBodyLimit: cfg.PreflightBodyLimit, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst}, svc)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("--addr: %w", err)
	}
	m.ln = ln
	log.Info("listening", "addr", ln.Addr().String())
	go func() { m.served <- m.app.Listener(ln) }()
	return m, nil
}

// wait serves until ctx ends (SIGINT/SIGTERM), then shuts down gracefully:
// in-flight requests finish, idle keep-alive connections close.
func (m *instance) wait(ctx context.Context) error {
	select {
	case err := <-m.served:
		return err
	case <-ctx.Done():
	}
	m.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return m.app.ShutdownWithContext(sctx)
}

func (m *instance) close() {
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
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func generateToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("no randomness: " + err.Error())
	}
	return "scimd_op_" + base64.RawURLEncoding.EncodeToString(b[:])
}
