package server_test

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/scimd/scimd/server/provision"
)

// BenchmarkDecisionRead: the decision API's hot path, GET users/{id} with a
// decision token, in process (no network), against REDIS_URL when set (the
// embedded store otherwise, whose CPU then counts as the process's too).
// cpu-µs/op is the process's user+system CPU per read (getrusage): with a
// real Redis, scimd's own cost per decision read. Over the network see
// cmd/scimload/BENCHMARKS.md.
//
// cache=on is the decision cache (--decision-cache) following the
// replicas' writes: every read but the first is answered in process.
func BenchmarkDecisionRead(b *testing.B) {
	for _, cache := range []bool{false, true} {
		for _, accounts := range []int{1, 20} {
			b.Run(fmt.Sprintf("cache=%s/accounts=%d", map[bool]string{false: "off", true: "on"}[cache], accounts), func(b *testing.B) {
				benchDecisionRead(b, cache, accounts)
			})
		}
	}
}

func benchDecisionRead(b *testing.B, cache bool, accounts int) {
	popts := provision.Options{}
	if cache {
		popts.DecisionCache = 64 << 20
	}
	h, tn := benchHarnessOpts(b, 64<<10, popts)
	if cache {
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		<-h.svc.WatchAccessChanged(ctx)
	}
	uid := h.created(b, tn.Base+"/Users", tn.SCIMToken, []byte(userBody("bench-read@example.com")))
	rec := h.putDecision(tn, uid, "etag-1", true)
	acc := map[string]any{}
	for i := 0; i < accounts; i++ {
		acc[fmt.Sprintf("account-%02d", i)] = map[string]any{"role": "Editor", "score": 50, "rule": "highest_score"}
	}
	rec["accounts"] = acc
	h.putRecord(tn, uid, rec)
	tok := h.decisionToken(tn, "bench")
	uri := "/access/v1/tenants/" + tn.ID + "/users/" + uid
	if st := h.serve(http.MethodGet, uri, tok, nil); st != 200 {
		b.Fatalf("status %d", st)
	}
	b.ReportAllocs()
	before := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod(http.MethodGet)
			ctx.Request.SetRequestURI(uri)
			ctx.Request.Header.SetHost("scimd.test")
			ctx.Request.Header.Set("Authorization", "Bearer "+tok)
			h.app.Handler()(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d", ctx.Response.StatusCode())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHealthz: the floor every request pays (the shared middleware:
// request id, metrics, access log, security headers, proxy and host
// checks), measured on /healthz, in process.
func BenchmarkHealthz(b *testing.B) {
	h, _ := benchHarness(b)
	b.ReportAllocs()
	before := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod(http.MethodGet)
			ctx.Request.SetRequestURI("/healthz")
			ctx.Request.Header.SetHost("scimd.test")
			h.app.Handler()(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d", ctx.Response.StatusCode())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
}
