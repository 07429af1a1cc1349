package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// TestLogHandler: a record logged with a request's context gets its id,
// once, even when the caller names it too.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("component", "test")
	ctx := context.WithValue(context.Background(), requestIDKey{}, "rid-1")
	for _, tc := range []struct {
		name string
		log  func()
		want string
	}{
		{"from context", func() { log.InfoContext(ctx, "hello") }, "msg=hello component=test request_id=rid-1\n"},
		{"named by caller", func() { log.InfoContext(ctx, "hello", "request_id", "rid-1") }, "msg=hello component=test request_id=rid-1\n"},
		{"no request", func() { log.Info("hello") }, "msg=hello component=test\n"},
		{"fiber local", func() {
			var fctx fasthttp.RequestCtx // what Fiber's handlers pass on: its locals are the user values
			fctx.SetUserValue(requestIDLocal, "rid-2")
			log.InfoContext(&fctx, "hello")
		}, "msg=hello component=test request_id=rid-2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			tc.log()
			_, got, _ := strings.Cut(buf.String(), "level=INFO ")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRouteLabels: route labels are templates whatever the tenant, id or
// path, so their number is bounded by the routes scimd has.
func TestRouteLabels(t *testing.T) {
	for _, tc := range []struct {
		path, matched  string
		api, wantRoute string
	}{
		{"/healthz", "/healthz", "health", "/healthz"},
		{"/readyz", "/readyz", "health", "/readyz"},
		{"/metrics", "/metrics", "health", "/metrics"},
		{"/scim/v2/acme", "", "scim", "/scim/v2/{tenant}"},
		{"/scim/v2/acme/", "", "scim", "/scim/v2/{tenant}"},
		{"/scim/v2/acme/Users", "", "scim", "/scim/v2/{tenant}/Users"},
		{"/scim/v2/acme/users/", "", "scim", "/scim/v2/{tenant}/Users"},
		{"/scim/v2/acme/Users/0b1c", "", "scim", "/scim/v2/{tenant}/Users/{id}"},
		{"/scim/v2/acme/Groups/0b1c", "", "scim", "/scim/v2/{tenant}/Groups/{id}"},
		{"/scim/v2/acme/Groups/0b1c/x/y", "", "scim", "/scim/v2/{tenant}/Groups/{id}/other"},
		{"/scim/v2/acme/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", "scim", "/scim/v2/{tenant}/Schemas/{id}"},
		{"/scim/v2/acme/ServiceProviderConfig", "", "scim", "/scim/v2/{tenant}/ServiceProviderConfig"},
		{"/scim/v2/acme/ResourceTypes", "", "scim", "/scim/v2/{tenant}/ResourceTypes"},
		{"/scim/v2/acme/Bulk", "", "scim", "/scim/v2/{tenant}/other"},
		{"/scim/v2/acme/alice@example.com", "", "scim", "/scim/v2/{tenant}/other"},
		{"/scim/v2/", "", "scim", "/scim/v2/other"},
		{"/admin/v1/tenants", "/admin/v1/tenants", "admin", "/admin/v1/tenants"},
		{"/admin/v1/tenants/acme/users/0b1c/access", "/admin/v1/tenants/:tenant/users/:id/access", "admin", "/admin/v1/tenants/{tenant}/users/{id}/access"},
		{"/admin/v1/tenants/acme/nothing", "/", "admin", "/admin/other"},
		{"/favicon.ico", "/", "other", "other"},
		{"/acme", "/", "other", "other"},
		{"/access/v1/tenants/acme/users/0b1c", "/access/v1/tenants/:tenant/users/:id", "access", "/access/v1/tenants/{tenant}/users/{id}"},
		{"/access/v1/tenants/acme/x", "/access/v1/tenants/acme/x", "access", "/access/v1/tenants/acme/x"},
		{"/access/nothing", "/", "access", "/access/other"},
	} {
		// Twice: the second answer comes from templateRoute's memory.
		for round := 0; round < 2; round++ {
			api, route := classify(tc.path)
			switch api {
			case apiAdmin:
				route = adminRoute(tc.matched)
			case apiAccess:
				route = templateRoute("/access/", tc.matched)
			}
			if api != tc.api || route != tc.wantRoute {
				t.Errorf("%s (round %d): %s %s, want %s %s", tc.path, round, api, route, tc.api, tc.wantRoute)
			}
		}
	}
	// templateRoute keeps its own copy of a route Fiber may reuse the
	// memory of, and remembers a bounded number of them.
	buf := []byte("/admin/v1/tenants/:tenant")
	matched := unsafe.String(&buf[0], len(buf))
	if got := adminRoute(matched); got != "/admin/v1/tenants/{tenant}" {
		t.Errorf("adminRoute: %s", got)
	}
	copy(buf, "/admin/v1/tenants/:xxxxxx")
	adminRoute("/admin/v1/tenants/:tenant/other") // the memory is copied, rehashing its keys
	if got := adminRoute("/admin/v1/tenants/:xxxxxx"); got != "/admin/v1/tenants/{xxxxxx}" {
		t.Errorf("adminRoute after its input changed: %s", got)
	}
	for i := 0; i < 2*maxRouteTemplates; i++ {
		templateRoute("/admin/", fmt.Sprintf("/admin/fallback/%d", i))
	}
	if n := len(*routeTemplates.Load()); n > maxRouteTemplates {
		t.Errorf("%d route templates remembered, bound %d", n, maxRouteTemplates)
	}
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "PROPFIND": "OTHER", "get": "OTHER"} {
		if got := methodLabel(in); got != want {
			t.Errorf("method %s: %s, want %s", in, got, want)
		}
	}
}

// TestRequestID: a client's id is kept only when it is a plain token.
func TestRequestID(t *testing.T) {
	for given, keep := range map[string]bool{
		"":                                 false,
		"4bf92f3577b34da6a3ce929d0e0e4736": true,
		"proxy-1.2:3_x":                    true,
		"a b":                              false,
		"x\ny":                             false,
		`"quoted"`:                         false,
		strings.Repeat("a", 64):            true,
		strings.Repeat("a", 65):            false,
	} {
		if got := requestID(given); (got == given) != keep || got == "" {
			t.Errorf("requestID(%q) = %q, keep %v", given, got, keep)
		}
	}
}
