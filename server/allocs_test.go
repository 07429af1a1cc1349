package server_test

import (
	"fmt"
	"net/url"
	"os"
	"testing"
)

// allocBudgets are the most allocations one request of each kind may make
// in the server (Fiber's handler in process, without HTTP, its request
// context reused as fasthttp's server reuses it), measured on a Redis of
// its own process (REDIS_URL): an embedded store would count its own
// allocations too. Allocation counts are stable where timings are not;
// each budget is the count reached (2026-12-07: 242, 93, 82, 221; the GETs
// at 06:30 UTC: filtered 42, by id 50; the POST at 06:55 UTC: 93; the member
// PATCH at 06:50 UTC: 44) with a
// little headroom. The issue-14 targets are 150 for a create and 60 for a
// filtered GET (see cmd/scimload/BENCHMARKS.md for where the rest goes).
var allocBudgets = map[string]float64{
	"POST /Users":                 100,
	"GET /Users?filter=userName":  46,
	"GET /Users/{id}":             55,
	"PATCH /Groups/{id} (member)": 48,
}

// TestAllocationBudgets keeps each request kind within its budget of
// allocations (testing.AllocsPerRun), so that a change that makes the hot
// paths allocate more fails here rather than only in a benchmark nobody runs.
func TestAllocationBudgets(t *testing.T) {
	u := os.Getenv("REDIS_URL")
	if u == "" {
		t.Skip("allocation budgets are measured against REDIS_URL (the embedded store would count its own allocations); set REDIS_URL to run them")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	if raceDetector {
		t.Skip("allocation counts under -race are not the program's (sync.Pool drops items at random); .ci/run runs this test without -race")
	}
	h := newHarness(t, u)
	tn := h.newTenant(1_000_000)
	t.Cleanup(func() { h.serve("DELETE", "/admin/v1/tenants/"+tn.ID, operatorToken, nil) })
	someone := h.createdT(t, tn.Base+"/Users", tn.SCIMToken, []byte(userBody("someone@example.com")))
	gid := h.createdT(t, tn.Base+"/Groups", tn.SCIMToken, []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"allocs"}`))
	filter := tn.Base + "/Users?filter=" + url.QueryEscape(`userName eq "someone@example.com"`)
	n := 0
	for _, tc := range []struct {
		name string
		do   func() int
		want int
	}{
		{"POST /Users", func() int {
			n++
			return h.serve("POST", tn.Base+"/Users", tn.SCIMToken, []byte(userBody(fmt.Sprintf("alloc-%d@example.com", n),
				`,"externalId":"e`+fmt.Sprint(n)+`","name":{"givenName":"A","familyName":"B"},"emails":[{"type":"work","value":"a`+fmt.Sprint(n)+`@x","primary":true}],"`+enterprise+`":{"employeeNumber":"`+fmt.Sprint(n)+`","department":"D"}`)))
		}, 201},
		{"GET /Users?filter=userName", func() int { return h.serve("GET", filter, tn.SCIMToken, nil) }, 200},
		{"GET /Users/{id}", func() int { return h.serve("GET", tn.Base+"/Users/"+someone, tn.SCIMToken, nil) }, 200},
		{"PATCH /Groups/{id} (member)", func() int {
			n++
			op := "add"
			if n%2 == 0 {
				op = "remove"
			}
			return h.serve("PATCH", tn.Base+"/Groups/"+gid, tn.SCIMToken, []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"`+op+`","path":"members","value":[{"value":"`+someone+`"}]}]}`))
		}, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s := tc.do(); s != tc.want { // warms the token cache and the scripts
				t.Fatalf("status %d, want %d", s, tc.want)
			}
			got := testing.AllocsPerRun(200, func() {
				if s := tc.do(); s != tc.want {
					t.Fatalf("status %d, want %d", s, tc.want)
				}
			})
			t.Logf("%s: %.0f allocations (budget %.0f)", tc.name, got, allocBudgets[tc.name])
			if got > allocBudgets[tc.name] {
				t.Errorf("%s: %.0f allocations, over its budget of %.0f", tc.name, got, allocBudgets[tc.name])
			}
		})
	}
}
