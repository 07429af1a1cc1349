package console

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

type accountsView struct {
	Accounts []provision.Account
	Flash    *flash
}

// accounts lists the sub-accounts, with forms to create, rename and delete.
func (cs *Console) accounts(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	accs, err := cs.svc.ListAccounts(ctx, sessionOf(c).Tenant)
	if err != nil {
		return cs.fail(c, err)
	}
	v := accountsView{Accounts: accs}
	switch c.Query("saved") {
	case "account":
		v.Flash = &flash{Kind: "ok", Text: "The sub-account is saved."}
	case "deleted":
		v.Flash = &flash{Kind: "ok", Text: "The sub-account is deleted, with the grants made for it."}
	}
	return cs.render(c, http.StatusOK, "accounts", v)
}

// saveAccount creates or renames a sub-account.
func (cs *Console) saveAccount(c *fiber.Ctx) error {
	form := formOf(c)
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, _, err := cs.svc.PutAccount(ctx, sessionOf(c).Tenant, strings.TrimSpace(form.Get("id")), form.Get("name"), cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/accounts?saved=account", http.StatusSeeOther)
}

// deleteAccount deletes a sub-account and the grants made for it.
func (cs *Console) deleteAccount(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	if err := cs.svc.DeleteAccount(ctx, sessionOf(c).Tenant, formOf(c).Get("id"), cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/accounts?saved=deleted", http.StatusSeeOther)
}
