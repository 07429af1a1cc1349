package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
)

const (
	// sessionCookie holds "<tenant>.<session id>"; the id is the secret,
	// stored server-side only as its hash.
	sessionCookie = "scimd_console"
	// signInCookie is the sign-in form's anti-forgery token (double
	// submit): the form must carry the value the cookie holds, which
	// another site can neither read nor set.
	signInCookie = "scimd_console_signin"
	// signInBodyLimit bounds a sign-in form: a tenant id, a token and
	// the CSRF token.
	signInBodyLimit = 4 << 10
)

type sessionKey struct{}

// sessionOf is the request's session, set by session; nil before it.
func sessionOf(c *fiber.Ctx) *provision.ConsoleSession {
	s, _ := c.Locals(sessionKey{}).(*provision.ConsoleSession)
	return s
}

// secure says whether cookies get the Secure flag: when scimd is reached
// over https (TLS here, or a trusted proxy that says so) or its public
// URL is https.
func (cs *Console) secure(c *fiber.Ctx) bool {
	return strings.HasPrefix(strings.ToLower(cs.opts.PublicURL), "https://") || c.Protocol() == "https"
}

func (cs *Console) setCookie(c *fiber.Ctx, name, value, path string, maxAge time.Duration) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: path, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: cs.secure(c)}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
	} else {
		ck.MaxAge = -1
		ck.Expires = time.Unix(0, 0)
	}
	c.Cookie(ck)
}

// session admits a request with a live session, and sends anyone else to
// the sign-in page.
func (cs *Console) session(c *fiber.Ctx) error {
	tenant, id, _ := strings.Cut(c.Cookies(sessionCookie), ".")
	ctx, cancel := cs.ctx()
	defer cancel()
	sess, err := cs.svc.Session(ctx, tenant, id, cs.opts.Sessions)
	if provision.KindOf(err) == provision.KindUnauthorized {
		if c.Cookies(sessionCookie) != "" {
			cs.setCookie(c, sessionCookie, "", Root, 0)
		}
		return cs.toSignIn(c, "")
	}
	if err != nil {
		return cs.fail(c, err)
	}
	c.Locals(sessionKey{}, &sess)
	return c.Next()
}

// toSignIn sends the browser to the sign-in page, with a note why.
func (cs *Console) toSignIn(c *fiber.Ctx, note string) error {
	target := Root + "/sign-in"
	if note != "" {
		target += "?note=" + note
	}
	if c.Get("HX-Request") != "" {
		// htmx would swap the sign-in page into a fragment.
		c.Set("HX-Redirect", target)
		return c.SendStatus(http.StatusUnauthorized)
	}
	return c.Redirect(target, http.StatusSeeOther)
}

type signInView struct {
	Tenant string
	CSRF   string
	Error  string
	Note   string
}

// notes are the messages the sign-in page shows after a redirect, by key,
// so that no text from a URL is shown.
var notes = map[string]string{
	"signed-out": "You are signed out.",
}

func (cs *Console) signInPage(c *fiber.Ctx) error {
	return cs.renderSignIn(c, http.StatusOK, signInView{Tenant: c.Query("tenant"), Note: notes[c.Query("note")]})
}

// renderSignIn shows the sign-in form with a fresh anti-forgery token.
func (cs *Console) renderSignIn(c *fiber.Ctx, status int, v signInView) error {
	v.CSRF = newSecret()
	cs.setCookie(c, signInCookie, v.CSRF, Root+"/sign-in", time.Hour)
	return cs.render(c, status, "sign-in", v)
}

func (cs *Console) signIn(c *fiber.Ctx) error {
	form, err := readForm(c)
	if err != nil {
		return cs.renderSignIn(c, http.StatusBadRequest, signInView{Error: "The form could not be read."})
	}
	tenant := strings.TrimSpace(form.Get("tenant"))
	want := c.Cookies(signInCookie)
	if want == "" || subtle.ConstantTimeCompare([]byte(form.Get("csrf")), []byte(want)) != 1 {
		return cs.renderSignIn(c, http.StatusForbidden, signInView{Tenant: tenant, Error: "This sign-in form is out of date or did not come from this console. Try again."})
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	id, sess, err := cs.svc.SignIn(ctx, tenant, strings.TrimSpace(form.Get("token")), provision.Actor{Source: "admin", IP: cs.opts.ClientIP(c)}, cs.opts.Sessions)
	switch provision.KindOf(err) {
	case provision.KindThrottled:
		var pe *provision.Error
		if errors.As(err, &pe) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(httpstatus.RetryAfter(pe)))
		}
		return cs.renderSignIn(c, http.StatusTooManyRequests, signInView{Tenant: tenant, Error: "Too many failed sign-ins from your address. Wait a few minutes and try again."})
	case provision.KindUnauthorized:
		return cs.renderSignIn(c, http.StatusUnauthorized, signInView{Tenant: tenant, Error: "That tenant id and admin token do not match."})
	}
	if err != nil {
		return cs.fail(c, err)
	}
	cs.setCookie(c, signInCookie, "", Root+"/sign-in", 0)
	cs.setCookie(c, sessionCookie, sess.Tenant+"."+id, Root, cs.opts.Sessions.Lifetime)
	return c.Redirect(Root+"/", http.StatusSeeOther)
}

func (cs *Console) signOut(c *fiber.Ctx) error {
	sess := sessionOf(c)
	form, err := readForm(c)
	if err != nil || !csrfOK(c, form, sess.CSRF) {
		return cs.errorPage(c, sess, http.StatusForbidden, "This sign-out did not come from this console. Use the Sign out button.")
	}
	_, id, _ := strings.Cut(c.Cookies(sessionCookie), ".")
	ctx, cancel := cs.ctx()
	defer cancel()
	if err := cs.svc.SignOut(ctx, *sess, id, cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	cs.setCookie(c, sessionCookie, "", Root, 0)
	return cs.toSignIn(c, "signed-out")
}

// newSecret is 256 random bits, URL-safe.
func newSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
