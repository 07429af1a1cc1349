package console_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
)

// admin is the actor the tests set data up with, as an admin would.
var admin = provision.Actor{Source: "admin", User: "setup@example.com"}

// must is v, failing the test on an error: must(f())(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// choose sets a select's value and fires the change event a person's choice
// fires (chromedp's SetValue fires none).
func choose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(function () { var s = document.getElementById(`+jsString(id)+`); s.value = `+jsString(value)+
			`; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)(ctx, t)
		return err
	})
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestBrowserGrantPreview: in the grants editor, choosing another role
// previews, before anything is saved, which members' access changes (from
// the policies: before and after, the rule in plain words, the candidates
// with their groups), leaves a member whose other group grants more
// unmoved, and saving makes the change the preview showed.
func TestBrowserGrantPreview(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	must(e.svc.UpdateProvisioning(ctx, e.tenant, provision.ProvisioningChange{Mode: ptr("manual")}, admin))(t)
	must2(e.svc.PutAccount(ctx, e.tenant, "news", "Newsroom", admin))(t)
	user := func(name string) string {
		u, _, err := e.svc.CreateManualUser(ctx, e.tenant, map[string]any{"userName": name, "active": true}, admin)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	ann, bob := user("ann@example.com"), user("bob@example.com")
	readers, _, err := e.svc.CreateManualGroup(ctx, e.tenant, "Readers", []string{ann, bob}, admin)
	if err != nil {
		t.Fatal(err)
	}
	pubs, _, err := e.svc.CreateManualGroup(ctx, e.tenant, "Publishers", []string{bob}, admin)
	if err != nil {
		t.Fatal(err)
	}
	must(e.svc.PutGrants(ctx, e.tenant, readers.ID, []provision.Grant{{Scope: "account", Account: "news", Role: "Viewer"}}, admin))(t)
	must(e.svc.PutGrants(ctx, e.tenant, pubs.ID, []provision.Grant{{Scope: "account", Account: "news", Role: "Publisher"}}, admin))(t)

	tab := e.tab()
	e.signIn(tab, e.tenant, e.token)
	e.do(tab, chromedp.Navigate(e.base+"/console/groups"), chromedp.WaitVisible(chromedp.CSS("#groups")))
	// An app group made here opens its page, ready for grants.
	e.do(tab, chromedp.SendKeys(chromedp.ID("new-group-name"), "Interns"), click("#create-group"), chromedp.WaitVisible(chromedp.ID("grants")))
	if got := e.text(tab, "h1"); !strings.Contains(got, "Interns") || !strings.Contains(got, "Manual") {
		t.Errorf("new group page %q", got)
	}
	e.do(tab, chromedp.Navigate(e.base+"/console/groups"), chromedp.WaitVisible(chromedp.CSS("#groups")))
	e.do(tab, click(`#groups a[href$="`+readers.ID+`"]`), chromedp.WaitVisible(chromedp.ID("grants")))
	e.do(tab, choose("role-0", "Editor"), poll(`!!document.querySelector("#preview-result .access-change")`))
	preview := e.text(tab, "#preview-result")
	for _, want := range []string{"Evaluated all 2 members", "1 member would change access", "ann@example.com", "Newsroom", "Viewer (2) → Editor", "by highest score", "Readers"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview does not say %q:\n%s", want, preview)
		}
	}
	if strings.Contains(preview, "bob@example.com") {
		t.Errorf("bob keeps Publisher from his other group, yet the preview lists him:\n%s", preview)
	}
	if gs := must(e.svc.GetGrants(ctx, e.tenant, readers.ID))(t); gs[0].Role != "Viewer" {
		t.Fatalf("the preview saved the grants: %v", gs)
	}
	e.shot(tab, "group-grants-preview")
	e.do(tab, click("#save-grants"), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	acc := must(e.svc.UserAccess(ctx, e.tenant, ann))(t)
	if r := acc.Accounts["news"]; r == nil || r.Role != "Editor" {
		t.Errorf("after saving, ann's role in news is %+v, want Editor", r)
	}
	// A role of the wrong level is refused in the preview, with the reason.
	e.do(tab, choose("where-1", "enterprise"), choose("role-1", "Viewer"), poll(`document.querySelector("#preview-result .flash.error") !== null`))
	if msg := e.text(tab, "#preview-result .flash.error"); !strings.Contains(msg, "cannot be granted at enterprise level") {
		t.Errorf("refusal %q", msg)
	}
	e.noViolations(tab)
}

// TestBrowserRequestSeats: the license page shows the seats as a meter and
// who was refused, and "request more seats" records a request, audited,
// that the operator's list holds.
func TestBrowserRequestSeats(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.svc.RecordRefusal(ctx, e.tenant, provision.Refusal{Resource: "User", UserName: "late@example.com", Reason: "licenseExhausted", Status: 403})
	tab := e.tab()
	e.signIn(tab, e.tenant, e.token)
	e.do(tab, chromedp.Navigate(e.base+"/console/license"), chromedp.WaitVisible(chromedp.ID("license-seats")))
	if got := e.text(tab, "#license-refusals"); !strings.Contains(got, "late@example.com") {
		t.Errorf("refused users %q", got)
	}
	e.do(tab,
		chromedp.SendKeys(chromedp.ID("seats-wanted"), "15"),
		chromedp.SendKeys(chromedp.ID("seats-note"), "Interns in March"),
		click("#request-seats"),
		chromedp.WaitVisible(chromedp.ID("seat-requests")),
	)
	if got := e.text(tab, "#seat-requests"); !strings.Contains(got, "15") || !strings.Contains(got, "Interns in March") || !strings.Contains(got, "alice@example.com") {
		t.Errorf("requests table %q", got)
	}
	e.shot(tab, "license")
	all := must(e.svc.AllSeatRequests(ctx))(t)
	found := false
	for _, r := range all {
		found = found || r.Tenant == e.tenant && r.Seats == 15 && r.By == "alice@example.com"
	}
	if !found {
		t.Errorf("the operator's list lacks the request: %+v", all)
	}
	page := must(e.svc.Audit(ctx, e.tenant, provision.AuditQuery{Action: "license.seats_requested", Count: 10}))(t)
	if len(page.Events) != 1 {
		t.Errorf("%d audit events for the request", len(page.Events))
	}
	e.noViolations(tab)
}

// TestBrowserMigration: uploading the identity provider's export (CSV)
// shows the preflight report as tables (links, unmatched users and their
// fate, seats), changes nothing; once the identity provider has linked its
// user, finalizing needs the tenant id typed, and then deactivates the
// unmatched manual user as the setting says, and only that one.
func TestBrowserMigration(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	must(e.svc.UpdateProvisioning(ctx, e.tenant, provision.ProvisioningChange{Mode: ptr("manual"), UnmatchedUsers: ptr("deactivate")}, admin))(t)
	linked, _, err := e.svc.CreateManualUser(ctx, e.tenant, map[string]any{"userName": "kim@example.com", "active": true}, admin)
	if err != nil {
		t.Fatal(err)
	}
	left, _, err := e.svc.CreateManualUser(ctx, e.tenant, map[string]any{"userName": "gone@example.com", "active": true}, admin)
	if err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(t.TempDir(), "users.csv")
	csv := "userPrincipalName,displayName,mail,employeeId,accountEnabled\nkim@example.com,Kim,kim@example.com,,True\nnew@example.com,New,new@example.com,,True\n"
	if err := os.WriteFile(export, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	tab := e.tab()
	e.signIn(tab, e.tenant, e.token)
	e.do(tab, chromedp.Navigate(e.base+"/console/migration"), chromedp.WaitVisible(chromedp.ID("export")),
		chromedp.SetUploadFiles(chromedp.ID("export"), []string{export}),
		click("#run-preflight"), chromedp.WaitVisible(chromedp.ID("report")))
	if got := e.text(tab, "#links"); !strings.Contains(got, "kim@example.com") {
		t.Errorf("links %q", got)
	}
	if got := e.text(tab, "#unmatched"); !strings.Contains(got, "gone@example.com") || !strings.Contains(got, "deactivate") {
		t.Errorf("unmatched %q", got)
	}
	if got := e.text(tab, "#seats-needed"); !strings.Contains(got, "2 seats needed of a limit of 10") {
		t.Errorf("seats %q", got)
	}
	e.shot(tab, "migration-preflight")
	if u := must(e.svc.GetUser(ctx, e.tenant, left.ID))(t); !u.Active {
		t.Fatal("the preflight changed a user")
	}
	// The identity provider provisions its users: kim is linked.
	must(e.svc.UpdateProvisioning(ctx, e.tenant, provision.ProvisioningChange{Mode: ptr("idp")}, admin))(t)
	if u := must(e.svc.CreateUser(ctx, e.tenant, map[string]any{"userName": "kim@example.com", "active": true}, provision.SCIM))(t); u.ID != linked.ID {
		t.Fatalf("kim was not linked: %s, want %s", u.ID, linked.ID)
	}
	e.do(tab, chromedp.SendKeys(chromedp.ID("confirm"), "not-it"), click("#finalize"), chromedp.WaitVisible(chromedp.ID("migration-error")))
	if u := must(e.svc.GetUser(ctx, e.tenant, left.ID))(t); !u.Active {
		t.Fatal("finalize ran without the typed confirmation")
	}
	e.do(tab, chromedp.SendKeys(chromedp.ID("confirm"), e.tenant), click("#finalize"), chromedp.WaitVisible(chromedp.ID("finalized")))
	if got := e.text(tab, "#deactivated"); got != "1" {
		t.Errorf("deactivated %q", got)
	}
	if u := must(e.svc.GetUser(ctx, e.tenant, left.ID))(t); u.Active {
		t.Error("the unmatched manual user is still active")
	}
	if u := must(e.svc.GetUser(ctx, e.tenant, linked.ID))(t); !u.Active {
		t.Error("finalize deactivated the user the export links")
	}
	e.noViolations(tab)
}

// TestBrowserRoleScore: the role editor shows the power score live as
// permissions are ticked, the score the policies give (ScoreRole), and the
// saved role is listed with it.
func TestBrowserRoleScore(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tab := e.tab()
	e.signIn(tab, e.tenant, e.token)
	e.do(tab, chromedp.Navigate(e.base+"/console/roles"), chromedp.WaitVisible(chromedp.ID("roles")),
		click("#new-role"), chromedp.WaitVisible(chromedp.ID("role-form")),
		chromedp.SendKeys(chromedp.ID("role-name"), "Desk Chief"),
		chromedp.Click(chromedp.ID("perm-publish")), poll(`!!document.getElementById("score-value")`))
	want := must(e.svc.ScoreRole(ctx, e.tenant, "Desk Chief", provision.RoleSpec{Level: "account", Permissions: []string{"publish"}}))(t)
	e.do(tab, poll(`document.getElementById("score-value").textContent === "`+strconv.Itoa(want.Score)+`"`))
	e.do(tab, chromedp.Click(chromedp.ID("perm-edit_content")))
	want = must(e.svc.ScoreRole(ctx, e.tenant, "Desk Chief", provision.RoleSpec{Level: "account", Permissions: []string{"publish", "edit_content"}}))(t)
	e.do(tab, poll(`document.getElementById("score-value").textContent === "`+strconv.Itoa(want.Score)+`"`))
	e.shot(tab, "role-editor")
	e.do(tab, click("#save-role"), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if got := e.text(tab, "#roles"); !strings.Contains(got, "Desk Chief") {
		t.Errorf("roles %q", got)
	}
	e.noViolations(tab)
}

func ptr[T any](v T) *T { return &v }

// must2 is must for a call of three results.
func must2[A, B any](a A, _ B, err error) func(*testing.T) A { return must(a, err) }

// TestBrowserOperator: the operator pages are off unless enabled; the
// operator signs in with the operator token, sees each tenant's seats and
// provisioning health, creates a tenant whose tokens are shown once and
// work, changes a license limit, and deletes a tenant only once its id is
// typed.
func TestBrowserOperator(t *testing.T) {
	off := newEnv(t, nil)
	if status, _ := off.get(client(), "/console/operator/sign-in"); status != 404 {
		t.Errorf("operator pages without the flag: %d, want 404", status)
	}
	e := newEnv(t, func(c *server.Config) { c.ConsoleOperator = true })
	ctx := context.Background()
	tab := e.tab()
	e.do(tab, chromedp.Navigate(e.base+"/console/operator/"), chromedp.WaitVisible(chromedp.ID("operator-token")),
		chromedp.SendKeys(chromedp.ID("operator-token"), "wrong"), click("#operator-sign-in"), chromedp.WaitVisible(chromedp.CSS(".flash.error")),
		chromedp.SendKeys(chromedp.ID("operator-token"), "op-"+t.Name()), click("#operator-sign-in"), chromedp.WaitVisible(chromedp.ID("tenants")))
	if got := e.text(tab, "#tenant-"+e.tenant); !strings.Contains(got, "0 / 10") || !strings.Contains(got, "last request never") {
		t.Errorf("tenant row %q", got)
	}
	id := e.tenant + "-new"
	e.do(tab, chromedp.SendKeys(chromedp.ID("new-id"), id), chromedp.SendKeys(chromedp.ID("new-name"), "New Co"),
		chromedp.SendKeys(chromedp.ID("new-admin"), "boss@new.example"), click("#create-tenant"), chromedp.WaitVisible(chromedp.ID("created")))
	t.Cleanup(func() { _ = e.svc.DeleteTenant(context.Background(), id) })
	token := eval[string](e, tab, `document.getElementById("created-admin-token").value`)
	if name, err := e.svc.AuthenticateAdmin(ctx, id, token); err != nil || name != "boss@new.example" {
		t.Errorf("the admin token shown does not work: %q %v", name, err)
	}
	e.shot(tab, "operator")
	e.do(tab, chromedp.Navigate(e.base+"/console/operator/"), chromedp.WaitVisible(chromedp.ID("limit-"+id)),
		chromedp.SetValue(chromedp.ID("limit-"+id), "250"), click(`#tenant-`+id+` form[action$="/limit"] button`), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if tn := must(e.svc.GetTenant(ctx, id))(t); tn.LicenseLimit != 250 {
		t.Errorf("limit %d, want 250", tn.LicenseLimit)
	}
	e.do(tab, chromedp.SendKeys(chromedp.ID("confirm-"+id), "nope"), click(`#tenant-`+id+` form[action$="/delete"] button`), chromedp.WaitVisible(chromedp.CSS("main")))
	if err := e.svc.TenantExists(ctx, id); err != nil {
		t.Fatalf("deleted without the typed id: %v", err)
	}
	e.do(tab, chromedp.Navigate(e.base+"/console/operator/"), chromedp.WaitVisible(chromedp.ID("confirm-"+id)),
		chromedp.SendKeys(chromedp.ID("confirm-"+id), id), click(`#tenant-`+id+` form[action$="/delete"] button`), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if err := e.svc.TenantExists(ctx, id); provision.KindOf(err) != provision.KindNotFound {
		t.Errorf("after the typed delete: %v", err)
	}
	// A tenant admin's session opens no operator page.
	admin := client()
	e.httpSignIn(admin, "127.0.0.9", e.tenant, e.token).Body.Close()
	if status, _ := e.get(admin, "/console/operator/"); status != 303 {
		t.Errorf("a tenant admin reached the operator pages: %d", status)
	}
	e.noViolations(tab)
}

// TestPagesRefuseForgedForms: every form target of the group, role,
// sub-account, license, migration and operator pages refuses a request
// without the session's CSRF token (403) and changes nothing, the
// previews and the multipart upload included, whose checks are their own.
func TestPagesRefuseForgedForms(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ConsoleOperator = true })
	ctx := context.Background()
	g, _, err := e.svc.CreateManualGroup(ctx, e.tenant, "Readers", nil, admin)
	if err != nil {
		t.Fatal(err)
	}
	c := client()
	e.httpSignIn(c, "127.0.0.7", e.tenant, e.token).Body.Close()
	post := func(path, contentType, body string) int {
		t.Helper()
		resp, err := c.Post(e.base+path, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	form := "application/x-www-form-urlencoded"
	for _, p := range []struct{ path, body string }{
		{"/console/groups", "displayName=Forged"},
		{"/console/groups/" + g.ID + "/preview", "where=enterprise&role=Enterprise+Admin"},
		{"/console/groups/" + g.ID + "/grants", "where=enterprise&role=Enterprise+Admin"},
		{"/console/roles/score", "level=account&permission=publish"},
		{"/console/roles", "name=Forged&level=account&permission=publish"},
		{"/console/roles/delete", "name=Forged"},
		{"/console/accounts", "id=forged&name=Forged"},
		{"/console/accounts/delete", "id=forged"},
		{"/console/license/requests", "seats=5"},
		{"/console/migration/finalize", "confirm=" + e.tenant},
		{"/console/license/requests", "seats=5&csrf=forged"},
	} {
		if status := post(p.path, form, p.body); status != http.StatusForbidden {
			t.Errorf("POST %s %s: %d, want 403", p.path, p.body, status)
		}
	}
	upload := "--b\r\nContent-Disposition: form-data; name=\"export\"; filename=\"u.csv\"\r\nContent-Type: text/csv\r\n\r\nuserPrincipalName\r\na@x.test\r\n--b--\r\n"
	if status := post("/console/migration/preflight", "multipart/form-data; boundary=b", upload); status != http.StatusForbidden {
		t.Errorf("upload without a token: %d, want 403", status)
	}
	// The operator's forms, with a valid operator cookie but no token.
	op := client()
	if resp := e.operatorSignIn(op, "op-"+t.Name()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator sign-in: %d", resp.StatusCode)
	}
	for _, p := range []string{"/console/operator/tenants", "/console/operator/tenants/" + e.tenant + "/limit", "/console/operator/tenants/" + e.tenant + "/delete"} {
		resp, err := op.PostForm(e.base+p, url.Values{"id": {"forged"}, "name": {"F"}, "licenseLimit": {"1"}, "confirm": {e.tenant}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("operator POST %s without a token: %d, want 403", p, resp.StatusCode)
		}
	}
	ten := must(e.svc.GetTenant(ctx, e.tenant))(t)
	roles := must(e.svc.ListRoles(ctx, e.tenant))(t)
	reqs := must(e.svc.SeatRequests(ctx, e.tenant))(t)
	grants := must(e.svc.GetGrants(ctx, e.tenant, g.ID))(t)
	if ten.LicenseLimit != 10 || len(reqs) != 0 || len(grants) != 0 || len(roles) != 7 {
		t.Errorf("a forged form changed something: limit %d, %d seat requests, grants %v, %d roles", ten.LicenseLimit, len(reqs), grants, len(roles))
	}
	if err := e.svc.TenantExists(ctx, "forged"); provision.KindOf(err) != provision.KindNotFound {
		t.Errorf("a forged operator form created a tenant: %v", err)
	}
}
