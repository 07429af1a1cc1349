package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/server/provision"
)

// directory fills the env's tenant: a SCIM user Ada, in the SCIM group
// Finance, which grants Editor and Viewer in the sub-account EMEA, and a
// manual user Bob, made in manual mode; the tenant ends in idp mode. It
// returns their ids.
func (e *env) directory() (ada, bob string) {
	e.t.Helper()
	ctx := context.Background()
	admin := provision.Actor{Source: "admin", Operator: true}
	manual, idp := "manual", "idp"
	if _, err := e.svc.UpdateProvisioning(ctx, e.tenant, provision.ProvisioningChange{Mode: &manual}, admin); err != nil {
		e.t.Fatal(err)
	}
	b, _, err := e.svc.CreateManualUser(ctx, e.tenant, map[string]any{"userName": "bob@acme.example", "displayName": "Bob Manual"}, admin)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.UpdateProvisioning(ctx, e.tenant, provision.ProvisioningChange{Mode: &idp}, admin); err != nil {
		e.t.Fatal(err)
	}
	a, err := e.svc.CreateUser(ctx, e.tenant, map[string]any{
		"userName": "ada@acme.example", "active": true,
		"name":                   map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":                 []any{map[string]any{"type": "work", "value": "ada.lovelace@acme.example", "primary": true}},
		provision.EnterpriseUser: map[string]any{"employeeNumber": "E-1815"},
	}, provision.SCIM)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.svc.PutAccount(ctx, e.tenant, "emea", "EMEA", admin); err != nil {
		e.t.Fatal(err)
	}
	g, err := e.svc.CreateGroup(ctx, e.tenant, map[string]any{"displayName": "Finance"}, []string{a.ID}, provision.SCIM)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.PutGrants(ctx, e.tenant, g.ID, []provision.Grant{{Scope: "account", Account: "emea", Role: "Editor"}, {Scope: "account", Account: "emea", Role: "Viewer"}}, admin); err != nil {
		e.t.Fatal(err)
	}
	return a.ID, b.ID
}

// TestBrowserUsersAndLocks: the admin finds users by userName prefix, by
// exact email and with the filters (a lock badge on the SCIM-managed
// one); on a SCIM-managed user's page the locked attributes show a lock
// and the policy's reason, and the status button is disabled with its
// reason; an edit of a locked attribute forced through is refused by the
// server with that reason and changes nothing; a manual user's edit is
// saved; the effective access shows the winning role, the rule in words
// and the candidates with their group's name.
func TestBrowserUsersAndLocks(t *testing.T) {
	e := newEnv(t, nil)
	ada, bob := e.directory()
	ctx := e.tab()
	e.signIn(ctx, e.tenant, e.token)
	e.do(ctx, click(`a[href="/console/users"]`), chromedp.WaitVisible(chromedp.ID("q")))
	if got := e.text(ctx, "#count"); got != "Users 1–2 of 2" {
		t.Errorf("all users: %q", got)
	}
	e.shot(ctx, "users")
	// As the admin types, htmx replaces the results.
	e.do(ctx, chromedp.SendKeys(chromedp.ID("q"), "AD"), poll(`document.getElementById("count").textContent === "Users 1–1 of 1"`), settled())
	if got := e.text(ctx, "#users tbody"); !strings.Contains(got, "ada@acme.example") || !strings.Contains(got, "SCIM-managed") {
		t.Errorf("prefix search: %q", got)
	}
	e.do(ctx,
		chromedp.Navigate(e.base+"/console/users?by=email&q=ADA.LOVELACE@acme.example"),
		chromedp.WaitVisible(chromedp.ID("users")))
	if got := e.text(ctx, "#count"); got != "Users 1–1 of 1" {
		t.Errorf("email search: %q", got)
	}
	e.do(ctx, chromedp.Navigate(e.base+"/console/users?managed=manual"), chromedp.WaitVisible(chromedp.ID("users")))
	if got := e.text(ctx, "#users tbody"); !strings.Contains(got, "bob@acme.example") || strings.Contains(got, "ada@") {
		t.Errorf("manual filter: %q", got)
	}
	e.noViolations(ctx)

	e.do(ctx, chromedp.Navigate(e.base+"/console/users?q=ada"), chromedp.WaitVisible(chromedp.ID("users")), click(`#users a`), chromedp.WaitVisible(chromedp.ID("edit")))
	if got := e.text(ctx, "#why-givenName"); !strings.Contains(got, "managed by your identity provider (SCIM)") {
		t.Errorf("givenName's lock reason: %q", got)
	}
	if n := eval[int](e, ctx, `document.querySelectorAll(".locked svg[aria-label=Locked]").length`); n < 5 {
		t.Errorf("%d lock icons, want one per SCIM-owned attribute", n)
	}
	if eval[bool](e, ctx, `document.getElementById("status-toggle").disabled`) != true || !strings.Contains(e.text(ctx, "#why-active"), "active can only be changed there") {
		t.Errorf("the status toggle of a SCIM-managed user is not locked with its reason")
	}
	access := e.text(ctx, ".access:nth-of-type(2)")
	for _, want := range []string{"EMEA: Editor", "Highest score wins", "Finance", "Viewer"} {
		if !strings.Contains(access, want) {
			t.Errorf("access for EMEA lacks %q: %q", want, access)
		}
	}
	if n := eval[int](e, ctx, `document.querySelectorAll(".access meter").length`); n != 2 {
		t.Errorf("%d score bars, want one per candidate (2)", n)
	}
	e.noViolations(ctx)
	e.shot(ctx, "user")

	// Forced through: the server asks the policy again and refuses.
	e.do(ctx,
		chromedp.RemoveAttribute(chromedp.CSS("#edit button[type=submit]"), "disabled"),
		chromedp.RemoveAttribute(chromedp.ID("f-givenName"), "readonly"),
		chromedp.SetValue(chromedp.ID("f-givenName"), "Augusta"),
		click(`#edit button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(".flash.error")))
	if got := e.text(ctx, ".flash.error"); !strings.Contains(got, "Not saved: This user is managed by your identity provider (SCIM): name can only be changed there") {
		t.Errorf("refused edit: %q", got)
	}
	u, err := e.svc.GetUser(context.Background(), e.tenant, ada)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fields().GivenName != "Ada" {
		t.Fatalf("the refused edit changed givenName to %q", u.Fields().GivenName)
	}

	e.do(ctx, chromedp.Navigate(e.base+"/console/users/"+bob), chromedp.WaitVisible(chromedp.ID("edit")))
	if n := eval[int](e, ctx, `document.querySelectorAll(".locked").length`); n != 0 {
		t.Errorf("a manual user shows %d locks", n)
	}
	e.do(ctx,
		chromedp.SetValue(chromedp.ID("f-displayName"), "Robert Manual"),
		click(`#edit button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if u, err := e.svc.GetUser(context.Background(), e.tenant, bob); err != nil || u.Fields().DisplayName != "Robert Manual" {
		t.Fatalf("the manual user's edit: %q %v", u.Fields().DisplayName, err)
	}
	e.noViolations(ctx)
}

// TestBrowserAudit: the audit log filters by who and by source; SCIM's
// entries read "via SCIM"; then the admin signs out.
func TestBrowserAudit(t *testing.T) {
	e := newEnv(t, nil)
	ada, _ := e.directory()
	ctx := e.tab()
	e.signIn(ctx, e.tenant, e.token)
	e.do(ctx, click(`a[href="/console/audit"]`), chromedp.WaitVisible(chromedp.ID("actor")))
	all := e.text(ctx, "#results tbody")
	if !strings.Contains(all, "via SCIM") || !strings.Contains(all, "console.signIn") {
		t.Errorf("the whole log: %q", all)
	}
	e.shot(ctx, "audit")
	e.do(ctx,
		chromedp.SendKeys(chromedp.ID("actor"), "alice@example.com"),
		chromedp.Click(chromedp.CSS(`form[role=search] button`)),
		poll(`!document.getElementById("results").textContent.includes("via SCIM")`), settled())
	if got := e.text(ctx, "#results tbody"); !strings.Contains(got, "console.signIn") || strings.Contains(got, "user.create") {
		t.Errorf("actor alice: %q", got)
	}
	e.do(ctx, chromedp.Navigate(e.base+"/console/audit?source=scim&target="+ada), chromedp.WaitVisible(chromedp.ID("results")))
	rows := e.text(ctx, "#results tbody")
	if !strings.Contains(rows, "user.create") || !strings.Contains(rows, "via SCIM") || strings.Contains(rows, "alice") {
		t.Errorf("SCIM events of ada: %q", rows)
	}
	e.noViolations(ctx)
	e.do(ctx, click(`.signout button`), chromedp.WaitVisible(chromedp.ID("tenant")))
}
