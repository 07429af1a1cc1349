package console

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/idpexport"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
)

type migrationView struct {
	Tenant   provision.Tenant
	File     string
	Report   *provision.PreflightReport
	Result   *provision.FinalizeResult
	Error    string
	Accounts map[string]string
}

// migration: upload the identity provider's user export, read the
// preflight report, then finalize with a typed confirmation.
func (cs *Console) migration(c *fiber.Ctx) error {
	v, err := cs.migrationView(c)
	if err != nil {
		return cs.fail(c, err)
	}
	return cs.render(c, http.StatusOK, "migration", v)
}

func (cs *Console) migrationView(c *fiber.Ctx) (migrationView, error) {
	ctx, cancel := cs.ctx()
	defer cancel()
	t, err := cs.svc.GetTenant(ctx, sessionOf(c).Tenant)
	return migrationView{Tenant: t}, err
}

// preflight reads the uploaded export (multipart, within the admin API's
// preflight limit) and shows the report; it changes nothing. It checks the
// CSRF token itself: write reads only urlencoded forms.
func (cs *Console) preflight(c *fiber.Ctx) error {
	sess := sessionOf(c)
	body, err := reqbody.Read(c)
	if err != nil {
		return err
	}
	name, data, csrf, err := uploadedFile(c.Get(fiber.HeaderContentType), body)
	if err != nil {
		return cs.errorPage(c, sess, http.StatusBadRequest, "The upload could not be read: "+err.Error())
	}
	if got := c.Get("X-CSRF-Token"); got != "" {
		csrf = got
	}
	if sess.CSRF == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(sess.CSRF)) != 1 {
		return cs.errorPage(c, sess, http.StatusForbidden, "This form is out of date or did not come from this console (its security token does not match). Reload the page and try again.")
	}
	v, err := cs.migrationView(c)
	if err != nil {
		return cs.fail(c, err)
	}
	v.File = name
	contentType := "text/csv"
	if strings.EqualFold(path.Ext(name), ".json") {
		contentType = "application/json"
	}
	users, _, err := idpexport.Parse(contentType, data)
	if err != nil {
		v.Error = err.Error()
		return cs.render(c, http.StatusBadRequest, "migration", v)
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	rep, err := cs.svc.Preflight(ctx, sess.Tenant, users)
	if err != nil {
		return cs.fail(c, err)
	}
	v.Report = &rep
	return cs.render(c, http.StatusOK, "migration", v)
}

// uploadedFile returns the "export" file part of a multipart form and its
// "csrf" field.
func uploadedFile(contentType string, body []byte) (name string, data []byte, csrf string, err error) {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil || media != "multipart/form-data" || params["boundary"] == "" {
		return "", nil, "", errors.New("send the file as a form upload")
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, "", errors.New("the form is malformed")
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return "", nil, "", errors.New("the form is malformed")
		}
		switch p.FormName() {
		case "export":
			name, data = p.FileName(), b
		case "csrf":
			csrf = string(b)
		}
	}
	if data == nil {
		return "", nil, csrf, errors.New("choose the user export file (CSV or JSON)")
	}
	return name, data, csrf, nil
}

// finalize applies the unmatched-users setting once the admin has typed
// the tenant's id.
func (cs *Console) finalize(c *fiber.Ctx) error {
	sess := sessionOf(c)
	v, err := cs.migrationView(c)
	if err != nil {
		return cs.fail(c, err)
	}
	if strings.TrimSpace(formOf(c).Get("confirm")) != sess.Tenant {
		v.Error = "Type the tenant id, " + sess.Tenant + ", to finalize."
		return cs.render(c, http.StatusBadRequest, "migration", v)
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	res, err := cs.svc.FinalizeProvisioning(ctx, sess.Tenant, cs.actor(c))
	if err != nil {
		return cs.fail(c, err)
	}
	v.Result = &res
	return cs.render(c, http.StatusOK, "migration", v)
}
