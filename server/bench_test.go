package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// benchHarness serves from REDIS_URL when set, else the embedded store.
func benchHarness(b *testing.B) (*harness, tenant) {
	b.Helper()
	return benchHarnessWith(b, 64<<10)
}

// benchHarnessWith is benchHarness with another body limit.
func benchHarnessWith(b *testing.B, bodyLimit int) (*harness, tenant) {
	b.Helper()
	return benchHarnessOpts(b, bodyLimit, provision.Options{})
}

// benchHarnessOpts is benchHarnessWith with these service options.
func benchHarnessOpts(b *testing.B, bodyLimit int, popts provision.Options) (*harness, tenant) {
	b.Helper()
	t := &testing.T{}
	u := os.Getenv("REDIS_URL")
	if u == "" {
		for name, url := range backends(t) {
			if name == "miniredis" {
				u = url
			}
		}
	}
	cfg := server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: bodyLimit}
	h := assemble(t, u, cfg, storage.Options{}, popts)
	h.t = t
	tn := h.newTenant(10_000_000)
	b.Cleanup(func() { h.serve("DELETE", "/admin/v1/tenants/"+tn.ID, operatorToken, nil) })
	return h, tn
}

// serveCtxs keeps request contexts between serve calls, as fasthttp's
// server keeps one per connection: a fresh one allocates every header and
// query argument again, which the server itself does not.
var serveCtxs = sync.Pool{New: func() any { return new(fasthttp.RequestCtx) }}

// serve runs one request through the app's fasthttp handler in process,
// so that allocations counted are the server's own.
func (h *harness) serve(method, uri, token string, body []byte) int {
	ctx := serveCtxs.Get().(*fasthttp.RequestCtx)
	defer serveCtxs.Put(ctx)
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.ResetUserValues()
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetHost("scimd.test")
	ctx.Request.Header.Set("Authorization", "Bearer "+token)
	ctx.Request.Header.SetContentType("application/scim+json")
	ctx.Request.SetBody(body)
	h.app.Handler()(ctx)
	return ctx.Response.StatusCode()
}

// created POSTs body to uri in process and returns the new resource's id.
func (h *harness) created(b *testing.B, uri, token string, body []byte) string {
	b.Helper()
	return h.createdT(b, uri, token, body)
}

// createdT is created for tests and benchmarks alike.
func (h *harness) createdT(b testing.TB, uri, token string, body []byte) string {
	b.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.Set("Authorization", "Bearer "+token)
	ctx.Request.SetBody(body)
	h.app.Handler()(&ctx)
	if ctx.Response.StatusCode() != 201 {
		b.Fatalf("POST %s: %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
	}
	var out struct{ ID string }
	if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil || out.ID == "" {
		b.Fatalf("POST %s: no id in %s (%v)", uri, ctx.Response.Body(), err)
	}
	return out.ID
}

var benchSeq atomic.Int64

// BenchmarkCreateUser: Entra's create step, a userName filter then a POST.
func BenchmarkCreateUser(b *testing.B) {
	h, tn := benchHarness(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%d@example.com", benchSeq.Add(1))
		if s := h.serve("GET", tn.Base+"/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), tn.SCIMToken, nil); s != 200 {
			b.Fatalf("filter: %d", s)
		}
		if s := h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(userBody(name, `,"active":true,"emails":[{"type":"work","value":"`+name+`"}]`))); s != 201 {
			b.Fatalf("create: %d", s)
		}
	}
}

// BenchmarkFilterUserName: the lookup Entra sends before touching a user.
func BenchmarkFilterUserName(b *testing.B) {
	h, tn := benchHarness(b)
	h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(userBody("someone@example.com")))
	uri := tn.Base + "/Users?filter=" + url.QueryEscape(`userName eq "someone@example.com"`)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if s := h.serve("GET", uri, tn.SCIMToken, nil); s != 200 {
			b.Fatalf("filter: %d", s)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkGroupMemberPatch: one member added to a group per request.
func BenchmarkGroupMemberPatch(b *testing.B) {
	h, tn := benchHarness(b)
	gid := h.created(b, tn.Base+"/Groups", tn.SCIMToken, []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"bench"}`))
	ids := make([]string, 0, 1024)
	for i := 0; i < 1024; i++ {
		ids = append(ids, h.created(b, tn.Base+"/Users", tn.SCIMToken, []byte(userBody(fmt.Sprintf("member-%d@example.com", i)))))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := "add"
		if (i/len(ids))%2 == 1 {
			op = "remove"
		}
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"` + op + `","path":"members","value":[{"value":"` + ids[i%len(ids)] + `"}]}]}`
		if s := h.serve("PATCH", tn.Base+"/Groups/"+gid, tn.SCIMToken, []byte(body)); s != 204 {
			b.Fatalf("patch: %d", s)
		}
	}
}

// BenchmarkFilterUserNameParallel: the same lookup from 8 concurrent clients,
// for throughput (requests/s = 1e9 / ns/op).
func BenchmarkFilterUserNameParallel(b *testing.B) {
	h, tn := benchHarness(b)
	h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(userBody("someone@example.com")))
	uri := tn.Base + "/Users?filter=" + url.QueryEscape(`userName eq "someone@example.com"`)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s := h.serve("GET", uri, tn.SCIMToken, nil); s != 200 {
				b.Errorf("filter: %d", s)
				return
			}
		}
	})
}

// BenchmarkCreateUserParallel: Entra's create step from 8 concurrent clients.
func BenchmarkCreateUserParallel(b *testing.B) {
	h, tn := benchHarness(b)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("pbench-%d@example.com", benchSeq.Add(1))
			if s := h.serve("GET", tn.Base+"/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), tn.SCIMToken, nil); s != 200 {
				b.Errorf("filter: %d", s)
				return
			}
			if s := h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(userBody(name))); s != 201 {
				b.Errorf("create: %d", s)
				return
			}
		}
	})
}

// BenchmarkUserPOST: POST /Users alone, a body shaped like Entra's.
func BenchmarkUserPOST(b *testing.B) {
	h, tn := benchHarness(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := benchSeq.Add(1)
		name := fmt.Sprintf("post-%d@example.com", n)
		body := userBody(name, `,"externalId":"e`+fmt.Sprint(n)+`","name":{"givenName":"A","familyName":"B"},"emails":[{"type":"work","value":"`+name+`","primary":true}],"`+enterprise+`":{"employeeNumber":"`+fmt.Sprint(n)+`","department":"D"}`)
		if s := h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(body)); s != 201 {
			b.Fatalf("create: %d", s)
		}
	}
}

// BenchmarkUserPOSTLink: POST /Users that links a manual user holding its
// userName and work email (made before the timer starts), a body shaped
// like BenchmarkUserPOST's.
func BenchmarkUserPOSTLink(b *testing.B) {
	h, tn := benchHarness(b)
	admin := "/admin/v1/tenants/" + tn.ID
	if s := h.serve("PUT", admin+"/provisioning", operatorToken, []byte(`{"mode":"manual"}`)); s != 200 {
		b.Fatalf("manual mode: %d", s)
	}
	first := benchSeq.Add(int64(b.N)) - int64(b.N)
	name := func(i int) string { return fmt.Sprintf("link-%d@example.com", first+int64(i)) }
	for i := range b.N {
		if s := h.serve("POST", admin+"/users", operatorToken, []byte(`{"userName":"`+name(i)+`","email":"`+name(i)+`"}`)); s != 201 {
			b.Fatalf("manual user: %d", s)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := first + int64(i)
		body := userBody(name(i), `,"externalId":"e`+fmt.Sprint(n)+`","name":{"givenName":"A","familyName":"B"},"emails":[{"type":"work","value":"`+name(i)+`","primary":true}],"`+enterprise+`":{"employeeNumber":"`+fmt.Sprint(n)+`","department":"D"}`)
		if s := h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(body)); s != 201 {
			b.Fatalf("link: %d", s)
		}
	}
}

// BenchmarkGetUserByID: GET /Users/{id}.
func BenchmarkGetUserByID(b *testing.B) {
	h, tn := benchHarness(b)
	id := h.created(b, tn.Base+"/Users", tn.SCIMToken, []byte(userBody("byid@example.com")))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if s := h.serve("GET", tn.Base+"/Users/"+id, tn.SCIMToken, nil); s != 200 {
			b.Fatalf("get: %d", s)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
