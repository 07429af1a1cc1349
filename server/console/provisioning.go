package console

import (
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

type provisioningView struct {
	Tenant   provision.Tenant
	SCIMURL  string
	Status   provision.ProvisioningStatus
	Outcomes []string
	Refusals []provision.RefusalGroup
	// Identifiers are the linking identifiers, each with whether it is on.
	Identifiers []identifier
	// SCIMToken is a token just made, shown this once.
	SCIMToken string
	Flash     *flash
	// ModeChanged says the mode section answers a switch.
	ModeChanged bool
}

type identifier struct {
	Name, Label string
	On          bool
}

// flash is a message shown once at the top of a page.
type flash struct {
	Kind string // "ok", "warn" or "error"
	Text string
}

// saved are the messages a page shows after a redirect, by key, so that
// no text from a URL is ever shown.
var saved = map[string]*flash{
	"mode":    {Kind: "ok", Text: "The provisioning mode is changed."},
	"linking": {Kind: "ok", Text: "The linking settings are saved."},
	"user":    {Kind: "ok", Text: "The user is saved."},
}

var identifierLabels = map[string]string{
	provision.MatchUserName:       "userName",
	provision.MatchEmail:          "Work email",
	provision.MatchEmployeeNumber: "Employee ID",
}

func (cs *Console) provisioningView(c *fiber.Ctx) (provisioningView, error) {
	tenant := sessionOf(c).Tenant
	ctx, cancel := cs.ctx()
	defer cancel()
	v := provisioningView{Outcomes: provision.Outcomes, Flash: saved[c.Query("saved")]}
	var err error
	if v.Tenant, err = cs.svc.GetTenant(ctx, tenant); err != nil {
		return v, err
	}
	v.SCIMURL = cs.root(c) + "/scim/v2/" + tenant
	if v.Status, err = cs.svc.ProvisioningStatus(ctx, tenant); err != nil {
		return v, err
	}
	if v.Refusals, err = cs.svc.RecentRefusals(ctx, tenant); err != nil {
		return v, err
	}
	for _, m := range provision.DefaultMatchBy {
		v.Identifiers = append(v.Identifiers, identifier{Name: m, Label: identifierLabels[m], On: slices.Contains(v.Tenant.MatchBy, m)})
	}
	return v, nil
}

// provisioning: the mode toggle, linking, the SCIM endpoint and token, and
// whether the identity provider's calls succeed.
func (cs *Console) provisioning(c *fiber.Ctx) error {
	v, err := cs.provisioningView(c)
	if err != nil {
		return cs.fail(c, err)
	}
	return cs.render(c, http.StatusOK, "provisioning", v)
}

// putMode switches the provisioning mode; htmx gets the mode section back.
func (cs *Console) putMode(c *fiber.Ctx) error {
	mode := formOf(c).Get("mode")
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, err := cs.svc.UpdateProvisioning(ctx, sessionOf(c).Tenant, provision.ProvisioningChange{Mode: &mode}, cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	if c.Get("HX-Request") != "" {
		v, err := cs.provisioningView(c)
		if err != nil {
			return cs.fail(c, err)
		}
		v.ModeChanged = true
		return cs.fragment(c, http.StatusOK, "provisioning", "mode", v)
	}
	return c.Redirect(Root+"/provisioning?saved=mode", http.StatusSeeOther)
}

// putLinking saves the linking identifiers and the unmatched-user setting.
func (cs *Console) putLinking(c *fiber.Ctx) error {
	form := formOf(c)
	var matchBy []string
	for _, m := range provision.DefaultMatchBy {
		if slices.Contains(form["matchBy"], m) {
			matchBy = append(matchBy, m)
		}
	}
	if matchBy == nil {
		matchBy = []string{}
	}
	unmatched := form.Get("unmatchedUsers")
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, err := cs.svc.UpdateProvisioning(ctx, sessionOf(c).Tenant, provision.ProvisioningChange{MatchBy: &matchBy, UnmatchedUsers: &unmatched}, cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/provisioning?saved=linking", http.StatusSeeOther)
}

// rotateSCIMToken makes a new SCIM token and shows it this once.
func (cs *Console) rotateSCIMToken(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	token, err := cs.svc.RotateSCIMToken(ctx, sessionOf(c).Tenant, cs.actor(c))
	cancel()
	if err != nil {
		return cs.fail(c, err)
	}
	v, err := cs.provisioningView(c)
	if err != nil {
		return cs.fail(c, err)
	}
	v.SCIMToken = token
	v.Flash = &flash{Kind: "warn", Text: "A new SCIM token is made and the old one no longer works. Copy it now: it is not shown again."}
	return cs.render(c, http.StatusOK, "provisioning", v)
}
