package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/server/provision"
)

// TestMeasurePages (SCIMD_MEASURE=1): server time of the pages on a tenant
// of 10,000 users all in one group.
func TestMeasurePages(t *testing.T) {
	if os.Getenv("SCIMD_MEASURE") == "" {
		t.Skip("SCIMD_MEASURE not set")
	}
	e := newEnv(t, nil)
	ctx := context.Background()
	lim := int64(20000)
	must(e.svc.UpdateTenant(ctx, e.tenant, provision.TenantChange{LicenseLimit: &lim}, provision.Actor{Source: "admin", Operator: true}))(t)
	must(e.svc.UpdateProvisioning(ctx, e.tenant, provision.ProvisioningChange{Mode: ptr("manual")}, admin))(t)
	must2(e.svc.PutAccount(ctx, e.tenant, "news", "News", admin))(t)
	var ids []string
	for i := range 10000 {
		u, _, err := e.svc.CreateManualUser(ctx, e.tenant, map[string]any{"userName": fmt.Sprintf("u%05d@x.test", i), "active": true}, admin)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	g, _, err := e.svc.CreateManualGroup(ctx, e.tenant, "Everyone", ids, admin)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		must2(e.svc.CreateManualGroup(ctx, e.tenant, fmt.Sprintf("G%02d", i), ids[i*10:i*10+10], admin))(t)
	}
	c := client()
	e.httpSignIn(c, "127.0.0.5", e.tenant, e.token).Body.Close()
	_, page := e.get(c, "/console/groups/"+g.ID)
	csrf := csrfField.FindStringSubmatch(page)[1]
	for _, p := range []string{"/console/", "/console/groups", "/console/groups/" + g.ID, "/console/roles", "/console/license", "/console/accounts", "/console/migration"} {
		best := time.Hour
		for range 5 {
			start := time.Now()
			status, _ := e.get(c, p)
			if d := time.Since(start); d < best {
				best = d
			}
			if status != 200 {
				t.Fatalf("%s: %d", p, status)
			}
		}
		t.Logf("GET %s: best of 5 %v", p, best)
	}
	best := time.Hour
	for range 3 {
		form := url.Values{"csrf": {csrf}, "where": {"account:news"}, "role": {"Viewer"}}
		req, _ := http.NewRequest(http.MethodPost, e.base+"/console/groups/"+g.ID+"/preview", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(start); d < best {
			best = d
		}
	}
	t.Logf("POST preview of a 10,000-member group (200 evaluated): best of 3 %v", best)
}
