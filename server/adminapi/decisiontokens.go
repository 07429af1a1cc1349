package adminapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// platformDecisionTokensPath is the operator's platform decision tokens:
// they read every tenant's decisions.
const platformDecisionTokensPath = "/admin/v1/decision-tokens"

func (a *API) registerDecisionTokens(r fiber.Router) {
	t := tenantsPath + "/:tenant"
	r.Post(t+"/decision-tokens", a.requireAdmin, a.createDecisionToken)
	r.Get(t+"/decision-tokens", a.requireAdmin, a.listDecisionTokens)
	r.Delete(t+"/decision-tokens/:name", a.requireAdmin, a.revokeDecisionTokens)
	r.Post(platformDecisionTokensPath, a.requireOperator, a.createPlatformDecisionToken)
	r.Get(platformDecisionTokensPath, a.requireOperator, a.listPlatformDecisionTokens)
	r.Delete(platformDecisionTokensPath+"/:name", a.requireOperator, a.revokePlatformDecisionTokens)
}

// tokenName reads {"name": ...}, the body of every token creation.
func tokenName(c *fiber.Ctx) (string, bool) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		_ = Problem(c, http.StatusBadRequest, `the body must be {"name": "the service that will use the token"}: `+err.Error())
		return "", false
	}
	return in.Name, true
}

// createDecisionToken makes a token that reads the tenant's decisions and
// nothing else; shown once.
func (a *API) createDecisionToken(c *fiber.Ctx) error {
	name, ok := tokenName(c)
	if !ok {
		return nil
	}
	ctx, cancel := a.ctx()
	defer cancel()
	token, err := a.svc.CreateDecisionToken(ctx, param(c, "tenant"), name, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusCreated).JSON(fiber.Map{"name": name, "token": token})
}

type tokenNameJSON struct {
	Name   string `json:"name"`
	Tokens int    `json:"tokens"`
}

func tokenNames(names []provision.TokenName) []tokenNameJSON {
	out := make([]tokenNameJSON, 0, len(names))
	for _, n := range names {
		out = append(out, tokenNameJSON(n))
	}
	return out
}

// listDecisionTokens names the tenant's decision tokens (never the tokens).
func (a *API) listDecisionTokens(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	names, err := a.svc.DecisionTokens(ctx, param(c, "tenant"))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"decisionTokens": tokenNames(names)})
}

// revokeDecisionTokens revokes every decision token issued under a name.
func (a *API) revokeDecisionTokens(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	name := param(c, "name")
	n, err := a.svc.RevokeDecisionTokens(ctx, param(c, "tenant"), name, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"name": name, "revoked": n})
}

func (a *API) operatorActor(c *fiber.Ctx) provision.Actor {
	return provision.Actor{Source: "admin", Operator: true, IP: a.opts.ClientIP(c)}
}

// createPlatformDecisionToken makes a token that reads every tenant's
// decisions; shown once.
func (a *API) createPlatformDecisionToken(c *fiber.Ctx) error {
	name, ok := tokenName(c)
	if !ok {
		return nil
	}
	ctx, cancel := a.ctx()
	defer cancel()
	token, err := a.svc.CreatePlatformDecisionToken(ctx, name, a.operatorActor(c))
	if err != nil {
		return a.fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusCreated).JSON(fiber.Map{"name": name, "token": token})
}

func (a *API) listPlatformDecisionTokens(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	names, err := a.svc.PlatformDecisionTokens(ctx)
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"decisionTokens": tokenNames(names)})
}

func (a *API) revokePlatformDecisionTokens(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	name := param(c, "name")
	n, err := a.svc.RevokePlatformDecisionTokens(ctx, name, a.operatorActor(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"name": name, "revoked": n})
}
