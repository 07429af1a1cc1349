package scimapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimdoc"
)

// userGroupsAttribute is User.groups as scimd serves it: read from the
// reverse member index, only when asked for (returned: request), so a
// plain GET pays nothing for it. Membership is direct only (no nesting).
func userGroupsAttribute() schema.CoreAttribute {
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Description: optional.NewString("The groups the user is a member of (direct membership; groups do not nest). Returned only when asked for with attributes=groups."),
		MultiValued: true,
		Mutability:  schema.AttributeMutabilityReadOnly(),
		Returned:    schema.AttributeReturnedRequest(),
		Name:        "groups",
		SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The id of the group."),
				Mutability:  schema.AttributeMutabilityReadOnly(),
				Name:        "value",
			}),
			schema.SimpleReferenceParams(schema.ReferenceParams{
				Description:    optional.NewString("The URI of the group."),
				Mutability:     schema.AttributeMutabilityReadOnly(),
				Name:           "$ref",
				ReferenceTypes: []schema.AttributeReferenceType{"Group"},
			}),
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The group's displayName."),
				Mutability:  schema.AttributeMutabilityReadOnly(),
				Name:        "display",
			}),
			schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: []string{"direct"},
				Description:     optional.NewString("Always direct: groups do not nest."),
				Mutability:      schema.AttributeMutabilityReadOnly(),
				Name:            "type",
			}),
		},
	})
}

// wantsGroups tells whether the request names groups in attributes: the
// only way to get them, as they are returned on request.
func wantsGroups(r *http.Request) bool {
	for _, a := range scimdoc.ParseAttrList(r.URL.Query().Get("attributes")) {
		a = strings.ToLower(a)
		a = strings.TrimPrefix(a, strings.ToLower(schema.UserSchema)+":")
		if a == "groups" || strings.HasPrefix(a, "groups.") {
			return true
		}
	}
	return false
}

// withGroups adds groups to the users when the request asks for them.
// Returns what the service returns.
func (a *API) withGroups(ctx context.Context, r *http.Request, users ...*provision.User) error {
	if !wantsGroups(r) {
		return nil
	}
	base := baseOf(r)
	for _, u := range users {
		groups, err := a.svc.UserGroups(ctx, tenantOf(r), u.ID)
		if err != nil {
			return err
		}
		list := make([]any, 0, len(groups))
		for _, g := range groups {
			list = append(list, map[string]any{
				"value":   g.ID,
				"$ref":    base + "/Groups/" + url.PathEscape(g.ID),
				"display": g.Attrs["displayName"],
				"type":    "direct",
			})
		}
		u.Attrs["groups"] = list
	}
	return nil
}
