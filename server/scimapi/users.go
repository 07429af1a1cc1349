package scimapi

import (
	"net/http"
	"time"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimdoc"
)

// users is elimity's ResourceHandler for /Users.
type users struct{ api *API }

func (h users) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	scimdoc.NormalizeMultiValued(attrs)
	u, err := h.api.svc.CreateUser(ctx, tenantOf(r), attrs, scimActor(r))
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	return userResource(u, r), nil
}

func (h users) Get(r *http.Request, id string) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	u, err := h.api.svc.GetUser(ctx, tenantOf(r), id)
	if err == nil {
		err = h.api.withGroups(ctx, r, &u)
	}
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	return userResource(u, r), nil
}

func (h users) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	q, err := userQuery(params)
	if err != nil {
		return scim.Page{}, err
	}
	q.Scan = h.api.scanAdmit(ctx, tenantOf(r))
	q.ReadIndexed = h.api.indexedAdmit(ctx, tenantOf(r))
	page, err := h.api.svc.ListUsers(ctx, tenantOf(r), q)
	if err != nil {
		return scim.Page{}, scimError(ctx, err)
	}
	out := scim.Page{TotalResults: page.Total, Resources: make([]scim.Resource, 0, len(page.Resources))}
	for _, u := range page.Resources {
		if err := h.api.withGroups(ctx, r, &u); err != nil {
			return scim.Page{}, scimError(ctx, err)
		}
		out.Resources = append(out.Resources, userResource(u, r))
	}
	return out, nil
}

func (h users) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	scimdoc.NormalizeMultiValued(attrs)
	u, err := h.api.svc.ReplaceUser(ctx, tenantOf(r), id, attrs, r.Header.Get("If-Match"), scimActor(r))
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	return userResource(u, r), nil
}

func (h users) Delete(r *http.Request, id string) error {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	if err := h.api.svc.DeleteUser(ctx, tenantOf(r), id, r.Header.Get("If-Match"), provision.SCIM); err != nil {
		return scimError(ctx, err)
	}
	return nil
}

func (h users) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	u, err := h.api.svc.PatchUser(ctx, tenantOf(r), id, r.Header.Get("If-Match"), scimActor(r), func(doc map[string]any) error {
		return scimdoc.ApplyUserPatch(doc, ops)
	})
	if err == nil {
		err = h.api.withGroups(ctx, r, &u)
	}
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	return userResource(u, r), nil
}

// scimActor is the identity provider, with what the edge dropped from the request.
func scimActor(r *http.Request) provision.Actor {
	a := provision.SCIM
	a.Dropped = droppedOf(r)
	return a
}

// userResource renders a user for elimity, which adds id, schemas and meta
// (location, resourceType); attributes and excludedAttributes apply here.
func userResource(u provision.User, r *http.Request) scim.Resource {
	attrs := u.Attrs
	if ext, _ := attrs["externalId"].(string); ext == "" {
		delete(attrs, "externalId")
	}
	return scim.Resource{
		ID:         u.ID,
		Attributes: project(attrs, r),
		Meta:       meta(u.Created, u.Modified, u.ETag()),
	}
}

func meta(created, modified time.Time, etag string) scim.Meta {
	return scim.Meta{Created: &created, LastModified: &modified, Version: etag}
}

// project applies the request's attributes / excludedAttributes parameters.
func project(attrs map[string]any, r *http.Request) map[string]any {
	q := r.URL.Query()
	in, ex := scimdoc.ParseAttrList(q.Get("attributes")), scimdoc.ParseAttrList(q.Get("excludedAttributes"))
	if len(in) == 0 && len(ex) == 0 {
		return attrs
	}
	return scimdoc.Project(attrs, in, ex)
}
