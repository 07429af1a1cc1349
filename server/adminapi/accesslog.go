package adminapi

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// accessLog answers GET access/log: the sampled re-resolutions of the
// tenant's stored decisions, newest first, optionally one user's.
func (a *API) accessLog(c *fiber.Ctx) error {
	q := provision.AccessLogQuery{User: c.Query("user"), Cursor: c.Query("cursor")}
	var err error
	if q.Count, err = strconv.Atoi(c.Query("count", "50")); err != nil || q.Count < 1 || q.Count > 1000 {
		return Problem(c, http.StatusBadRequest, "count must be between 1 and 1000")
	}
	ctx, cancel := a.ctx()
	defer cancel()
	page, err := a.svc.AccessLog(ctx, param(c, "tenant"), q)
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(page)
}
