package server_test

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/scimapi"
)

// BenchmarkScanNeighbour measures what one tenant's filters without an
// index cost another tenant: tenant A (SCIMD_BENCH_SCAN_USERS users, 20,000
// unless set) sends `userName co` filters from 8 clients, paced at 1.6 a
// second in all (as in issue 11) or back to back, while tenant B's
// `userName eq` lookups are timed for 10 s; p50 and p99 are B's. "off"
// serves with the scan budget turned off, "on" with the defaults. Run it
// alone, under the heavy lock, with -benchtime=1x:
//
//	flock /tmp/scimd-heavy.lock env REDIS_URL=redis://127.0.0.1:6379/0 \
//	  go test -run '^$' -bench BenchmarkScanNeighbour -benchtime=1x ./server/
func BenchmarkScanNeighbour(b *testing.B) {
	users := 20000
	if v := os.Getenv("SCIMD_BENCH_SCAN_USERS"); v != "" {
		if _, err := fmt.Sscan(v, &users); err != nil {
			b.Fatal(err)
		}
	}
	t := &testing.T{}
	u := os.Getenv("REDIS_URL")
	if u == "" {
		u = backends(t)["miniredis"]
	}
	apps := map[string]*harness{
		"off": newHarnessConfig(t, u, func(c *server.Config) {
			c.Scan = scimapi.ScanBudget{MaxRecords: -1, Rate: -1, Concurrency: -1}
		}),
		"on": newHarnessConfig(t, u, func(*server.Config) {}),
	}
	h := apps["on"]
	h.t = t
	a, v := h.newTenant(users+10), h.newTenant(1000)
	b.Cleanup(func() {
		h.serve("DELETE", "/admin/v1/tenants/"+a.ID, operatorToken, nil)
		h.serve("DELETE", "/admin/v1/tenants/"+v.ID, operatorToken, nil)
	})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += 4 {
				h.created(b, a.Base+"/Users", a.SCIMToken, []byte(fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a%d@example.com"}`, i)))
			}
		}()
	}
	wg.Wait()
	for i := range 100 {
		h.created(b, v.Base+"/Users", v.SCIMToken, []byte(fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"v%d@example.com"}`, i)))
	}
	scan := a.Base + "/Users?filter=" + url.QueryEscape(`userName co "zz"`) + "&count=10"
	for _, mode := range []string{"off", "on"} {
		for _, pace := range []string{"none", "1.6/s", "back-to-back"} {
			b.Run(mode+"/attack="+pace, func(b *testing.B) {
				app := apps[mode]
				stop := make(chan struct{})
				var mu sync.Mutex
				statuses := map[int]int{}
				var attackers sync.WaitGroup
				for i := range 8 {
					if pace == "none" {
						break
					}
					attackers.Add(1)
					go func() {
						defer attackers.Done()
						period := 5 * time.Second // 8 clients: 1.6 a second in all
						tick := time.NewTicker(period)
						defer tick.Stop()
						// Spread the paced clients over the period.
						first := time.NewTimer(time.Duration(i) * period / 8)
						defer first.Stop()
						if pace == "1.6/s" {
							select {
							case <-first.C:
							case <-stop:
								return
							}
						}
						for {
							st := app.serve("GET", scan, a.SCIMToken, nil)
							mu.Lock()
							statuses[st]++
							mu.Unlock()
							if pace == "back-to-back" {
								select {
								case <-stop:
									return
								default:
									continue
								}
							}
							select {
							case <-tick.C:
							case <-stop:
								return
							}
						}
					}()
				}
				var lat []time.Duration
				end := time.Now().Add(10 * time.Second)
				for i := 0; time.Now().Before(end); i++ {
					q := v.Base + "/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "v%d@example.com"`, i%100))
					start := time.Now()
					if st := app.serve("GET", q, v.SCIMToken, nil); st != 200 {
						b.Fatalf("victim got %d", st)
					}
					lat = append(lat, time.Since(start))
				}
				close(stop)
				attackers.Wait()
				slices.Sort(lat)
				ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
				b.ReportMetric(ms(0.50), "p50-ms")
				b.ReportMetric(ms(0.99), "p99-ms")
				b.ReportMetric(float64(len(lat)), "victim-reqs")
				b.Logf("%s attack %s: victim n=%d p50=%.2fms p99=%.2fms max=%.2fms; attacker statuses %v",
					mode, pace, len(lat), ms(0.5), ms(0.99), ms(1), statuses)
			})
		}
	}
}
