package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

type rolesView struct {
	Roles []provision.RoleInfo
	Flash *flash
}

// roles lists the built-in and custom roles with their power scores.
func (cs *Console) roles(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	roles, err := cs.svc.ListRoles(ctx, sessionOf(c).Tenant)
	if err != nil {
		return cs.fail(c, err)
	}
	v := rolesView{Roles: roles}
	switch c.Query("saved") {
	case "role":
		v.Flash = &flash{Kind: "ok", Text: "The role is saved."}
	case "deleted":
		v.Flash = &flash{Kind: "ok", Text: "The role is deleted."}
	}
	return cs.render(c, http.StatusOK, "roles", v)
}

type roleEditView struct {
	Name        string
	New         bool
	Spec        provision.RoleSpec
	Permissions []string // every permission the catalog knows, in its order
}

// Has reports whether the role being edited has permission p.
func (v roleEditView) Has(p string) bool { return slices.Contains(v.Spec.Permissions, p) }

// FullAccess reports the role's full-access flag as set.
func (v roleEditView) FullAccess() bool { return v.Spec.FullAccess != nil && *v.Spec.FullAccess }

// roleEdit is the form to create a custom role (no ?name) or edit one; its
// score is asked live (roleScore) as the form changes.
func (cs *Console) roleEdit(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	roles, err := cs.svc.ListRoles(ctx, sessionOf(c).Tenant)
	if err != nil {
		return cs.fail(c, err)
	}
	v := roleEditView{New: true, Spec: provision.RoleSpec{Level: "account"}}
	for _, r := range roles {
		for _, p := range r.Permissions {
			if !slices.Contains(v.Permissions, p) {
				v.Permissions = append(v.Permissions, p)
			}
		}
	}
	if name := c.Query("name"); name != "" {
		i := slices.IndexFunc(roles, func(r provision.RoleInfo) bool { return r.Name == name && !r.Builtin })
		if i < 0 {
			return cs.errorPage(c, sessionOf(c), http.StatusNotFound, "There is no custom role of that name.")
		}
		r := roles[i]
		fa := r.FullAccess
		v.Name, v.New = r.Name, false
		v.Spec = provision.RoleSpec{Level: string(r.Level), Permissions: r.Permissions, GroupManager: r.GroupManager, FullAccess: &fa}
	}
	return cs.render(c, http.StatusOK, "role", v)
}

// roleSpec reads the role editor's form.
func roleSpec(form url.Values) (string, provision.RoleSpec) {
	spec := provision.RoleSpec{Level: form.Get("level"), Permissions: form["permission"], GroupManager: form.Get("groupManager") == "on"}
	if spec.Level == "enterprise" {
		fa := form.Get("fullAccess") == "on"
		spec.FullAccess = &fa
	}
	return strings.TrimSpace(form.Get("name")), spec
}

type scoreView struct {
	Info  provision.RoleInfo
	Error string
}

// roleScore answers the role editor's htmx request with the score the
// policies would give the role as edited, from the role-priority matrix;
// it saves nothing.
func (cs *Console) roleScore(c *fiber.Ctx) error {
	name, spec := roleSpec(formOf(c))
	ctx, cancel := cs.ctx()
	defer cancel()
	info, err := cs.svc.ScoreRole(ctx, sessionOf(c).Tenant, name, spec)
	if provision.KindOf(err) == provision.KindInvalid {
		return cs.fragment(c, http.StatusOK, "role", "score", scoreView{Error: errorDetail(err)})
	}
	if err != nil {
		return cs.fail(c, err)
	}
	return cs.fragment(c, http.StatusOK, "role", "score", scoreView{Info: info})
}

// saveRole creates or changes a custom role.
func (cs *Console) saveRole(c *fiber.Ctx) error {
	name, spec := roleSpec(formOf(c))
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, _, err := cs.svc.PutRole(ctx, sessionOf(c).Tenant, name, spec, cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/roles?saved=role", http.StatusSeeOther)
}

// deleteRole deletes a custom role (refused while grants name it).
func (cs *Console) deleteRole(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	if err := cs.svc.DeleteRole(ctx, sessionOf(c).Tenant, formOf(c).Get("name"), cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/roles?saved=deleted", http.StatusSeeOther)
}
