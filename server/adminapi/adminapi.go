// Package adminapi is the JSON admin edge: the operator's tenant management
// now, the tenant admins' API as it grows. Errors are RFC 9457 problems.
package adminapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/feed"
	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
	"github.com/scimd/scimd/server/rollout"
)

// Options configure the admin edge.
type Options struct {
	// OperatorToken guards tenant management.
	OperatorToken string
	// PublicURL is the externally visible base URL; empty derives it from the request.
	PublicURL string
	// Timeout bounds the work of one request.
	Timeout time.Duration
	// AdminRateLimit is the admin writes per second one tenant's admins may
	// make, counted across replicas in Redis (0: unlimited); AdminRateBurst
	// is the bucket (0: one second's worth, at least 1). The operator
	// token is not limited.
	AdminRateLimit float64
	AdminRateBurst int
	// ClientIP is the client's address for the audit log (behind trusted
	// proxies, from X-Forwarded-For); nil means the peer's.
	ClientIP func(*fiber.Ctx) string
	// PreflightBodyLimit is the largest user export the migration
	// preflight reads, in bytes; 0 means 32 MiB.
	PreflightBodyLimit int
	// Webhooks are the tenants' webhooks, set by the operator; nil leaves
	// their routes off.
	Webhooks *feed.Webhooks
	// PolicyDiff runs the operator's policy diffs; nil leaves the route off.
	PolicyDiff *rollout.Previewer
}

// API serves /admin/v1/...
type API struct {
	svc      *provision.Service
	opts     Options
	operator [32]byte
}

// New returns the admin edge over svc.
func New(svc *provision.Service, opts Options) *API {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.AdminRateBurst <= 0 {
		opts.AdminRateBurst = max(1, int(math.Ceil(opts.AdminRateLimit)))
	}
	if opts.ClientIP == nil {
		opts.ClientIP = func(c *fiber.Ctx) string { return c.IP() }
	}
	if opts.PreflightBodyLimit <= 0 {
		opts.PreflightBodyLimit = 32 << 20
	}
	return &API{svc: svc, opts: opts, operator: sha256.Sum256([]byte(opts.OperatorToken))}
}

// tenantsPath is the root of the admin routes.
const tenantsPath = "/admin/v1/tenants"

// Register mounts the admin routes on r: tenant management for the
// operator, and each tenant's own settings for its admins (or the operator).
func (a *API) Register(r fiber.Router) {
	const tenants = tenantsPath
	r.Get(OpenAPIPath, a.openapi)
	r.Post(tenants, a.requireOperator, a.createTenant)
	r.Get(tenants, a.requireOperator, a.listTenants)
	r.Get(tenants+"/:tenant", a.requireOperator, a.getTenant)
	r.Delete(tenants+"/:tenant", a.requireOperator, a.deleteTenant)
	r.Patch(tenants+"/:tenant", a.requireOperator, a.patchTenant)
	if a.opts.Webhooks != nil {
		r.Put(tenants+"/:tenant/webhook", a.requireOperator, a.putWebhook)
		r.Get(tenants+"/:tenant/webhook", a.requireOperator, a.getWebhook)
		r.Delete(tenants+"/:tenant/webhook", a.requireOperator, a.deleteWebhook)
	}
	r.Get("/admin/v1/license-requests", a.requireOperator, a.listAllSeatRequests)
	if a.opts.PolicyDiff != nil {
		r.Post(tenants+"/:tenant/policy-diff", a.requireOperator, a.policyDiff)
	}

	t := tenants + "/:tenant"
	r.Get(t+"/accounts", a.requireAdmin, a.listAccounts)
	r.Put(t+"/accounts/:id", a.requireAdmin, a.putAccount)
	r.Delete(t+"/accounts/:id", a.requireAdmin, a.deleteAccount)
	r.Get(t+"/roles", a.requireAdmin, a.listRoles)
	r.Put(t+"/roles/:name", a.requireAdmin, a.putRole)
	r.Delete(t+"/roles/:name", a.requireAdmin, a.deleteRole)
	r.Get(t+"/groups", a.requireAdmin, a.listGroups)
	r.Post(t+"/groups", a.requireAdmin, a.createGroup)
	r.Get(t+"/groups/:id", a.requireAdmin, a.getGroup)
	r.Patch(t+"/groups/:id", a.requireAdmin, a.patchGroup)
	r.Delete(t+"/groups/:id", a.requireAdmin, a.deleteGroup)
	r.Get(t+"/groups/:id/grants", a.requireAdmin, a.getGrants)
	r.Put(t+"/groups/:id/grants", a.requireAdmin, a.putGrants)
	r.Get(t+"/users/:id/access", a.requireAdmin, a.userAccess)
	r.Get(t+"/users", a.requireAdmin, a.listUsers)
	r.Post(t+"/users", a.requireAdmin, a.createUser)
	r.Get(t+"/users/:id", a.requireAdmin, a.getUser)
	r.Patch(t+"/users/:id", a.requireAdmin, a.patchUser)
	r.Post(t+"/users/:id/deactivate", a.requireAdmin, a.deactivateUser)
	r.Post(t+"/users/:id/reactivate", a.requireAdmin, a.reactivateUser)
	r.Get(t+"/provisioning", a.requireAdmin, a.getProvisioning)
	r.Put(t+"/provisioning", a.requireAdmin, a.putProvisioning)
	r.Get(t+"/license", a.requireAdmin, a.getLicense)
	r.Post(t+"/license/requests", a.requireAdmin, a.requestSeats)
	r.Get(t+"/license/requests", a.requireAdmin, a.listSeatRequests)
	r.Get(t+"/provisioning/status", a.requireAdmin, a.provisioningStatus)
	r.Get(t+"/access/status", a.requireAdmin, a.accessStatus)
	r.Get(t+"/access/log", a.requireAdmin, a.accessLog)
	r.Post(t+"/admin-tokens", a.requireAdmin, a.createAdminToken)
	r.Get(t+"/admin-tokens", a.requireAdmin, a.listAdminTokens)
	r.Delete(t+"/admin-tokens/:name", a.requireAdmin, a.revokeAdminTokens)
	r.Post(t+"/scim-token", a.requireAdmin, a.rotateSCIMToken)
	r.Get(t+"/audit", a.requireAdmin, a.getAudit)
	r.Post(t+"/preflight", reqbody.Limit(a.opts.PreflightBodyLimit), a.requireAdmin, a.preflight)
	r.Post(t+"/provisioning/finalize", a.requireAdmin, a.finalize)
	a.registerDecisionTokens(r)
}

func (a *API) requireOperator(c *fiber.Ctx) error {
	if !a.isOperator(c) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="scimd-operator"`)
		return Problem(c, http.StatusUnauthorized, "the operator bearer token is required")
	}
	if !checkQuery(c) {
		return nil
	}
	return readBody(c)
}

func (a *API) isOperator(c *fiber.Ctx) bool {
	token, ok := bearer(c.Get(fiber.HeaderAuthorization))
	// Compare fixed-size hashes so that neither content nor length leaks through timing.
	given := sha256.Sum256([]byte(token))
	return ok && a.opts.OperatorToken != "" && subtle.ConstantTimeCompare(given[:], a.operator[:]) == 1
}

type actorKey struct{}

// requireAdmin admits the tenant's admin token, or the operator's; the actor
// it records is who made the change, for the audit stream.
func (a *API) requireAdmin(c *fiber.Ctx) error {
	tenant := strings.Clone(c.Params("tenant"))
	actor := provision.Actor{Source: "admin", Operator: true, IP: a.opts.ClientIP(c)}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	if a.isOperator(c) {
		// The operator reaches every tenant, but only tenants that exist: a
		// list of a tenant that is not there is a 404, never an empty 200.
		if err := a.svc.TenantExists(ctx, tenant); err != nil {
			return a.fail(c, err)
		}
	} else {
		token, _ := bearer(c.Get(fiber.HeaderAuthorization))
		name, err := a.svc.AuthenticateAdmin(ctx, tenant, token)
		if err != nil {
			if provision.KindOf(err) == provision.KindUnauthorized {
				c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="scimd-admin"`)
				return Problem(c, http.StatusUnauthorized, "a valid admin bearer token for this tenant is required")
			}
			return a.fail(c, err)
		}
		actor.Operator, actor.User = false, name
		if wait, refused := a.writeRefused(ctx, c, tenant); refused {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			return Problem(c, http.StatusTooManyRequests, fmt.Sprintf("this tenant's admins may make %g changes a second; try again later", a.opts.AdminRateLimit))
		}
	}
	c.Locals(actorKey{}, actor)
	if !checkQuery(c) {
		return nil
	}
	return readBody(c)
}

// writeRefused holds a tenant's admins to AdminRateLimit writes a second,
// so that no admin can push the audit log's events out by volume, and says
// how long to wait when it refuses. When Redis cannot be asked, the write
// goes on: it needs Redis anyway.
func (a *API) writeRefused(ctx context.Context, c *fiber.Ctx, tenant string) (time.Duration, bool) {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return 0, false
	}
	ok, wait, err := a.svc.AllowAdminWrite(ctx, tenant, a.opts.AdminRateLimit, a.opts.AdminRateBurst)
	return wait, err == nil && !ok
}

func actorOf(c *fiber.Ctx) provision.Actor {
	a, _ := c.Locals(actorKey{}).(provision.Actor)
	return a
}

type tenantBody struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	LicenseLimit *int64 `json:"licenseLimit"`
	AdminName    string `json:"adminName"` // names the first admin token in the audit log
}

type tenantJSON struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	LicenseLimit int64      `json:"licenseLimit"`
	SeatsUsed    *int64     `json:"seatsUsed,omitempty"`
	Mode         string     `json:"provisioningMode"`
	Created      time.Time  `json:"created"`
	SCIMBaseURL  string     `json:"scimBaseUrl"`
	Quotas       quotasJSON `json:"quotas"`
	SCIMToken    string     `json:"scimToken,omitempty"`
	AdminToken   string     `json:"adminToken,omitempty"`
}

func (a *API) createTenant(c *fiber.Ctx) error {
	var in tenantBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, "the body must be a JSON object with id, name and licenseLimit: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	t, creds, err := a.svc.CreateTenant(ctx, provision.NewTenant{ID: in.ID, Name: in.Name, LicenseLimit: in.LicenseLimit, AdminName: in.AdminName})
	if err != nil {
		return a.fail(c, err)
	}
	out := a.view(c, t)
	out.SCIMToken, out.AdminToken = creds.SCIMToken, creds.AdminToken
	c.Set(fiber.HeaderLocation, "/admin/v1/tenants/"+t.ID)
	c.Set(fiber.HeaderCacheControl, "no-store") // the tokens are shown once
	return c.Status(http.StatusCreated).JSON(out)
}

func (a *API) listTenants(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	ts, err := a.svc.ListTenants(ctx)
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]tenantJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, a.view(c, t))
	}
	return c.JSON(fiber.Map{"tenants": out})
}

func (a *API) getTenant(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	t, err := a.svc.GetTenant(ctx, strings.Clone(c.Params("tenant")))
	if err != nil {
		return a.fail(c, err)
	}
	return c.JSON(a.view(c, t))
}

func (a *API) deleteTenant(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	if err := a.svc.DeleteTenant(ctx, strings.Clone(c.Params("tenant"))); err != nil {
		return a.fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *API) view(c *fiber.Ctx, t provision.Tenant) tenantJSON {
	out := tenantJSON{ID: t.ID, Name: t.Name, LicenseLimit: t.LicenseLimit, Mode: t.Mode, Created: t.Created,
		SCIMBaseURL: a.root(c) + "/scim/v2/" + t.ID, Quotas: quotasView(t.Quotas, &t.QuotasSet, t.Users, t.Groups)}
	if t.SeatsUsed >= 0 {
		used := t.SeatsUsed
		out.SeatsUsed = &used
	}
	return out
}

func (a *API) root(c *fiber.Ctx) string {
	if a.opts.PublicURL != "" {
		return strings.TrimRight(a.opts.PublicURL, "/")
	}
	return c.Protocol() + "://" + string(c.Request().Host())
}

// fail maps a service error to a problem response; unknown errors are
// logged and answered without detail.
func (a *API) fail(c *fiber.Ctx, err error) error {
	var pe *provision.Error
	if !errors.As(err, &pe) {
		slog.Error("internal error", "request_id", c.Locals("requestid"), "err", err)
		return Problem(c, http.StatusInternalServerError, "internal error")
	}
	status := httpstatus.Of(pe.Kind)
	if status == http.StatusInternalServerError {
		slog.Error("internal error", "request_id", c.Locals("requestid"), "err", err)
		return Problem(c, status, "internal error")
	}
	if s := httpstatus.RetryAfter(pe); s > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(s))
	}
	return Problem(c, status, pe.Detail)
}

// Problem writes an RFC 9457 problem document.
func Problem(c *fiber.Ctx, status int, detail string) error {
	if status == http.StatusUnauthorized && len(c.Response().Header.Peek(fiber.HeaderWWWAuthenticate)) == 0 {
		// RFC 9110 §11.6.1: every 401 carries a challenge.
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="scimd-admin"`)
	}
	c.Status(status)
	return c.JSON(fiber.Map{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail}, "application/problem+json")
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
