package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/scimd/scimd/server/adminapi"
	"github.com/scimd/scimd/storage"
)

// apiDoc is adminapi's OpenAPI document, loaded and validated once, with a
// router over it for the test requests' host.
var apiDoc = sync.OnceValues(func() (*apiSpec, error) {
	raw, err := adminapi.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("loading: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validating: %w", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://scimd.test"}}
	// The decision export's lines are checked by its own test; here the
	// body is text.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	return &apiSpec{doc: doc, router: router}, nil
})

type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
}

// documented reports whether a path is under an API the document covers:
// the admin and operator API, and the decision API.
func documented(path string) bool {
	return strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/access/")
}

// checkOpenAPI fails the test when an answer of the admin API does not
// match the OpenAPI document: harness.do calls it for every request, so the
// admin tests keep the document true. Requests to routes the document does
// not have (the tests' deliberately unknown paths) are left to
// TestOpenAPICoversEveryRoute.
func checkOpenAPI(t testing.TB, method, target string, status int, header http.Header, body []byte) {
	t.Helper()
	if !documented(strings.SplitN(target, "?", 2)[0]) || method == http.MethodHead {
		return
	}
	spec, err := apiDoc()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	req := httptest.NewRequest(method, "http://scimd.test"+target, nil)
	route, params, err := spec.router.FindRoute(req)
	if err != nil {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document (server/adminapi/openapi.yaml) does not allow: %v\nbody: %.2000s", method, target, status, err, body)
	}
}

// TestOpenAPICoversEveryRoute: every route the app registers outside SCIM,
// the console and the health and metrics endpoints is in the document, and
// every operation in the document is registered.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	spec, err := apiDoc()
	if err != nil {
		t.Fatal(err)
	}
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	h := newHarness(t, e.URL())
	registered := map[string]bool{}
	for _, r := range h.app.GetRoutes(true) {
		if r.Method == http.MethodHead || undocumented(r.Path) {
			continue
		}
		key := r.Method + " " + openapiPath(r.Path)
		registered[key] = true
		if item := spec.doc.Paths.Value(openapiPath(r.Path)); item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s is registered but not in server/adminapi/openapi.yaml", key)
		}
	}
	for path, item := range spec.doc.Paths.Map() {
		for method := range item.Operations() {
			if key := method + " " + path; !registered[key] {
				t.Errorf("%s is in the OpenAPI document but not registered", key)
			}
		}
	}
	if len(registered) < 30 {
		t.Errorf("only %d routes found: %v", len(registered), slices.Sorted(func(yield func(string) bool) {
			for k := range registered {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// undocumented are the routes outside the document: SCIM describes itself
// (/Schemas, /ResourceTypes), the console is HTML, health and metrics are
// for machines that know them.
func undocumented(path string) bool {
	for _, p := range []string{"/scim/", "/console", "/healthz", "/readyz", "/metrics"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// openapiPath turns Fiber's /a/:b into OpenAPI's /a/{b}.
func openapiPath(fiberPath string) string {
	parts := strings.Split(fiberPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + strings.TrimSuffix(p[1:], "?") + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpenAPIServed: the document is served as JSON without a token, and
// the harness's check refuses an answer that does not match it.
func TestOpenAPIServed(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	h := newHarness(t, e.URL())
	res := h.do(http.MethodGet, adminapi.OpenAPIPath, "", nil).want(200)
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if v := res.json()["openapi"]; v != "3.1.0" {
		t.Errorf("openapi %v", v)
	}
	h.do(http.MethodGet, adminapi.OpenAPIPath+"?x=1", "", nil).want(400)

	// The check itself: a tenant without its required fields, a problem
	// without its detail, a success status the document does not list.
	for name, c := range map[string]struct {
		method, path string
		status       int
		ct, body     string
	}{
		"tenant missing fields":  {"GET", "/admin/v1/tenants/x", 200, "application/json", `{"id":"x"}`},
		"problem without detail": {"GET", "/admin/v1/tenants/x", 404, "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404}`},
		"undocumented status":    {"DELETE", "/admin/v1/tenants/x", 200, "application/json", `{}`},
		"wrong content type":     {"GET", "/admin/v1/tenants/x/accounts", 200, "text/html", `<p>`},
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{TB: t}
			checkOpenAPI(rec, c.method, c.path, c.status, http.Header{"Content-Type": {c.ct}}, []byte(c.body))
			if !rec.failed {
				t.Errorf("the check let %s through", name)
			}
		})
	}
}

// recorder is a testing.TB that notes a failure instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
