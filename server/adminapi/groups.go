package adminapi

import (
	"net/http"
	"slices"
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
	ManagedBy   string            `json:"managedBy"`
	Grants      []provision.Grant `json:"grants"`
}

// groupDetailJSON is one group with its members' user ids, and the edit-lock
// policy's warnings after a change.
type groupDetailJSON struct {
	groupJSON
	Members  []string `json:"members"`
	Warnings []string `json:"warnings,omitempty"`
}

// groupBody is a group as an admin makes or changes it in the app. In a
// PATCH, an absent field stays.
type groupBody struct {
	DisplayName   *string  `json:"displayName"`
	Members       []string `json:"members"`       // on create
	AddMembers    []string `json:"addMembers"`    // on PATCH
	RemoveMembers []string `json:"removeMembers"` // on PATCH
}

func groupView(g provision.Group, grants []provision.Grant) groupJSON {
	str := func(k string) string { v, _ := g.Attrs[k].(string); return v }
	return groupJSON{ID: g.ID, DisplayName: str("displayName"), ExternalID: str("externalId"),
		Version: g.Version, Created: g.Created, Modified: g.Modified, ManagedBy: g.ManagedBy, Grants: grants}
}

// listGroups lists the tenant's groups with their grants, oldest first:
// where an admin finds the id to grant roles to. ?displayName= finds one
// group by name (any case).
func (a *API) listGroups(c *fiber.Ctx) error {
	q, ok := listQuery[provision.Group](c, "displayName", provision.LookupDisplayName)
	if !ok {
		return Problem(c, http.StatusBadRequest, "startIndex must be >= 1 and count between 0 and 1000")
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
	return c.JSON(fiber.Map{"totalResults": page.Total, "startIndex": q.StartIndex, "groups": out})
}

// getGroup shows one group with its members and grants.
func (a *API) getGroup(c *fiber.Ctx) error {
	return a.showGroup(c, http.StatusOK, param(c, "id"), nil)
}

// showGroup answers with a group as it now is: members, grants, ETag.
func (a *API) showGroup(c *fiber.Ctx, status int, id string, warnings []string) error {
	ctx, cancel := a.ctx()
	defer cancel()
	tenant := param(c, "tenant")
	g, err := a.svc.GetGroup(ctx, tenant, id, true)
	if err != nil {
		return a.fail(c, err)
	}
	grants, err := a.svc.GroupsGrants(ctx, tenant, []string{id})
	if err != nil {
		return a.fail(c, err)
	}
	v := groupDetailJSON{groupJSON: groupView(g, grants[id]), Members: g.Members, Warnings: warnings}
	if v.Members == nil {
		v.Members = []string{}
	}
	c.Set(fiber.HeaderETag, g.ETag())
	return c.Status(status).JSON(v)
}

// createGroup makes an app group: {"displayName", "members": [user ids]}.
func (a *API) createGroup(c *fiber.Ctx) error {
	var in groupBody
	if err := decodeStrict(c.Body(), &in); err != nil || in.DisplayName == nil || in.AddMembers != nil || in.RemoveMembers != nil {
		detail := `the body must be {"displayName": "...", "members": ["user id", ...]}`
		if err != nil {
			detail += ": " + err.Error()
		}
		return Problem(c, http.StatusBadRequest, detail)
	}
	ctx, cancel := a.ctx()
	defer cancel()
	g, warnings, err := a.svc.CreateManualGroup(ctx, param(c, "tenant"), *in.DisplayName, in.Members, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	// Answered from what was written, not read back: a failed read would
	// report a 503 for a group that exists, and its retry a 409.
	members := slices.Sorted(slices.Values(g.Members)) // as GET lists them
	if members == nil {
		members = []string{}
	}
	v := groupDetailJSON{groupJSON: groupView(g, []provision.Grant{}), Members: members, Warnings: warnings}
	c.Set(fiber.HeaderETag, g.ETag())
	return c.Status(http.StatusCreated).JSON(v)
}

// patchGroup renames a group or changes its members by hand:
// {"displayName", "addMembers", "removeMembers"}, each optional; If-Match
// makes it conditional.
func (a *API) patchGroup(c *fiber.Ctx) error {
	var in groupBody
	if err := decodeStrict(c.Body(), &in); err != nil || in.Members != nil {
		detail := `the body must be {"displayName": "...", "addMembers": [...], "removeMembers": [...]}, each optional`
		if err != nil {
			detail += ": " + err.Error()
		}
		return Problem(c, http.StatusBadRequest, detail)
	}
	ctx, cancel := a.ctx()
	defer cancel()
	id := param(c, "id")
	_, warnings, err := a.svc.UpdateManualGroup(ctx, param(c, "tenant"), id, c.Get(fiber.HeaderIfMatch), in.DisplayName,
		provision.MemberChange{Add: in.AddMembers, Remove: in.RemoveMembers}, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return a.showGroup(c, http.StatusOK, id, warnings)
}

// deleteGroup deletes a group by hand; its grants go with it.
func (a *API) deleteGroup(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	id := param(c, "id")
	warnings, err := a.svc.DeleteManualGroup(ctx, param(c, "tenant"), id, c.Get(fiber.HeaderIfMatch), actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	if warnings == nil {
		warnings = []string{}
	}
	return c.JSON(fiber.Map{"id": id, "deleted": true, "warnings": warnings})
}

// listQuery reads a list's startIndex (1-based, default 1), count (default
// 100, at most 1000) and its one lookup by name (query parameter name, on
// index attr), for the admin's user and group lists.
func listQuery[T any](c *fiber.Ctx, name string, attr provision.LookupAttr) (provision.ListQuery[T], bool) {
	start, err1 := strconv.Atoi(c.Query("startIndex", "1"))
	count, err2 := strconv.Atoi(c.Query("count", "100"))
	q := provision.ListQuery[T]{StartIndex: start, Count: count}
	if v := c.Query(name); v != "" {
		q.Indexed = true
		q.Lookups = []provision.Lookup{{Attr: attr, Value: v}}
	}
	return q, err1 == nil && err2 == nil && start >= 1 && count >= 0 && count <= 1000
}
