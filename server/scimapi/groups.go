package scimapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimdoc"
)

// groups is elimity's ResourceHandler for /Groups.
type groups struct{ api *API }

func (h groups) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	members, err := takeMembers(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	g, err := h.api.svc.CreateGroup(ctx, tenantOf(r), attrs, members, scimActor(r))
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	g.Members = members
	return groupResource(g, r), nil
}

func (h groups) Get(r *http.Request, id string) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	g, err := h.api.svc.GetGroup(ctx, tenantOf(r), id, wantsMembers(r))
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	return groupResource(g, r), nil
}

func (h groups) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	q, err := groupQuery(params, wantsMembers(r))
	if err != nil {
		return scim.Page{}, err
	}
	q.Scan = h.api.scanAdmit(ctx, tenantOf(r))
	q.ReadIndexed = h.api.indexedAdmit(ctx, tenantOf(r))
	page, err := h.api.svc.ListGroups(ctx, tenantOf(r), q)
	if err != nil {
		return scim.Page{}, scimError(ctx, err)
	}
	out := scim.Page{TotalResults: page.Total, Resources: make([]scim.Resource, 0, len(page.Resources))}
	for _, g := range page.Resources {
		out.Resources = append(out.Resources, groupResource(g, r))
	}
	return out, nil
}

func (h groups) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	members, err := takeMembers(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	g, err := h.api.svc.ReplaceGroup(ctx, tenantOf(r), id, attrs, members, r.Header.Get("If-Match"), scimActor(r))
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	g.Members = members
	return groupResource(g, r), nil
}

func (h groups) Delete(r *http.Request, id string) error {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	if err := h.api.svc.DeleteGroup(ctx, tenantOf(r), id, r.Header.Get("If-Match"), provision.SCIM); err != nil {
		return scimError(ctx, err)
	}
	return nil
}

// Patch answers 204 (no attributes), as Entra expects of group PATCHes,
// unless the request asks for attributes: then 200 with the group (RFC 7644
// §3.5.2 says the server MUST return them).
func (h groups) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	ctx, cancel := h.api.reqContext(r)
	defer cancel()
	var err error
	if c, ok := scimdoc.MemberOps(ops); ok {
		// Entra's member PATCHes: one round trip, no read of the group.
		_, err = h.api.svc.PatchGroupMembers(ctx, tenantOf(r), id, r.Header.Get("If-Match"), provision.SCIM,
			provision.MemberChange{Add: c.Add, Remove: c.Remove})
	} else {
		_, err = h.api.svc.PatchGroup(ctx, tenantOf(r), id, r.Header.Get("If-Match"), provision.SCIM, func(doc map[string]any) (provision.MemberChange, error) {
			c, err := scimdoc.ApplyGroupPatch(doc, ops)
			return provision.MemberChange{Replace: c.Replace, Add: c.Add, Remove: c.Remove}, err
		})
	}
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	if r.URL.Query().Get("attributes") == "" {
		return scim.Resource{}, nil
	}
	g, err := h.api.svc.GetGroup(ctx, tenantOf(r), id, wantsMembers(r))
	if err != nil {
		return scim.Resource{}, scimError(ctx, err)
	}
	return groupResource(g, r), nil
}

// takeMembers removes members from a POST/PUT body and returns their ids.
// Returns invalidValue for a member without a value.
func takeMembers(attrs map[string]any) ([]string, error) {
	list, _ := attrs["members"].([]any)
	delete(attrs, "members")
	ids := make([]string, 0, len(list))
	for _, m := range list {
		mm, _ := m.(map[string]any)
		v, _ := mm["value"].(string)
		if strings.TrimSpace(v) == "" {
			return nil, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: "every member needs a value (a user id)"}
		}
		ids = append(ids, v)
	}
	return ids, nil
}

// wantsMembers tells whether the response will show members, so that a
// group read with excludedAttributes=members (as Entra sends) never loads them.
func wantsMembers(r *http.Request) bool {
	q := r.URL.Query()
	for _, a := range scimdoc.ParseAttrList(q.Get("excludedAttributes")) {
		if strings.EqualFold(a, "members") {
			return false
		}
	}
	in := scimdoc.ParseAttrList(q.Get("attributes"))
	if len(in) == 0 {
		return true
	}
	for _, a := range in {
		if strings.EqualFold(a, "members") || strings.HasPrefix(strings.ToLower(a), "members.") {
			return true
		}
	}
	return false
}

func groupResource(g provision.Group, r *http.Request) scim.Resource {
	attrs := g.Attrs
	if ext, _ := attrs["externalId"].(string); ext == "" {
		delete(attrs, "externalId")
	}
	if g.Members != nil {
		base := baseOf(r)
		members := make([]any, 0, len(g.Members))
		for _, id := range g.Members {
			members = append(members, map[string]any{
				"value": id,
				"$ref":  base + "/Users/" + url.PathEscape(id),
				"type":  "User",
			})
		}
		attrs["members"] = members
	}
	return scim.Resource{
		ID:         g.ID,
		Attributes: project(attrs, r),
		Meta:       meta(g.Created, g.Modified, g.ETag()),
	}
}
