package adminapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// patchTenant is the operator's change of a tenant's name or license limit;
// a raised limit lets provisioning go on with the next request.
func (a *API) patchTenant(c *fiber.Ctx) error {
	var in struct {
		Name         *string `json:"name"`
		LicenseLimit *int64  `json:"licenseLimit"`
		Quotas       struct {
			Users           *int64 `json:"users"`
			Groups          *int64 `json:"groups"`
			MembersPerGroup *int64 `json:"membersPerGroup"`
		} `json:"quotas"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, `the body must be {"name": ..., "licenseLimit": ..., "quotas": {"users": ..., "groups": ..., "membersPerGroup": ...}}: `+err.Error())
	}
	ctx, cancel := a.ctx()
	defer cancel()
	change := provision.TenantChange{Name: in.Name, LicenseLimit: in.LicenseLimit,
		Quotas: provision.QuotaChange{Users: in.Quotas.Users, Groups: in.Quotas.Groups, Members: in.Quotas.MembersPerGroup}}
	t, err := a.svc.UpdateTenant(ctx, param(c, "tenant"), change,
		provision.Actor{Source: "admin", Operator: true, IP: a.opts.ClientIP(c)})
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(a.view(c, t))
}

type provisioningJSON struct {
	Mode           string   `json:"mode"`
	MatchBy        []string `json:"matchBy"`
	UnmatchedUsers string   `json:"unmatchedUsers"`
}

func provisioningView(t provision.Tenant) provisioningJSON {
	return provisioningJSON{Mode: t.Mode, MatchBy: t.MatchBy, UnmatchedUsers: t.UnmatchedUsers}
}

func (a *API) getProvisioning(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	t, err := a.svc.GetTenant(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(provisioningView(t))
}

// putProvisioning is the provisioning-mode toggle; it also sets which
// identifiers link manual users and what finalize does to unmatched ones.
// Fields left out stay as they are.
func (a *API) putProvisioning(c *fiber.Ctx) error {
	var in struct {
		Mode           *string   `json:"mode"`
		MatchBy        *[]string `json:"matchBy"`
		UnmatchedUsers *string   `json:"unmatchedUsers"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, `the body must be {"mode": "idp"|"manual", "matchBy": [...], "unmatchedUsers": "keep"|"deactivate"}: `+err.Error())
	}
	ctx, cancel := a.ctx()
	defer cancel()
	t, err := a.svc.UpdateProvisioning(ctx, param(c, "tenant"), provision.ProvisioningChange(in), actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(provisioningView(t))
}

func (a *API) getLicense(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	l, err := a.svc.License(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	var last *time.Time
	if !l.LastRefusal.IsZero() {
		last = &l.LastRefusal
	}
	refusals, err := a.recentRefusals(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{
		"limit":           l.Limit,
		"seatsUsed":       l.SeatsUsed,
		"seatsAvailable":  max(l.Limit-l.SeatsUsed, 0),
		"refusedAttempts": l.Refusals,
		"lastRefusal":     last,
		"recentRefusals":  refusals,
		"quotas":          quotasView(l.Quotas, nil, l.Users, l.Groups),
	})
}

// quotaJSON is one quota: its limit, what is used of it where that is
// counted, and whether it is the operator's default or set for the tenant.
type quotaJSON struct {
	Limit   int64  `json:"limit"`
	Used    *int64 `json:"used,omitempty"`
	Default *bool  `json:"default,omitempty"`
}

type quotasJSON struct {
	Users           quotaJSON `json:"users"`
	Groups          quotaJSON `json:"groups"`
	MembersPerGroup quotaJSON `json:"membersPerGroup"`
}

// quotasView renders the quotas in force; set, the tenant's own quotas
// (the operator's view), tells which ones are the operator's default; a
// count below zero was not read.
func quotasView(q provision.Quotas, set *provision.Quotas, users, groups int64) quotasJSON {
	one := func(limit, used int64, own func(provision.Quotas) int64) quotaJSON {
		out := quotaJSON{Limit: limit}
		if used >= 0 {
			out.Used = &used
		}
		if set != nil {
			d := own(*set) == 0
			out.Default = &d
		}
		return out
	}
	return quotasJSON{
		Users:           one(q.Users, users, func(q provision.Quotas) int64 { return q.Users }),
		Groups:          one(q.Groups, groups, func(q provision.Quotas) int64 { return q.Groups }),
		MembersPerGroup: one(q.Members, -1, func(q provision.Quotas) int64 { return q.Members }),
	}
}

func (a *API) createAdminToken(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, `the body must be {"name": "the admin's email"}: `+err.Error())
	}
	ctx, cancel := a.ctx()
	defer cancel()
	token, err := a.svc.CreateAdminToken(ctx, param(c, "tenant"), in.Name, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusCreated).JSON(fiber.Map{"name": in.Name, "token": token})
}

// listAdminTokens names the tenant's admin tokens (never the tokens).
func (a *API) listAdminTokens(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	names, err := a.svc.AdminTokens(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	type nameJSON struct {
		Name    string `json:"name"`
		Tokens  int    `json:"tokens"`
		Warning string `json:"warning,omitempty"`
	}
	out := make([]nameJSON, 0, len(names))
	for _, n := range names {
		out = append(out, nameJSON(n))
	}
	return c.JSON(fiber.Map{"adminTokens": out})
}

// revokeAdminTokens revokes every admin token issued under a name.
func (a *API) revokeAdminTokens(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	name := param(c, "name")
	n, err := a.svc.RevokeAdminTokens(ctx, param(c, "tenant"), name, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"name": name, "revoked": n})
}

// rotateSCIMToken gives the tenant a new SCIM token (shown once, to paste
// into the identity provider); the old one stops working.
func (a *API) rotateSCIMToken(c *fiber.Ctx) error {
	if len(c.Body()) > 0 {
		if err := decodeStrict(c.Body(), &struct{}{}); err != nil {
			return Problem(c, http.StatusBadRequest, "the body must be empty or {}: "+err.Error())
		}
	}
	ctx, cancel := a.ctx()
	defer cancel()
	token, err := a.svc.RotateSCIMToken(ctx, param(c, "tenant"), actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"scimToken": token})
}

// getAudit pages through the tenant's audit stream, newest first.
func (a *API) getAudit(c *fiber.Ctx) error {
	q := provision.AuditQuery{
		TargetID:   c.Query("targetId"),
		TargetType: c.Query("targetType"),
		Action:     c.Query("action"),
		Source:     c.Query("source"),
		Actor:      c.Query("actor"),
		Cursor:     c.Query("cursor"),
	}
	var err error
	if q.Count, err = strconv.Atoi(c.Query("count", "50")); err != nil || q.Count < 1 || q.Count > 1000 {
		return Problem(c, http.StatusBadRequest, "count must be between 1 and 1000")
	}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if v := c.Query(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return Problem(c, http.StatusBadRequest, name+" must be an RFC 3339 time, such as 2026-11-29T10:00:00Z")
			}
		}
	}
	if q.Source != "" && !provision.ValidAuditSource(q.Source) {
		return Problem(c, http.StatusBadRequest, `source must be "scim", "admin" or "resolver"`)
	}
	ctx, cancel := a.ctx()
	defer cancel()
	page, err := a.svc.Audit(ctx, param(c, "tenant"), q)
	if err != nil {
		return a.fail(c, err)
	}
	if page.Events == nil {
		page.Events = []provision.StoredEvent{} // [], not null
	}
	return c.JSON(fiber.Map{"events": page.Events, "nextCursor": page.NextCursor})
}
