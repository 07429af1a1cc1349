package adminapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// userBody is a user as an admin edits it in the app: flat fields, mapped
// onto the SCIM document the directory keeps. In a PATCH, an absent field
// stays, and an empty string removes the attribute.
type userBody struct {
	UserName       *string `json:"userName"`
	GivenName      *string `json:"givenName"`
	FamilyName     *string `json:"familyName"`
	DisplayName    *string `json:"displayName"`
	Email          *string `json:"email"`
	EmployeeNumber *string `json:"employeeNumber"`
	Department     *string `json:"department"`
	Active         *bool   `json:"active"`
}

type userJSON struct {
	ID             string    `json:"id"`
	UserName       string    `json:"userName"`
	GivenName      string    `json:"givenName,omitempty"`
	FamilyName     string    `json:"familyName,omitempty"`
	DisplayName    string    `json:"displayName,omitempty"`
	Email          string    `json:"email,omitempty"`
	EmployeeNumber string    `json:"employeeNumber,omitempty"`
	Department     string    `json:"department,omitempty"`
	Active         bool      `json:"active"`
	ManagedBy      string    `json:"managedBy"`
	Version        int64     `json:"version"`
	Created        time.Time `json:"created"`
	Modified       time.Time `json:"modified"`
	Warnings       []string  `json:"warnings,omitempty"`
}

func userView(u provision.User, warnings []string) userJSON {
	f := u.Fields()
	return userJSON{ID: u.ID, Active: u.Active, ManagedBy: u.ManagedBy, Version: u.Version, Created: u.Created, Modified: u.Modified, Warnings: warnings,
		UserName: f.UserName, GivenName: f.GivenName, FamilyName: f.FamilyName, DisplayName: f.DisplayName, Email: f.Email,
		EmployeeNumber: f.EmployeeNumber, Department: f.Department}
}

func (a *API) createUser(c *fiber.Ctx) error {
	var in userBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, "the body must be a user object (userName, givenName, familyName, displayName, email, employeeNumber, department, active): "+err.Error())
	}
	doc := map[string]any{}
	provision.UserEdit(in).Apply(doc)
	ctx, cancel := a.ctx()
	defer cancel()
	u, warnings, err := a.svc.CreateManualUser(ctx, param(c, "tenant"), doc, actorOf(c))
	if err != nil {
		return a.fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(userView(u, warnings))
}

// groupRef names a group a user is in.
type groupRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	ManagedBy   string `json:"managedBy"`
}

// userDetailJSON is GET users/{id}: the user and the groups it is in, by name.
type userDetailJSON struct {
	userJSON
	Groups []groupRef `json:"groups"`
}

func (a *API) getUser(c *fiber.Ctx) error {
	ctx, cancel := a.ctx()
	defer cancel()
	tenant, id := param(c, "tenant"), param(c, "id")
	u, err := a.svc.GetUser(ctx, tenant, id)
	if err != nil {
		return a.fail(c, err)
	}
	groups, err := a.svc.UserGroups(ctx, tenant, id)
	if err != nil {
		return a.fail(c, err)
	}
	out := userDetailJSON{userJSON: userView(u, nil), Groups: make([]groupRef, 0, len(groups))}
	for _, g := range groups {
		name, _ := g.Attrs["displayName"].(string)
		out.Groups = append(out.Groups, groupRef{ID: g.ID, DisplayName: name, ManagedBy: g.ManagedBy})
	}
	c.Set(fiber.HeaderETag, u.ETag())
	return c.JSON(out)
}

func (a *API) patchUser(c *fiber.Ctx) error {
	var in userBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return Problem(c, http.StatusBadRequest, "the body must be a user object with the fields to change: "+err.Error())
	}
	return a.updateUser(c, in)
}

func (a *API) deactivateUser(c *fiber.Ctx) error {
	inactive := false
	return a.updateUser(c, userBody{Active: &inactive})
}

func (a *API) reactivateUser(c *fiber.Ctx) error {
	active := true
	return a.updateUser(c, userBody{Active: &active})
}

func (a *API) updateUser(c *fiber.Ctx, in userBody) error {
	ctx, cancel := a.ctx()
	defer cancel()
	u, warnings, err := a.svc.UpdateManualUser(ctx, param(c, "tenant"), param(c, "id"), c.Get(fiber.HeaderIfMatch), actorOf(c), func(doc map[string]any) error {
		provision.UserEdit(in).Apply(doc)
		return nil
	})
	if err != nil {
		return a.fail(c, err)
	}
	c.Set(fiber.HeaderETag, u.ETag())
	return c.JSON(userView(u, warnings))
}

// listUsers pages through users in creation order; ?userName= looks one up,
// ?managedBy= and ?active= keep only the users that match.
func (a *API) listUsers(c *fiber.Ctx) error {
	q, ok := listQuery[provision.User](c, "userName", provision.LookupUserName)
	if !ok {
		return Problem(c, http.StatusBadRequest, "startIndex must be >= 1 and count between 0 and 1000")
	}
	var matches []func(provision.User) bool
	switch c.Query("managedBy") {
	case "":
	case "scim", "manual":
		want := strings.Clone(c.Query("managedBy"))
		matches = append(matches, func(u provision.User) bool { return u.ManagedBy == want })
	default:
		return Problem(c, http.StatusBadRequest, `managedBy must be "scim" or "manual"`)
	}
	switch c.Query("active") {
	case "":
	case "true", "false":
		want := c.Query("active") == "true"
		matches = append(matches, func(u provision.User) bool { return u.Active == want })
	default:
		return Problem(c, http.StatusBadRequest, `active must be "true" or "false"`)
	}
	if len(matches) > 0 {
		q.Match = func(u provision.User) bool {
			for _, m := range matches {
				if !m(u) {
					return false
				}
			}
			return true
		}
	}
	ctx, cancel := a.ctx()
	defer cancel()
	page, err := a.svc.ListUsers(ctx, param(c, "tenant"), q)
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]userJSON, 0, len(page.Resources))
	for _, u := range page.Resources {
		out = append(out, userView(u, nil))
	}
	return c.JSON(fiber.Map{"totalResults": page.Total, "startIndex": q.StartIndex, "users": out})
}
