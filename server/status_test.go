package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockHarness is the harness with the service's clock in the test's hands.
func clockHarness(t *testing.T, url string) (*harness, *clock) {
	t.Helper()
	clk := &clock{now: time.Now().UTC().Truncate(time.Hour).Add(30 * time.Second)}
	h := assemble(t, url, server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: 64 << 10}, storage.Options{}, provision.Options{Clock: clk.Now})
	return h, clk
}

// TestRefusalsRecorded: refused SCIM writes (license 403, uniqueness 409,
// ambiguous link 409, 400) become provisioning.refused audit events with
// the identifiers, the reason and the status and nothing of the body; the
// repeats of one identifier and reason within the window are counted, not
// logged again; GET license lists who was refused; successes, outages and
// other answers record nothing.
func TestRefusalsRecorded(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h, clk := clockHarness(t, url)
			tn := h.newTenant(1)
			admin := adminPath(tn)
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("first@x", `,"externalId":"e-first"`)).want(201)
			// Two manual users for an ambiguous link.
			h.do(http.MethodPut, admin+"/provisioning", tn.AdminToken, map[string]any{"mode": "manual"}).want(200)
			h.do(http.MethodPatch, "/admin/v1/tenants/"+tn.ID, operatorToken, map[string]any{"licenseLimit": 3}).want(200)
			h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "amb@x"}).want(201)
			h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "other.local", "email": "amb-mail@x"}).want(201)
			h.do(http.MethodPut, admin+"/provisioning", tn.AdminToken, map[string]any{"mode": "idp"}).want(200)
			h.do(http.MethodPatch, "/admin/v1/tenants/"+tn.ID, operatorToken, map[string]any{"licenseLimit": 3}).want(200)
			last := newestEvent(h, admin, tn.AdminToken)

			secret := `,"password":"hunter2","name":{"givenName":"Secret-Name"}`
			steps := []struct {
				name   string
				method string
				path   string
				body   string
				status int
				event  map[string]any // nil: no new event
			}{
				{"license 403", "POST", "/Users", userBody("late@x", `,"externalId":"e-late"`+secret), 403,
					map[string]any{"userName": "late@x", "externalId": "e-late", "reason": "licenseExhausted", "status": float64(403)}},
				{"license 403 again: counted only", "POST", "/Users", userBody("late@x", `,"externalId":"e-late"`+secret), 403, nil},
				{"userName taken 409", "POST", "/Users", userBody("FIRST@x"), 409,
					map[string]any{"userName": "FIRST@x", "reason": "uniqueness", "status": float64(409)}},
				{"ambiguous link 409", "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"amb@x","emails":[{"type":"work","value":"amb-mail@x","primary":true}]}`, 409,
					map[string]any{"userName": "amb@x", "reason": "ambiguousLink", "status": float64(409)}},
				{"400 on a PATCH", "PATCH", "/Users/nonexistent-but-bad", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"x@y"},{"op":"bogus"}]}`, 400,
					map[string]any{"userName": "x@y", "status": float64(400)}},
				{"a success records nothing", "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G"}`, 201, map[string]any{}},
				{"a 404 records nothing", "PATCH", "/Users/nobody", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`, 404, nil},
				{"a GET 400 records nothing", "GET", "/Users?filter=" + "userName%20zz%20%22x%22", "", 400, nil},
			}
			for _, st := range steps {
				h.t = t
				res := h.do(st.method, tn.Base+st.path, tn.SCIMToken, st.body)
				if res.status != st.status {
					t.Fatalf("%s: status %d, want %d: %s", st.name, res.status, st.status, res.body)
				}
				got := eventsSince(h, admin, tn.AdminToken, last)
				switch {
				case st.event == nil && len(got) != 0:
					t.Fatalf("%s: new events %v, want none", st.name, got)
				case st.event != nil && len(st.event) == 0:
					// a success: its own event, not a refusal
					for _, ev := range got {
						if ev["action"] == "provisioning.refused" {
							t.Fatalf("%s: a refusal event for a success: %v", st.name, ev)
						}
					}
				case st.event != nil:
					if len(got) != 1 || got[0]["action"] != "provisioning.refused" {
						t.Fatalf("%s: events %v, want one provisioning.refused", st.name, got)
					}
					checkActor(t, got[0], true, "")
					changes := map[string]any{}
					for _, c := range asList(got[0]["changes"]) {
						changes[path(c, "attribute").(string)] = path(c, "new")
					}
					for k, v := range st.event {
						if changes[k] != v {
							t.Errorf("%s: %s = %v, want %v (event %v)", st.name, k, changes[k], v, got[0])
						}
					}
				}
				if len(got) > 0 {
					last = got[0]["id"].(string)
				}
			}
			if audit := h.do(http.MethodGet, admin+"/audit?action=provisioning.refused", tn.AdminToken, nil).want(200).text(); strings.Contains(audit, "hunter2") || strings.Contains(audit, "Secret-Name") {
				t.Fatalf("a refusal event holds the body: %s", audit)
			}

			lic := h.do(http.MethodGet, admin+"/license", tn.AdminToken, nil).want(200).json()
			refusals := asList(lic["recentRefusals"])
			byName := map[string]any{}
			for _, r := range refusals {
				n, _ := path(r, "userName").(string)
				byName[n+"/"+path(r, "reason").(string)] = r
			}
			late := byName["late@x/licenseExhausted"]
			if late == nil || len(refusals) != 4 {
				t.Fatalf("recentRefusals %v, want 4 with late@x's license refusal", refusals)
			}
			eq(t, path(late, "count"), float64(2))
			eq(t, path(late, "externalId"), "e-late")
			eq(t, path(late, "status"), float64(403))
			eq(t, path(late, "resource"), "User")

			// Past the window the same refusal is an event again.
			clk.add(time.Hour)
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("late@x", `,"externalId":"e-late"`)).want(403)
			got := eventsSince(h, admin, tn.AdminToken, last)
			if len(got) != 1 || got[0]["action"] != "provisioning.refused" {
				t.Fatalf("after the window: events %v, want one provisioning.refused", got)
			}
			lic = h.do(http.MethodGet, admin+"/license", tn.AdminToken, nil).want(200).json()
			if n := len(asList(lic["recentRefusals"])); n != 1 {
				t.Fatalf("after the window: %d recent refusals, want only the new one: %v", n, lic["recentRefusals"])
			}
		})
	}
}

// TestProvisioningStatus: SCIM requests are counted in process by outcome
// and reach the status on a flush (or when the status is asked, for this
// process's own counts), merged across replicas; the last hour and the
// last day are windows of the injected clock; the last error names the
// route template, never the path.
func TestProvisioningStatus(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h, clk := clockHarness(t, url)
			// A second replica over the same Redis, with the same clock.
			other := assemble(t, url, server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: 64 << 10}, storage.Options{}, provision.Options{Clock: clk.Now})
			other.t = t
			tn := h.newTenant(10)
			status := func() map[string]any {
				t.Helper()
				return h.do(http.MethodGet, adminPath(tn)+"/provisioning/status", tn.AdminToken, nil).want(200).json()
			}
			st := status()
			eq(t, st["lastRequest"], nil)
			eq(t, st["lastError"], nil)
			eq(t, path(st, "lastHour", "success"), float64(0))

			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("s1@x")).want(201)
			h.do(http.MethodGet, tn.Base+"/Users?filter=userName%20eq%20%22s1@x%22", tn.SCIMToken, nil).want(200)
			h.do(http.MethodGet, tn.Base+"/Users/nobody", tn.SCIMToken, nil).want(404)
			h.do(http.MethodGet, tn.Base+"/Users", "wrong-token", nil).want(401)
			// The other replica counts in its own process; nothing is in Redis yet.
			clk.add(time.Second)
			other.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("s1@x")).want(409)
			other.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200)
			st = status()
			eq(t, path(st, "lastHour", "success"), float64(2))
			eq(t, path(st, "lastHour", "refused"), float64(0))
			eq(t, path(st, "lastHour", "notFound"), float64(1))
			eq(t, path(st, "lastHour", "unauthorized"), float64(1))
			eq(t, st["lastError"], nil) // a 401 anyone can cause is counted, never the last error

			// The other replica's flush merges in.
			clk.add(time.Minute)
			if err := other.svc.FlushStatus(t.Context()); err != nil {
				t.Fatal(err)
			}
			st = status()
			eq(t, path(st, "lastHour", "success"), float64(3))
			eq(t, path(st, "lastHour", "refused"), float64(1))
			eq(t, path(st, "lastDay", "success"), float64(3))
			eq(t, path(st, "lastError", "status"), float64(409))
			eq(t, path(st, "lastError", "route"), "/Users")
			eq(t, path(st, "lastError", "method"), "POST")
			eq(t, path(st, "lastError", "scimType"), "uniqueness")
			want := clk.Now().Add(-time.Minute).Format(time.RFC3339)
			if lr, _ := st["lastRequest"].(string); !strings.HasPrefix(lr, want[:16]) {
				t.Errorf("lastRequest %v, want the minute of %s", st["lastRequest"], want)
			}

			// An hour later, those requests left the hour but not the day.
			clk.add(time.Hour)
			h.do(http.MethodPatch, tn.Base+"/Users/nobody", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"bogus"}]}`).want(400)
			st = status()
			eq(t, path(st, "lastHour", "success"), float64(0))
			eq(t, path(st, "lastHour", "refused"), float64(1))
			eq(t, path(st, "lastDay", "success"), float64(3))
			eq(t, path(st, "lastDay", "refused"), float64(2))
			eq(t, path(st, "lastError", "route"), "/Users/{id}")
			if strings.Contains(fmt.Sprint(st), "nobody") {
				t.Errorf("the status shows a path: %v", st)
			}
			// A day later, they left the day too.
			clk.add(24 * time.Hour)
			st = status()
			eq(t, path(st, "lastDay", "success"), float64(0))
			eq(t, path(st, "lastDay", "refused"), float64(0))
		})
	}
}

// TestProvisioningStatusIgnoresStrangers: a request without the tenant's
// SCIM token is counted as unauthorized, but never becomes the tenant's
// last request or last error: anyone can send one, and would otherwise
// hide the identity provider's real last error (or its silence) from the
// admins.
func TestProvisioningStatusIgnoresStrangers(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h, clk := clockHarness(t, url)
			tn := h.newTenant(10)
			status := func() map[string]any {
				t.Helper()
				return h.do(http.MethodGet, adminPath(tn)+"/provisioning/status", tn.AdminToken, nil).want(200).json()
			}
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("x1@x")).want(201)
			h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("x1@x")).want(409)
			before := status()
			clk.add(time.Minute)
			h.do(http.MethodGet, tn.Base+"/Users", "wrong-token", nil).want(401)
			after := status()
			eq(t, path(after, "lastError", "status"), float64(409))
			eq(t, after["lastRequest"], before["lastRequest"])
			eq(t, path(after, "lastHour", "unauthorized"), float64(1))
		})
	}
}
