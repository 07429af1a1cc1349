package scimapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimdoc"
)

// memberPatch serves Entra's member PATCH of /Groups/{id} (the body shape
// scimdoc.ParseMemberPatch reads, no query) without normalizing the body,
// validating it as elimity would and applying the operations: it makes the
// service call groups.Patch makes for the same body and answers as patch
// does. handled is false for any other request. ctx is the request's.
func (a *API) memberPatch(ctx context.Context, c *fiber.Ctx, rest, tenant string, slot *errSlot) (handled bool, err error) {
	raw, ok := strings.CutPrefix(rest, "/Groups/")
	if !ok || c.Method() != fiber.MethodPatch || len(c.Request().URI().QueryString()) > 0 {
		return false, nil
	}
	id, uerr := url.PathUnescape(raw)
	if uerr != nil || id == "" || strings.Contains(id, "/") {
		return false, nil
	}
	change, ok := scimdoc.ParseMemberPatch(c.Body())
	if !ok {
		return false, nil
	}
	ctx = context.WithValue(ctx, requestKey{}, c.Locals("requestid"))
	ctx = context.WithValue(ctx, slotKey{}, slot)
	_, perr := a.svc.PatchGroupMembers(ctx, tenant, id, c.Get(fiber.HeaderIfMatch), provision.SCIM,
		provision.MemberChange{Add: change.Add, Remove: change.Remove})
	if perr != nil {
		se := scimError(ctx, perr)
		if slot.set {
			return true, sendError(c, slot.err, slot.retryAfter)
		}
		return true, sendError(c, checkScimError(se), 0)
	}
	c.Status(http.StatusNoContent)
	c.Response().ResetBody()
	c.Response().Header.Del(fiber.HeaderContentType)
	return true, nil
}
