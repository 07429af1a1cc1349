package adminapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// param returns a path parameter unescaped ("Desk%20Chief" -> "Desk Chief")
// and detached from fasthttp's buffers.
func param(c *fiber.Ctx, name string) string {
	raw := c.Params(name)
	if v, err := url.PathUnescape(raw); err == nil {
		return strings.Clone(v)
	}
	return strings.Clone(raw)
}

func (a *API) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.opts.Timeout)
}

type accountJSON struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func (a *API) listAccounts(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	accs, err := a.svc.ListAccounts(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]accountJSON, 0, len(accs))
	for _, acc := range accs {
		out = append(out, accountJSON(acc))
	}
	return c.JSON(fiber.Map{"accounts": out})
}

func (a *API) putAccount(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, `the body must be {"name": "..."}: `+err.Error())
	}
	ctx, cancel := a.ctx()
	defer cancel()
	acc, created, err := a.svc.PutAccount(ctx, param(c, "tenant"), param(c, "id"), in.Name, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(accountJSON(acc))
}

func (a *API) deleteAccount(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	if err := a.svc.DeleteAccount(ctx, param(c, "tenant"), param(c, "id"), actorOf(c)); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

type roleJSON struct {
	Name         string   `json:"name"`
	Level        string   `json:"level"`
	Permissions  []string `json:"permissions"`
	GroupManager bool     `json:"groupManager"`
	FullAccess   bool     `json:"fullAccess"`
	Builtin      bool     `json:"builtin"`
	Score        int      `json:"score"`
}

func roleView(r provision.RoleInfo) roleJSON {
	return roleJSON{Name: r.Name, Level: string(r.Level), Permissions: r.Permissions, GroupManager: r.GroupManager, FullAccess: r.FullAccess, Builtin: r.Builtin, Score: r.Score}
}

func (a *API) listRoles(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	roles, err := a.svc.ListRoles(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]roleJSON, 0, len(roles))
	for _, r := range roles {
		out = append(out, roleView(r))
	}
	return c.JSON(fiber.Map{"roles": out})
}

func (a *API) putRole(c *fiber.Ctx) error {
	var in struct {
		Level        string   `json:"level"`
		Permissions  []string `json:"permissions"`
		GroupManager bool     `json:"groupManager"`
		FullAccess   *bool    `json:"fullAccess"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, `the body must be {"level": "enterprise"|"account", "permissions": [...], "groupManager": false, "fullAccess": true|false}: `+err.Error())
	}
	ctx, cancel := a.ctx()
	defer cancel()
	r, created, err := a.svc.PutRole(ctx, param(c, "tenant"), param(c, "name"), provision.RoleSpec(in), actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(roleView(r))
}

func (a *API) deleteRole(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	if err := a.svc.DeleteRole(ctx, param(c, "tenant"), param(c, "name"), actorOf(c)); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

type grantsJSON struct {
	Grants []provision.Grant `json:"grants"`
}

func (a *API) getGrants(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	gs, err := a.svc.GetGrants(ctx, param(c, "tenant"), param(c, "id"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(grantsJSON{Grants: gs})
}

func (a *API) putGrants(c *fiber.Ctx) error {
	var in grantsJSON
	if err := decodeStrict(c.Body(), &in); err != nil || in.Grants == nil {
		detail := `the body must be {"grants": [{"scope": "enterprise"|"account", "account": "...", "role": "..."}]}`
		if err != nil {
			detail += ": " + err.Error()
		}
		return Problem(c, http.StatusBadRequest, detail)
	}
	ctx, cancel := a.ctx()
	defer cancel()
	gs, err := a.svc.PutGrants(ctx, param(c, "tenant"), param(c, "id"), in.Grants, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(grantsJSON{Grants: gs})
}

func (a *API) userAccess(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	acc, err := a.svc.UserAccess(ctx, param(c, "tenant"), param(c, "id"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(acc)
}
