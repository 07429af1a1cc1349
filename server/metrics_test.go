package server_test

import (
	"bufio"
	"bytes"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// newMeteredHarness is newHarness with one registry shared by the server
// and the service, as scimd serve wires them.
func newMeteredHarness(t *testing.T, url string) *harness {
	t.Helper()
	return newHarness(t, url)
}

// sample is one line of the exposition format: a series and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads /metrics. The text format is simple enough to read here;
// label values are unquoted with Go's rules, a superset of Prometheus' escapes.
func (h *harness) scrape() []sample {
	h.t.Helper()
	res := h.do("GET", "/metrics", "", nil).want(200)
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(res.body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		series, val, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			s.name, series, val, ok = line[:i], line[i+1:j], strings.TrimSpace(line[j+1:]), true
			for series != "" {
				key, rest, _ := strings.Cut(series, "=")
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					h.t.Fatalf("label in %q: %v", line, err)
				}
				v, err := strconv.Unquote(q)
				if err != nil {
					h.t.Fatalf("label in %q: %v", line, err)
				}
				s.labels[key] = v
				series = strings.TrimPrefix(rest[len(q):], ",")
			}
		} else {
			s.name = series
		}
		if !ok {
			h.t.Fatalf("metrics line %q", line)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			h.t.Fatalf("metrics line %q: %v", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// value sums the samples of name whose labels include want.
func value(samples []sample, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
	for _, s := range samples {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			sum += s.value
			found = true
		}
	}
	return sum, found
}

// requestSeries lists the label sets of scimd_http_requests_total as strings.
func requestSeries(samples []sample) []string {
	var out []string
	for _, s := range samples {
		if s.name == "scimd_http_requests_total" {
			out = append(out, s.labels["api"]+" "+s.labels["method"]+" "+s.labels["route"]+" "+s.labels["status"])
		}
	}
	slices.Sort(out)
	return out
}

// TestMetrics drives one tenant through the SCIM and admin APIs, checks the
// series and their labels, then repeats with a second tenant: the same
// requests must add no route label value, since routes are templates.
func TestMetrics(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) { testMetrics(t, newMeteredHarness(t, url)) })
	}
}

func testMetrics(t *testing.T, h *harness) {
	var ids []string
	exercise := func() {
		tn := h.newTenant(1)
		ids = append(ids, tn.ID)
		admin := "/admin/v1/tenants/" + tn.ID
		u := h.do("POST", tn.Base+"/Users", tn.SCIMToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "first@" + tn.ID + ".example", "active": true,
		}).want(201).json()
		id, _ := u["id"].(string)
		ids = append(ids, id)
		h.do("GET", tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200)
		h.do("GET", tn.Base+"/Users?filter="+url.QueryEscape(`userName eq "first@`+tn.ID+`.example"`), tn.SCIMToken, nil).want(200)
		h.do("POST", tn.Base+"/Users", tn.SCIMToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "second@" + tn.ID + ".example", "active": true,
		}).want(403) // one seat only
		h.do("GET", tn.Base+"/Users/no-such-user", tn.SCIMToken, nil).want(404)
		h.do("GET", admin+"/roles", tn.AdminToken, nil).want(200)
		h.do("GET", admin+"/users/"+id+"/access", tn.AdminToken, nil).want(200)
		h.do("GET", admin+"/license", "wrong-token", nil).want(401)
		h.do("GET", "/healthz", "", nil).want(200)
		h.do("GET", "/no/such/path/"+tn.ID, "", nil).want(404)
	}

	h.scrape() // so that the first scrape's own series is in both
	exercise()
	first := h.scrape()
	for _, want := range []map[string]string{
		{"api": "scim", "route": "/scim/v2/{tenant}/Users", "method": "POST", "status": "201"},
		{"api": "scim", "route": "/scim/v2/{tenant}/Users", "method": "POST", "status": "403"},
		{"api": "scim", "route": "/scim/v2/{tenant}/Users", "method": "GET", "status": "200"},
		{"api": "scim", "route": "/scim/v2/{tenant}/Users/{id}", "method": "GET", "status": "200"},
		{"api": "scim", "route": "/scim/v2/{tenant}/Users/{id}", "method": "GET", "status": "404"},
		{"api": "admin", "route": "/admin/v1/tenants", "method": "POST", "status": "201"},
		{"api": "admin", "route": "/admin/v1/tenants/{tenant}/roles", "method": "GET", "status": "200"},
		{"api": "admin", "route": "/admin/v1/tenants/{tenant}/users/{id}/access", "method": "GET", "status": "200"},
		{"api": "admin", "route": "/admin/v1/tenants/{tenant}/license", "method": "GET", "status": "401"},
		{"api": "health", "route": "/healthz", "method": "GET", "status": "200"},
		{"api": "other", "route": "other", "method": "GET", "status": "404"},
	} {
		if n, ok := value(first, "scimd_http_requests_total", want); !ok || n < 1 {
			t.Errorf("scimd_http_requests_total%v = %v, %v; series: %q", want, n, ok, requestSeries(first))
		}
	}
	if _, ok := value(first, "scimd_http_request_duration_seconds_count", map[string]string{"api": "scim", "route": "/scim/v2/{tenant}/Users/{id}", "method": "GET"}); !ok {
		t.Error("no request duration for GET /Users/{id}")
	}
	for _, decision := range []string{"scores", "roles"} {
		if n, _ := value(first, "scimd_policy_evaluation_seconds_count", map[string]string{"decision": decision}); n < 1 {
			t.Errorf("policy %s evaluated %v times", decision, n)
		}
	}
	counts := map[string]float64{}
	for _, name := range []string{"scimd_license_refusals_total", "scimd_audit_events_total", "scimd_redis_errors_total", "scimd_redis_unreplicated_writes_total", "go_goroutines", "process_cpu_seconds_total"} {
		n, ok := value(first, name, nil)
		if !ok {
			t.Errorf("%s missing", name)
		}
		counts[name] = n
	}
	if diff := cmp.Diff(map[string]float64{"scimd_license_refusals_total": 1, "scimd_redis_errors_total": 0},
		map[string]float64{"scimd_license_refusals_total": counts["scimd_license_refusals_total"], "scimd_redis_errors_total": counts["scimd_redis_errors_total"]}); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	if counts["scimd_audit_events_total"] < 1 {
		t.Errorf("audit events %v, want the user create", counts["scimd_audit_events_total"])
	}

	exercise()
	second := h.scrape()
	if diff := cmp.Diff(requestSeries(first), requestSeries(second)); diff != "" {
		t.Errorf("a second tenant added series (-first +second):\n%s", diff)
	}
	if n, _ := value(second, "scimd_license_refusals_total", nil); n != 2 {
		t.Errorf("license refusals %v after two tenants, want 2", n)
	}
	for _, s := range second {
		for _, v := range s.labels {
			for _, id := range ids {
				if id != "" && strings.Contains(v, id) {
					t.Errorf("%s has label value %q naming %s", s.name, v, id)
				}
			}
		}
	}
	labels := map[string]bool{}
	for _, s := range second {
		if strings.HasPrefix(s.name, "scimd_http_") {
			for k := range s.labels {
				labels[k] = true
			}
		}
	}
	if diff := cmp.Diff([]string{"api", "le", "method", "route", "status"}, slices.Sorted(maps.Keys(labels))); diff != "" {
		t.Errorf("HTTP label names (-want +got):\n%s", diff)
	}
}

// TestMetricsRedisErrors: an unreachable store counts in
// scimd_redis_errors_total (here through /readyz, which pings it).
func TestMetricsRedisErrors(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	h := newMeteredHarness(t, e.URL())
	h.do("GET", "/readyz", "", nil).want(200)
	e.Close()
	h.do("GET", "/readyz", "", nil).want(503)
	got := h.scrape()
	if n, _ := value(got, "scimd_redis_errors_total", nil); n < 1 {
		t.Errorf("scimd_redis_errors_total = %v after an outage", n)
	}
	if n, _ := value(got, "scimd_http_requests_total", map[string]string{"api": "health", "route": "/readyz", "status": "503"}); n != 1 {
		t.Errorf("readyz 503 counted %v times", n)
	}
}

// TestMetricsElsewhere: with a separate metrics listener the API's own
// listener does not serve /metrics; Metrics.App does.
func TestMetricsElsewhere(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	h := assemble(t, e.URL(), server.Config{OperatorToken: operatorToken, MetricsElsewhere: true}, storage.Options{}, provision.Options{})
	m := h.metrics
	h.do("GET", "/healthz", "", nil).want(200)
	h.do("GET", "/metrics", "", nil).want(404)
	mh := &harness{t: t, app: m.App()}
	if n, _ := value(mh.scrape(), "scimd_http_requests_total", map[string]string{"route": "/healthz"}); n != 1 {
		t.Errorf("healthz counted %v times on the metrics listener", n)
	}
}
