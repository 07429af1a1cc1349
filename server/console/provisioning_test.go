package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/server/provision"
)

// TestBrowserProvisioning: the admin switches the mode with the toggle
// (htmx swaps the section in place), sees the FAQ's warning before
// switching to manual, switches back, and makes a new SCIM token shown
// once with a copy button; each change is the admin's in the audit log.
func TestBrowserProvisioning(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.tab()
	e.signIn(ctx, e.tenant, e.token)
	e.do(ctx, click(`a[href="/console/provisioning"]`), chromedp.WaitVisible(chromedp.ID("mode-toggle")))
	if got := e.text(ctx, "#mode-warning"); !strings.Contains(got, "Entra will keep provisioning on its schedule; manual changes may be overwritten") {
		t.Errorf("warning before switching to manual: %q", got)
	}
	if url := eval[string](e, ctx, `document.getElementById("scim-url").value`); url != e.base+"/scim/v2/"+e.tenant {
		t.Errorf("SCIM endpoint %q", url)
	}
	e.shot(ctx, "provisioning")
	mode := func() string {
		t.Helper()
		ten, err := e.svc.GetTenant(context.Background(), e.tenant)
		if err != nil {
			t.Fatal(err)
		}
		return ten.Mode
	}
	// htmx posts and swaps #mode: no page load.
	e.do(ctx, chromedp.Click(chromedp.ID("mode-toggle")), poll(`document.getElementById("mode-now").textContent === "Manual"`), settled())
	if got := mode(); got != "manual" {
		t.Fatalf("after the toggle the mode is %q", got)
	}
	e.do(ctx, chromedp.Click(chromedp.ID("mode-toggle")), poll(`document.getElementById("mode-now").textContent.startsWith("Identity provider")`), settled())
	if got := mode(); got != "idp" {
		t.Fatalf("after toggling back the mode is %q", got)
	}
	e.noViolations(ctx)

	e.do(ctx,
		chromedp.RemoveAttribute(chromedp.CSS("form[data-confirm]"), "data-confirm"), // the test does not answer dialogs
		click(`form[action="/console/provisioning/scim-token"] button`),
		chromedp.WaitVisible(chromedp.ID("scim-token")),
	)
	token := eval[string](e, ctx, `document.getElementById("scim-token").value`)
	if err := e.svc.AuthenticateSCIM(context.Background(), e.tenant, token); err != nil {
		t.Fatalf("the token shown does not authenticate: %v", err)
	}
	e.noViolations(ctx)

	page, err := e.svc.Audit(context.Background(), e.tenant, provision.AuditQuery{Count: 10, Source: "admin", Actor: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range page.Events {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, " "); !strings.HasPrefix(got, "tenant.scimToken.rotate provisioning.update provisioning.update console.signIn") {
		t.Errorf("audit: %s", got)
	}
}
