package console

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

type overviewView struct {
	Tenant   provision.Tenant
	Status   provision.ProvisioningStatus
	Refused  int64 // SCIM requests refused in the last 24 hours
	Refusals []provision.RefusalGroup
	Recent   []provision.StoredEvent
}

// overview: seats used of the limit, the provisioning mode, whether
// Entra's calls succeed, and the latest changes.
func (cs *Console) overview(c *fiber.Ctx) error {
	tenant := sessionOf(c).Tenant
	ctx, cancel := cs.ctx()
	defer cancel()
	var v overviewView
	var err error
	if v.Tenant, err = cs.svc.GetTenant(ctx, tenant); err != nil {
		return cs.fail(c, err)
	}
	if v.Status, err = cs.svc.ProvisioningStatus(ctx, tenant); err != nil {
		return cs.fail(c, err)
	}
	v.Refused = v.Status.LastDay[provision.OutcomeRefused]
	if v.Refusals, err = cs.svc.RecentRefusals(ctx, tenant); err != nil {
		return cs.fail(c, err)
	}
	if len(v.Refusals) > 5 {
		v.Refusals = v.Refusals[:5]
	}
	page, err := cs.svc.Audit(ctx, tenant, provision.AuditQuery{Count: 10})
	if err != nil {
		return cs.fail(c, err)
	}
	v.Recent = page.Events
	return cs.render(c, http.StatusOK, "overview", v)
}
