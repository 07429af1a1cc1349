package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/redistest"
)

// TestStoreFull: with Redis at maxmemory (noeviction), SCIM and admin reads
// answer 200, writes 503 saying "store full", scimd_redis_oom_refusals_total
// counts them, and /readyz stays ready but says so; once a write lands
// again it says nothing more (issue 11 item 8).
func TestStoreFull(t *testing.T) {
	r := redistest.Start(t, 0, t.TempDir(), "--maxmemory-policy", "noeviction")
	h := newMeteredHarness(t, r.URL())
	tn := h.newTenant(10)
	admin := adminPath(tn)
	uid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("full@x")).want(201).json()["id"].(string)
	h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"full"}`).want(201)
	eq(t, h.do(http.MethodGet, "/readyz", "", nil).want(200).json()["detail"], nil)

	rdb, err := storage.NewClient(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	setMax := func(v string) {
		t.Helper()
		if err := rdb.ConfigSet(context.Background(), "maxmemory", v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	setMax("1") // whatever Redis holds is over it

	for _, p := range []struct{ path, token string }{
		{tn.Base + "/Users", tn.SCIMToken},
		{tn.Base + "/Users?filter=" + strings.ReplaceAll(`userName eq "full@x"`, " ", "%20"), tn.SCIMToken},
		{tn.Base + "/Users/" + uid, tn.SCIMToken},
		{tn.Base + "/Groups?excludedAttributes=members", tn.SCIMToken},
		{admin + "/users", tn.AdminToken},
		{admin + "/license", tn.AdminToken},
		{admin, operatorToken},
	} {
		h.do(http.MethodGet, p.path, p.token, nil).want(200)
	}
	before := counter(h, "scimd_redis_oom_refusals_total")
	writes := []struct {
		method, path, token string
		body                any
	}{
		{http.MethodPost, tn.Base + "/Users", tn.SCIMToken, userBody("new@x")},
		{http.MethodPatch, tn.Base + "/Users/" + uid, tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"x"}]}`},
		{http.MethodPost, admin + "/admin-tokens", tn.AdminToken, map[string]any{"name": "someone"}},
		{http.MethodPut, admin + "/accounts/a1", tn.AdminToken, map[string]any{"name": "A"}},
	}
	for _, w := range writes {
		res := h.do(w.method, w.path, w.token, w.body).want(http.StatusServiceUnavailable)
		if d, _ := res.json()["detail"].(string); !strings.HasPrefix(d, "store full") {
			t.Errorf("%s %s: detail %q, want it to say store full", w.method, w.path, d)
		}
		if res.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After", w.method, w.path)
		}
	}
	if got := counter(h, "scimd_redis_oom_refusals_total") - before; got != float64(len(writes)) {
		t.Errorf("scimd_redis_oom_refusals_total moved by %v, want %d", got, len(writes))
	}
	ready := h.do(http.MethodGet, "/readyz", "", nil).want(200).json()
	eq(t, ready["status"], "ready")
	if d, _ := ready["detail"].(string); !strings.HasPrefix(d, "store full") {
		t.Errorf("readyz detail %q, want store full", d)
	}

	setMax("0")
	h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("new@x")).want(201)
	eq(t, h.do(http.MethodGet, "/readyz", "", nil).want(200).json()["detail"], nil)
}

// counter reads one unlabelled counter from /metrics (0 when absent).
func counter(h *harness, name string) float64 {
	for _, s := range h.scrape() {
		if s.name == name && len(s.labels) == 0 {
			return s.value
		}
	}
	return 0
}
