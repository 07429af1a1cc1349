package adminapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// requestSeats records a tenant admin's request for more license seats,
// for the operator to act on (it changes no limit).
func (a *API) requestSeats(c *fiber.Ctx) error {
	var in struct {
		Seats *int64 `json:"seats"`
		Note  string `json:"note"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil || in.Seats == nil {
		detail := `the body must be {"seats": N, "note": "..."} (note optional)`
		if err != nil {
			detail += ": " + err.Error()
		}
		return Problem(c, http.StatusBadRequest, detail)
	}
	ctx, cancel := a.ctx()
	defer cancel()
	r, err := a.svc.RequestSeats(ctx, param(c, "tenant"), *in.Seats, in.Note, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(r)
}

// listSeatRequests lists the tenant's seat requests, newest first.
func (a *API) listSeatRequests(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	rs, err := a.svc.SeatRequests(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	if rs == nil {
		rs = []provision.SeatRequest{}
	}
	return c.JSON(fiber.Map{"seatRequests": rs})
}

// listAllSeatRequests is the operator's list of every tenant's seat
// requests, newest first.
func (a *API) listAllSeatRequests(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	rs, err := a.svc.AllSeatRequests(ctx)
	if err != nil {
		return a.fail(c, err)
	}
	if rs == nil {
		rs = []provision.TenantSeatRequest{}
	}
	return c.JSON(fiber.Map{"seatRequests": rs})
}
