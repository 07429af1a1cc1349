package adminapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/idpexport"
)

// preflight reads the identity provider's user list and answers what a
// migration would do; it changes nothing.
func (a *API) preflight(c *fiber.Ctx) error {
	users, status, err := idpexport.Parse(c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return Problem(c, status, err.Error())
	}
	ctx, cancel := a.ctx()
	defer cancel()
	rep, err := a.svc.Preflight(ctx, param(c, "tenant"), users)
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(rep)
}

// finalize applies the tenant's setting for manual users the migration left.
func (a *API) finalize(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	res, err := a.svc.FinalizeProvisioning(ctx, param(c, "tenant"), actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(res)
}
