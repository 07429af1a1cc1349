package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

const operatorToken = "test-operator-token"

// backends lists the Redis servers the end-to-end tests run against: the
// embedded one always, and real Redis when REDIS_URL is set (as in CI).
func backends(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatalf("embedded redis: %v", err)
	}
	t.Cleanup(e.Close)
	out["miniredis"] = e.URL()
	if u := os.Getenv("REDIS_URL"); u != "" {
		out["redis"] = u
	}
	return out
}

// forEachBackend runs fn once per backend with a fresh app.
func forEachBackend(t *testing.T, fn func(t *testing.T, h *harness)) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			fn(t, newHarness(t, url))
		})
	}
}

type harness struct {
	t   *testing.T
	app *fiber.App
	// st and svc are what app serves; st runs the consistency check when a
	// tenant of the test is deleted. Both nil for an app of another kind
	// (the metrics listener).
	st      *storage.Store
	svc     *provision.Service
	metrics *server.Metrics
	// rdb is a client of the app's Redis, for tests that write stored
	// state no API writes (decision records before the resolver).
	rdb redis.UniversalClient
	// srv is what Assemble made (zero for an app of another kind).
	srv server.Assembled
}

func newHarness(t *testing.T, url string) *harness {
	t.Helper()
	return newHarnessWith(t, url, 64<<10)
}

// newHarnessWith is newHarness with another body limit (the server's
// default, 1 MiB, for the big-group benchmark).
func newHarnessWith(t *testing.T, url string, bodyLimit int) *harness {
	t.Helper()
	return newHarnessConfig(t, url, func(c *server.Config) { c.BodyLimit = bodyLimit })
}

// newHarnessConfig is newHarness with the server's configuration changed by
// set.
func newHarnessConfig(t *testing.T, url string, set func(*server.Config)) *harness {
	t.Helper()
	return newHarnessStore(t, url, storage.Options{}, set)
}

// newHarnessStore is newHarnessConfig over a store with these options.
func newHarnessStore(t *testing.T, url string, opts storage.Options, set func(*server.Config)) *harness {
	t.Helper()
	cfg := server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: 64 << 10}
	set(&cfg)
	return assemble(t, url, cfg, opts, provision.Options{})
}

// assemble is the one way the tests build a server: server.Assemble, as
// `scimd serve` builds it (the metered store included), over a client of
// its own on url.
func assemble(t *testing.T, url string, cfg server.Config, sopts storage.Options, popts provision.Options) *harness {
	t.Helper()
	return assembleEngine(t, url, cfg, sopts, popts, testEngine(t))
}

// assembleEngine is assemble running the policies of eng.
func assembleEngine(t *testing.T, url string, cfg server.Config, sopts storage.Options, popts provision.Options, eng *policies.Engine) *harness {
	t.Helper()
	rdb, err := storage.NewClient(url)
	if err != nil {
		t.Fatalf("redis client: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	st := storage.New(rdb, sopts)
	srv := server.Assemble(cfg, st, eng, popts)
	t.Cleanup(srv.Stop)
	return &harness{t: t, app: srv.App, st: st, svc: srv.Service, metrics: srv.Metrics, rdb: rdb, srv: srv}
}

// checkConsistent runs storage's consistency check over a tenant and fails
// the test on any finding, so that an index, listing, member-set or seat
// bug fails the end-to-end test that caused it. A tenant already gone (the
// test deleted it, or Redis lost it) has nothing to check, nor has a store
// the test took down (the fault tests).
func (h *harness) checkConsistent(t *testing.T, tenant string) {
	t.Helper()
	if h.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := h.st.Check(ctx, tenant, false)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return
	case errors.Is(err, storage.ErrUnavailable):
		t.Logf("consistency check of %s not run: %v", tenant, err)
	case err != nil:
		t.Errorf("consistency check of %s: %v", tenant, err)
	case len(rep.Findings) > 0:
		raw, _ := json.MarshalIndent(rep.Findings, "", "  ")
		t.Errorf("consistency check of %s: %d findings:\n%s", tenant, len(rep.Findings), raw)
	}
}

// tenant is a tenant made for one test, deleted when the test ends.
type tenant struct {
	ID         string
	SCIMToken  string
	AdminToken string
	Base       string // "/scim/v2/<id>"
}

func (h *harness) newTenant(limit int) tenant {
	h.t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		h.t.Fatal(err)
	}
	id := "e2e-" + hex.EncodeToString(b[:])
	res := h.do(http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": id, "name": "Test " + id, "licenseLimit": limit})
	res.want(201)
	tenantOwners.Store(id, h.t.Name())
	var out struct {
		ID, SCIMToken, AdminToken, SCIMBaseURL string
	}
	res.decode(&out)
	if out.SCIMToken == "" || out.AdminToken == "" {
		h.t.Fatalf("tenant create gave no tokens: %s", res.body)
	}
	h.t.Cleanup(func() {
		h.checkConsistent(h.t, id)
		h.do(http.MethodDelete, "/admin/v1/tenants/"+id, operatorToken, nil)
	})
	return tenant{ID: id, SCIMToken: out.SCIMToken, AdminToken: out.AdminToken, Base: "/scim/v2/" + id}
}

type response struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

// do sends one request through the real Fiber app; body may be nil, raw
// bytes, a string, or a value to encode as JSON.
func (h *harness) do(method, path, token string, body any, headers ...string) response {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, "http://scimd.test"+path, r)
	// A request line with a path and a Host header: app.Test dumps an
	// absolute target without Host, which fasthttp refuses (RFC 9112).
	req.RequestURI = ""
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.app.Test(req, -1)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	checkOpenAPI(h.t, method, path, resp.StatusCode, resp.Header, raw)
	return response{t: h.t, status: resp.StatusCode, header: resp.Header, body: raw}
}

func (r response) want(status int) response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

func (r response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// detail is an error answer's detail (problem or SCIM error); it fails the
// test when the field is missing, not a string, or empty.
func (r response) detail() string {
	r.t.Helper()
	d, ok := r.json()["detail"].(string)
	if !ok || d == "" {
		r.t.Fatalf("status %d without a detail: %s", r.status, r.body)
	}
	return d
}

func (r response) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.decode(&m)
	return m
}

// fixture reads one of Entra's request bodies, kept in testdata as copied
// from shared/entra-fixtures (TestFixturesMatchShared guards the copy).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "entra", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// fixtureWith reads a fixture and replaces placeholder ids with real ones.
func fixtureWith(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	s := string(fixture(t, name))
	for i := 0; i+1 < len(replace); i += 2 {
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	return []byte(s)
}

// path digs into decoded JSON: path(m, "name", "familyName").
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (r response) text() string { return string(r.body) }

var (
	engineOnce sync.Once
	engine     *policies.Engine
	engineErr  error
)

// testEngine compiles the built-in policies once for the whole package.
func testEngine(t *testing.T) *policies.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = policies.New(policies.Options{}) })
	if engineErr != nil {
		t.Fatalf("policies: %v", engineErr)
	}
	return engine
}
