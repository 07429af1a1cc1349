package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkBigGroupAdd: one PATCH adding 20,000 members to an empty group
// (issue 5's big-group case), then one emptying it again (not timed).
func BenchmarkBigGroupAdd(b *testing.B) {
	h, tn := benchHarnessWith(b, 1<<20) // the server's default limit
	const n = 20000
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(tn.Base + "/Users")
		ctx.Request.Header.Set("Authorization", "Bearer "+tn.SCIMToken)
		ctx.Request.SetBody([]byte(userBody(fmt.Sprintf("big-%d@example.com", i))))
		h.app.Handler()(&ctx)
		if ctx.Response.StatusCode() != 201 {
			b.Fatalf("user %d: %d %s", i, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		var resp response
		resp.t, resp.body = &testing.T{}, ctx.Response.Body()
		ids = append(ids, resp.json()["id"].(string))
	}
	var gctx fasthttp.RequestCtx
	gctx.Request.Header.SetMethod("POST")
	gctx.Request.SetRequestURI(tn.Base + "/Groups")
	gctx.Request.Header.Set("Authorization", "Bearer "+tn.SCIMToken)
	gctx.Request.SetBody([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"big"}`))
	h.app.Handler()(&gctx)
	if gctx.Response.StatusCode() != 201 {
		b.Fatalf("group: %d %s", gctx.Response.StatusCode(), gctx.Response.Body())
	}
	var gresp response
	gresp.t, gresp.body = &testing.T{}, gctx.Response.Body()
	gid := gresp.json()["id"].(string)

	var members strings.Builder
	for i, id := range ids {
		if i > 0 {
			members.WriteByte(',')
		}
		fmt.Fprintf(&members, `{"value":%q}`, id)
	}
	add := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[` + members.String() + `]}]}`)
	empty := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"members","value":[]}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s := h.serve("PATCH", tn.Base+"/Groups/"+gid, tn.SCIMToken, add); s != 204 {
			b.Fatalf("add: %d", s)
		}
		b.StopTimer()
		if s := h.serve("PATCH", tn.Base+"/Groups/"+gid, tn.SCIMToken, empty); s != 204 {
			b.Fatalf("empty: %d", s)
		}
		b.StartTimer()
	}
}
