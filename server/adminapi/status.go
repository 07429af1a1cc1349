package adminapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// refusalJSON is one group of refused SCIM writes in GET license.
type refusalJSON struct {
	Resource    string    `json:"resource"`
	ID          string    `json:"id,omitempty"`
	UserName    string    `json:"userName,omitempty"`
	ExternalID  string    `json:"externalId,omitempty"`
	DisplayName string    `json:"displayName,omitempty"`
	Reason      string    `json:"reason"`
	Status      int       `json:"status"`
	Count       int64     `json:"count"`
	First       time.Time `json:"firstAt"`
	Last        time.Time `json:"lastAt"`
}

// recentRefusals lists who the SCIM API refused in the current window, the
// latest first, for GET license.
func (a *API) recentRefusals(ctx context.Context, tenant string) ([]refusalJSON, error) {
	gs, err := a.svc.RecentRefusals(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]refusalJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, refusalJSON{Resource: g.Resource, ID: g.ID, UserName: g.UserName, ExternalID: g.ExternalID, DisplayName: g.DisplayName,
			Reason: g.Reason, Status: g.Status, Count: g.Count, First: g.First, Last: g.Last})
	}
	return out, nil
}

// provisioningStatus answers GET provisioning/status: whether the identity
// provider's SCIM calls succeed (last request, counts by outcome over the
// last hour and day, last error), merged over every replica.
func (a *API) provisioningStatus(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	st, err := a.svc.ProvisioningStatus(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(st)
}

// accessStatus answers GET access/status: how far the stored access
// decisions are behind the writes, and the resolver's job under way.
func (a *API) accessStatus(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	st, err := a.svc.AccessStatus(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(st)
}
