package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

type licenseView struct {
	License  provision.License
	Refusals []provision.RefusalGroup
	Requests []provision.SeatRequest
	Flash    *flash
}

// license: seats used of the limit, the refused attempts with who was
// refused, and the "request more seats" form with the requests made.
func (cs *Console) license(c *fiber.Ctx) error {
	v, err := cs.licenseView(c)
	if err != nil {
		return cs.fail(c, err)
	}
	if c.Query("saved") == "requested" {
		v.Flash = &flash{Kind: "ok", Text: "Your request is recorded; the operator of this service will be in touch."}
	}
	return cs.render(c, http.StatusOK, "license", v)
}

func (cs *Console) licenseView(c *fiber.Ctx) (licenseView, error) {
	tenant := sessionOf(c).Tenant
	ctx, cancel := cs.ctx()
	defer cancel()
	var v licenseView
	var err error
	if v.License, err = cs.svc.License(ctx, tenant); err != nil {
		return v, err
	}
	if v.Refusals, err = cs.svc.RecentRefusals(ctx, tenant); err != nil {
		return v, err
	}
	var seats []provision.RefusalGroup
	for _, r := range v.Refusals {
		if r.Reason == "licenseExhausted" {
			seats = append(seats, r)
		}
	}
	v.Refusals = seats
	v.Requests, err = cs.svc.SeatRequests(ctx, tenant)
	return v, err
}

// requestSeats records a request for more seats (audited, listed for the
// operator).
func (cs *Console) requestSeats(c *fiber.Ctx) error {
	form := formOf(c)
	seats, err := strconv.ParseInt(strings.TrimSpace(form.Get("seats")), 10, 64)
	if err != nil {
		return cs.errorPage(c, sessionOf(c), http.StatusBadRequest, "Seats must be a whole number.")
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, err := cs.svc.RequestSeats(ctx, sessionOf(c).Tenant, seats, form.Get("note"), cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/license?saved=requested", http.StatusSeeOther)
}
