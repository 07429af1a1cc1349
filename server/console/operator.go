package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
)

// The operator pages are off unless Options.OperatorPages: one operator
// token opens every tenant, so they belong on a private listener or behind
// a deliberate flag. Their session is a cookie signed with a key derived
// from the operator token, checked by every replica without any stored
// state; it lives operatorLifetime, and changing the operator token ends
// every operator session at once.
const (
	operatorCookie       = "scimd_console_operator"
	operatorSignInCookie = "scimd_console_operator_signin"
	operatorLifetime     = time.Hour
	// operatorTenantsShown bounds the tenants the operator's list reads
	// the provisioning status of (one read each).
	operatorTenantsShown = 500
)

// operatorKey is the HMAC key of the operator's cookies.
func (cs *Console) operatorKey() []byte {
	k := sha256.Sum256([]byte("scimd console operator\x00" + cs.opts.OperatorToken))
	return k[:]
}

func (cs *Console) operatorMAC(purpose, expiry string) string {
	m := hmac.New(sha256.New, cs.operatorKey())
	m.Write([]byte(purpose + "\x00" + expiry))
	return hex.EncodeToString(m.Sum(nil))
}

type operatorKeyLocal struct{}

// operatorSession is a signed-in operator: the CSRF token of its forms.
type operatorSession struct{ CSRF string }

// operator admits a request with a valid operator cookie and sends anyone
// else to the operator sign-in.
func (cs *Console) operator(c *fiber.Ctx) error {
	expiry, mac, _ := strings.Cut(c.Cookies(operatorCookie), ".")
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || cs.opts.OperatorToken == "" || time.Now().Unix() >= exp || !hmac.Equal([]byte(mac), []byte(cs.operatorMAC("session", expiry))) {
		return c.Redirect(Root+"/operator/sign-in", http.StatusSeeOther)
	}
	c.Locals(operatorKeyLocal{}, &operatorSession{CSRF: cs.operatorMAC("csrf", expiry)[:32]})
	return c.Next()
}

func operatorOf(c *fiber.Ctx) *operatorSession {
	s, _ := c.Locals(operatorKeyLocal{}).(*operatorSession)
	return s
}

// operatorWrite reads an operator form and checks its CSRF token.
func (cs *Console) operatorWrite(c *fiber.Ctx) error {
	form, err := readForm(c)
	if err != nil {
		return cs.errorPage(c, nil, http.StatusBadRequest, "The form could not be read.")
	}
	want := operatorOf(c).CSRF
	if subtle.ConstantTimeCompare([]byte(form.Get("csrf")), []byte(want)) != 1 {
		return cs.errorPage(c, nil, http.StatusForbidden, "This form is out of date or did not come from this console. Reload the page and try again.")
	}
	c.Locals(formKey{}, form)
	return c.Next()
}

type operatorSignInView struct {
	CSRF, Error string
}

func (cs *Console) operatorSignInPage(c *fiber.Ctx) error {
	return cs.renderOperatorSignIn(c, http.StatusOK, "")
}

func (cs *Console) renderOperatorSignIn(c *fiber.Ctx, status int, msg string) error {
	v := operatorSignInView{CSRF: newSecret(), Error: msg}
	cs.setCookie(c, operatorSignInCookie, v.CSRF, Root+"/operator/sign-in", time.Hour)
	return cs.render(c, status, "operator-sign-in", v)
}

// operatorSignIn checks the operator token (its hash, in constant time)
// under the per-address limit of failed sign-ins.
func (cs *Console) operatorSignIn(c *fiber.Ctx) error {
	form, err := readForm(c)
	if err != nil {
		return cs.renderOperatorSignIn(c, http.StatusBadRequest, "The form could not be read.")
	}
	want := c.Cookies(operatorSignInCookie)
	if want == "" || subtle.ConstantTimeCompare([]byte(form.Get("csrf")), []byte(want)) != 1 {
		return cs.renderOperatorSignIn(c, http.StatusForbidden, "This sign-in form is out of date or did not come from this console. Try again.")
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	ip := cs.opts.ClientIP(c)
	if err := cs.svc.OperatorSignInAllowed(ctx, ip, cs.opts.Sessions, false); err != nil {
		var pe *provision.Error
		if errors.As(err, &pe) && pe.Kind == provision.KindThrottled {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(httpstatus.RetryAfter(pe)))
			return cs.renderOperatorSignIn(c, http.StatusTooManyRequests, "Too many failed sign-ins from your address. Wait a few minutes and try again.")
		}
		return cs.fail(c, err)
	}
	given := sha256.Sum256([]byte(strings.TrimSpace(form.Get("token"))))
	operatorHash := sha256.Sum256([]byte(cs.opts.OperatorToken))
	if cs.opts.OperatorToken == "" || subtle.ConstantTimeCompare(given[:], operatorHash[:]) != 1 {
		if err := cs.svc.OperatorSignInAllowed(ctx, ip, cs.opts.Sessions, true); err != nil && provision.KindOf(err) != provision.KindThrottled {
			return cs.fail(c, err)
		}
		return cs.renderOperatorSignIn(c, http.StatusUnauthorized, "That is not the operator token.")
	}
	cs.svc.OperatorSignedIn(ctx, ip)
	expiry := strconv.FormatInt(time.Now().Add(operatorLifetime).Unix(), 10)
	cs.setCookie(c, operatorSignInCookie, "", Root+"/operator/sign-in", 0)
	cs.setCookie(c, operatorCookie, expiry+"."+cs.operatorMAC("session", expiry), Root+"/operator", operatorLifetime)
	return c.Redirect(Root+"/operator/", http.StatusSeeOther)
}

func (cs *Console) operatorSignOut(c *fiber.Ctx) error {
	cs.setCookie(c, operatorCookie, "", Root+"/operator", 0)
	return c.Redirect(Root+"/operator/sign-in", http.StatusSeeOther)
}

// tenantHealth is one tenant as the operator's list shows it.
type tenantHealth struct {
	Tenant  provision.Tenant
	Status  provision.ProvisioningStatus
	Refused int64 // refused SCIM requests, last 24 hours
	Failed  int64 // failed SCIM requests (5xx), last 24 hours
}

type operatorView struct {
	CSRF     string
	Tenants  []tenantHealth
	More     int // tenants beyond those shown
	Requests []provision.TenantSeatRequest
	Created  *createdTenant
	Flash    *flash
}

type createdTenant struct {
	ID, SCIMURL, SCIMToken, AdminToken string
}

func (cs *Console) operatorView(ctx context.Context, c *fiber.Ctx) (operatorView, error) {
	v := operatorView{CSRF: operatorOf(c).CSRF}
	ts, err := cs.svc.ListTenants(ctx)
	if err != nil {
		return v, err
	}
	if len(ts) > operatorTenantsShown {
		v.More = len(ts) - operatorTenantsShown
		ts = ts[:operatorTenantsShown]
	}
	for _, t := range ts {
		// The list reads no seat counts: one read per tenant shown.
		if full, err := cs.svc.GetTenant(ctx, t.ID); err == nil {
			t = full
		} else if provision.KindOf(err) != provision.KindNotFound {
			return v, err
		}
		st, err := cs.svc.ProvisioningStatus(ctx, t.ID)
		if err != nil && provision.KindOf(err) != provision.KindNotFound {
			return v, err
		}
		v.Tenants = append(v.Tenants, tenantHealth{Tenant: t, Status: st, Refused: st.LastDay[provision.OutcomeRefused], Failed: st.LastDay[provision.OutcomeFailed]})
	}
	v.Requests, err = cs.svc.AllSeatRequests(ctx)
	return v, err
}

// operatorHome: every tenant with its seats and provisioning health, the
// forms to create, resize and delete tenants, and the seat requests.
func (cs *Console) operatorHome(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	v, err := cs.operatorView(ctx, c)
	if err != nil {
		return cs.fail(c, err)
	}
	switch c.Query("saved") {
	case "limit":
		v.Flash = &flash{Kind: "ok", Text: "The license limit is changed."}
	case "deleted":
		v.Flash = &flash{Kind: "ok", Text: "The tenant is deleted, with all its data."}
	}
	return cs.render(c, http.StatusOK, "operator", v)
}

// operatorCreate creates a tenant and shows its tokens this once.
func (cs *Console) operatorCreate(c *fiber.Ctx) error {
	form := formOf(c)
	limit, err := strconv.ParseInt(strings.TrimSpace(form.Get("licenseLimit")), 10, 64)
	if err != nil {
		return cs.errorPage(c, nil, http.StatusBadRequest, "The license limit must be a whole number.")
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	t, creds, err := cs.svc.CreateTenant(ctx, provision.NewTenant{ID: strings.TrimSpace(form.Get("id")), Name: form.Get("name"), LicenseLimit: &limit, AdminName: strings.TrimSpace(form.Get("adminName"))})
	if err != nil {
		return cs.fail(c, err)
	}
	v, err := cs.operatorView(ctx, c)
	if err != nil {
		return cs.fail(c, err)
	}
	v.Created = &createdTenant{ID: t.ID, SCIMURL: cs.root(c) + "/scim/v2/" + t.ID, SCIMToken: creds.SCIMToken, AdminToken: creds.AdminToken}
	v.Flash = &flash{Kind: "warn", Text: "The tenant is created. Copy its tokens now: they are not shown again."}
	return cs.render(c, http.StatusCreated, "operator", v)
}

// operatorLimit changes a tenant's license limit.
func (cs *Console) operatorLimit(c *fiber.Ctx) error {
	limit, err := strconv.ParseInt(strings.TrimSpace(formOf(c).Get("licenseLimit")), 10, 64)
	if err != nil {
		return cs.errorPage(c, nil, http.StatusBadRequest, "The license limit must be a whole number.")
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, err := cs.svc.UpdateTenant(ctx, pathParam(c, "tenant"), provision.TenantChange{LicenseLimit: &limit},
		provision.Actor{Source: "admin", Operator: true, IP: cs.opts.ClientIP(c)}); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/operator/?saved=limit", http.StatusSeeOther)
}

// operatorDelete deletes a tenant once its id is typed.
func (cs *Console) operatorDelete(c *fiber.Ctx) error {
	id := pathParam(c, "tenant")
	if strings.TrimSpace(formOf(c).Get("confirm")) != id {
		return cs.errorPage(c, nil, http.StatusBadRequest, "Type the tenant id, "+id+", to delete it. Nothing was deleted.")
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	if err := cs.svc.DeleteTenant(ctx, id); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/operator/?saved=deleted", http.StatusSeeOther)
}

// registerOperator mounts the operator pages on g (under Root).
func (cs *Console) registerOperator(g fiber.Router) {
	// Without an operator token the cookies' key would be public: anyone
	// could sign an operator session.
	if !cs.opts.OperatorPages || cs.opts.OperatorToken == "" {
		return
	}
	g.Get("/operator/sign-in", cs.operatorSignInPage)
	g.Post("/operator/sign-in", reqbody.Limit(signInBodyLimit), cs.operatorSignIn)
	g.Post("/operator/sign-out", cs.operator, cs.operatorWrite, cs.operatorSignOut)
	g.Get("/operator/", cs.operator, cs.operatorHome)
	g.Post("/operator/tenants", cs.operator, cs.operatorWrite, cs.operatorCreate)
	g.Post("/operator/tenants/:tenant/limit", cs.operator, cs.operatorWrite, cs.operatorLimit)
	g.Post("/operator/tenants/:tenant/delete", cs.operator, cs.operatorWrite, cs.operatorDelete)
}
