package scimapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gofiber/fiber/v2"
)

// patch serves PATCH /Users/{id} and /Groups/{id} without elimity's router:
// the body is validated by patchValidator (elimity's rules, cheaper paths),
// the resource handler is the same, and the answer has elimity's shape.
func (a *API) patch(c *fiber.Ctx, rest, tenant, base string, slot *errSlot) (handled bool, err error) {
	var rt scim.ResourceType
	var v *patchValidator
	var raw string
	switch {
	case strings.HasPrefix(rest, "/Users/"):
		rt, v, raw = a.users, a.userPatch, strings.TrimPrefix(rest, "/Users/")
	case strings.HasPrefix(rest, "/Groups/"):
		rt, v, raw = a.groups, a.groupPatch, strings.TrimPrefix(rest, "/Groups/")
	default:
		return false, nil
	}
	id, uerr := url.PathUnescape(raw)
	if uerr != nil || strings.Contains(id, "/") {
		return false, nil // let elimity answer what it answers
	}
	ops, se := v.operations(c.Body())
	if se != nil {
		return true, sendError(c, *se, 0)
	}
	ctx := context.WithValue(context.Background(), tenantKey{}, tenant)
	ctx = context.WithValue(ctx, baseKey{}, base)
	ctx = context.WithValue(ctx, slotKey{}, slot)
	if d, ok := c.Locals(droppedKey{}).([]string); ok {
		ctx = context.WithValue(ctx, droppedKey{}, d)
	}
	ctx = context.WithValue(ctx, requestKey{}, c.Locals("requestid"))
	r := (&http.Request{
		Method: http.MethodPatch,
		URL:    &url.URL{RawQuery: string(c.Request().URI().QueryString())},
		Header: http.Header{"If-Match": []string{c.Get(fiber.HeaderIfMatch)}},
	}).WithContext(ctx)
	res, herr := rt.Handler.Patch(r, id, ops)
	if herr != nil {
		if slot.set {
			return true, sendError(c, slot.err, slot.retryAfter)
		}
		return true, sendError(c, checkScimError(herr), 0)
	}
	if len(res.Attributes) == 0 {
		c.Status(http.StatusNoContent)
		c.Response().ResetBody()
		c.Response().Header.Del(fiber.HeaderContentType)
		return true, nil
	}
	body, err := json.Marshal(render(rt, res, base))
	if err != nil {
		return true, err
	}
	if res.Meta.Version != "" {
		c.Set("Etag", res.Meta.Version)
	}
	c.Status(http.StatusOK)
	c.Set(fiber.HeaderContentType, "application/scim+json")
	c.Response().SetBodyRaw(body)
	return true, nil
}

// checkScimError is what elimity's CheckScimError does for a PATCH: a
// status PATCH cannot answer becomes a 500.
func checkScimError(err error) scimerrors.ScimError {
	se, ok := err.(scimerrors.ScimError)
	if !ok {
		return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error"}
	}
	switch se.Status {
	case 307, 308, 400, 401, 403, 404, 409, 412, 500, 501:
		return se
	}
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error"}
}
