package adminapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// groupJSON is a group as an enterprise admin sees it: what the identity
// provider sent, and the roles the app grants through it.
type groupJSON struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"displayName"`
	ExternalID  string            `json:"externalId,omitempty"`
	Version     int64             `json:"version"`
	Created     time.Time         `json:"created"`
	Modified    time.Time         `json:"modified"`
	Grants      []provision.Grant `json:"grants"`
}

// groupDetailJSON is GET groups/{id}: the group and its members' user ids.
type groupDetailJSON struct {
	groupJSON
	Members []string `json:"members"`
}

func groupView(g provision.Group, grants []provision.Grant) groupJSON {
	str := func(k string) string { v, _ := g.Attrs[k].(string); return v }
	return groupJSON{ID: g.ID, DisplayName: str("displayName"), ExternalID: str("externalId"),
		Version: g.Version, Created: g.Created, Modified: g.Modified, Grants: grants}
}

// listGroups lists the tenant's groups with their grants, oldest first:
// where an admin finds the id to grant roles to. ?displayName= finds one
// group by name (any case).
func (a *API) listGroups(c *fiber.Ctx) error {
	start, count, ok := pageParams(c)
	if !ok {
		return Problem(c, http.StatusBadRequest, "startIndex must be >= 1 and count between 0 and 1000")
	}
	q := provision.ListQuery[provision.Group]{StartIndex: start, Count: count}
	if name := c.Query("displayName"); name != "" {
		q.Indexed = true
		q.Lookups = []provision.Lookup{{Attr: provision.LookupDisplayName, Value: name}}
	}
	ctx, cancel := a.ctx()
	defer cancel()
	tenant := param(c, "tenant")
	page, err := a.svc.ListGroups(ctx, tenant, q)
	if err != nil {
		return a.fail(c, err)
	}
	ids := make([]string, 0, len(page.Resources))
	for _, g := range page.Resources {
		ids = append(ids, g.ID)
	}
	grants, err := a.svc.GroupsGrants(ctx, tenant, ids)
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]groupJSON, 0, len(page.Resources))
	for _, g := range page.Resources {
		out = append(out, groupView(g, grants[g.ID]))
	}
	return c.JSON(fiber.Map{"totalResults": page.Total, "startIndex": start, "groups": out})
}

// getGroup shows one group with its members and grants.
func (a *API) getGroup(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	tenant, id := param(c, "tenant"), param(c, "id")
	g, err := a.svc.GetGroup(ctx, tenant, id, true)
	if err != nil {
		return a.fail(c, err)
	}
	grants, err := a.svc.GroupsGrants(ctx, tenant, []string{id})
	if err != nil {
		return a.fail(c, err)
	}
	v := groupDetailJSON{groupJSON: groupView(g, grants[id]), Members: g.Members}
	if v.Members == nil {
		v.Members = []string{}
	}
	c.Set(fiber.HeaderETag, g.ETag())
	return c.JSON(v)
}

// pageParams reads a list's startIndex (1-based, default 1) and count
// (default 100, at most 1000).
func pageParams(c *fiber.Ctx) (start, count int, ok bool) {
	start, err1 := strconv.Atoi(c.Query("startIndex", "1"))
	count, err2 := strconv.Atoi(c.Query("count", "100"))
	return start, count, err1 == nil && err2 == nil && start >= 1 && count >= 0 && count <= 1000
}
