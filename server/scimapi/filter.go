package scimapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	scimfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/server/provision"
)

// multiValuedComplex lists the attributes whose sub-attribute comparisons
// must look at every element; elimity only compares a single map.
var multiValuedComplex = map[string]bool{
	"emails": true, "phonenumbers": true, "ims": true, "photos": true, "addresses": true,
	"groups": true, "entitlements": true, "roles": true, "x509certificates": true, "members": true,
}

// knownValuePaths refuses a filter whose value path (`attr[...]`) names an
// attribute none of the schemas has, or a simple single-valued one: elimity's validation lets those through
// (it checks only the attribute of a plain comparison), and the filter then
// matched nothing, answering an empty 200 for `emails[...]` on Groups.
func knownValuePaths(e filter.Expression, schemas ...schema.Schema) error {
	switch e := e.(type) {
	case *filter.ValuePath:
		for _, s := range schemas {
			if uri := e.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, s.ID) {
				continue
			}
			attr, ok := s.Attributes.ContainsAttribute(e.AttributePath.AttributeName)
			if !ok {
				continue
			}
			if attr.MultiValued() || attr.HasSubAttributes() {
				return nil
			}
			return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidFilter,
				Detail: fmt.Sprintf("the filter puts [...] after %q, which is neither multi-valued nor complex", e.AttributePath.AttributeName)}
		}
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidFilter,
			Detail: fmt.Sprintf("the filter names %q, which this resource does not have", e.AttributePath.AttributeName)}
	case *filter.LogicalExpression:
		if err := knownValuePaths(e.Left, schemas...); err != nil {
			return err
		}
		return knownValuePaths(e.Right, schemas...)
	case *filter.NotExpression:
		return knownValuePaths(e.Expression, schemas...)
	}
	return nil
}

// userQuery turns elimity's list parameters into a service query: index
// lookups where the filter allows, and the whole filter as the final check.
func userQuery(params scim.ListRequestParams) (provision.ListQuery[provision.User], error) {
	q := provision.ListQuery[provision.User]{StartIndex: params.StartIndex, Count: params.Count}
	if params.FilterValidator == nil {
		return q, nil
	}
	expr := rewrite(params.FilterValidator.GetFilter())
	if err := knownValuePaths(expr, userFilterSchema, enterpriseSchema); err != nil {
		return q, err
	}
	v := scimfilter.NewFilterValidator(expr, userFilterSchema, enterpriseSchema)
	q.Lookups, q.Indexed = plan(expr, userLookup)
	q.WithGroups = mentions(expr, "groups")
	q.Match = func(u provision.User) bool {
		res := matchable(u.ID, u.Attrs, u.Created, u.Modified)
		if q.WithGroups && len(u.Groups) > 0 { // none is absent, as for pr
			list := make([]any, 0, len(u.Groups))
			for _, g := range u.Groups {
				list = append(list, map[string]any{"value": g, "type": "direct"})
			}
			res["groups"] = list
		}
		return passes(v, res)
	}
	return q, nil
}

// groupQuery is userQuery for groups; members filters are answered from the
// reverse index, and members are loaded only when the filter needs them.
func groupQuery(params scim.ListRequestParams, withMembers bool) (provision.ListQuery[provision.Group], error) {
	q := provision.ListQuery[provision.Group]{StartIndex: params.StartIndex, Count: params.Count, WithMembers: withMembers}
	if params.FilterValidator == nil {
		return q, nil
	}
	expr := rewrite(params.FilterValidator.GetFilter())
	if err := knownValuePaths(expr, groupFilterSchema); err != nil {
		return q, err
	}
	v := scimfilter.NewFilterValidator(expr, groupFilterSchema)
	q.Lookups, q.Indexed = plan(expr, groupLookup)
	needMembers := mentions(expr, "members")
	q.WithMembers = withMembers || needMembers
	q.Match = func(g provision.Group) bool {
		res := matchable(g.ID, g.Attrs, g.Created, g.Modified)
		if needMembers {
			list := make([]any, 0, len(g.Members))
			for _, m := range g.Members {
				list = append(list, map[string]any{"value": m, "type": "User"})
			}
			res["members"] = list
		}
		return passes(v, res)
	}
	return q, nil
}

// The schemas filters are evaluated against, built once: elimity builds a
// schema by compiling a regular expression per attribute name.
var (
	userFilterSchema  = withCommon(userSchema())
	groupFilterSchema = withCommon(groupSchema())
	enterpriseSchema  = schema.ExtensionEnterpriseUser()
)

func withCommon(s schema.Schema) schema.Schema {
	attrs := make([]schema.CoreAttribute, 0, len(s.Attributes)+3)
	attrs = append(attrs, s.Attributes...)
	s.Attributes = append(attrs, schema.CommonAttributes()...)
	return s
}

// matchable is the resource as elimity's filter evaluation reads it:
// common attributes at the top, and extension attributes also under their
// URN-qualified names.
func matchable(id string, attrs map[string]any, created, modified time.Time) map[string]any {
	res := make(map[string]any, len(attrs)+8)
	for k, v := range attrs {
		res[k] = v
		if ext, ok := v.(map[string]any); ok && strings.HasPrefix(k, "urn:") {
			for ek, ev := range ext {
				res[k+":"+ek] = ev
			}
		}
	}
	res["id"] = id
	res["meta"] = map[string]any{
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
	}
	return res
}

// passes evaluates the filter; elimity panics on some shapes of data, which
// for a filter means "does not match", never a failed request.
func passes(v scimfilter.Validator, res map[string]any) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			slog.Debug("filter evaluation panicked", "panic", fmt.Sprint(p))
			ok = false
		}
	}()
	return v.PassesFilter(res) == nil
}

// rewrite turns comparisons on a sub-attribute of a multi-valued attribute
// (emails.value eq "x", members eq "id") into value paths
// (emails[value eq "x"]), which elimity evaluates over every element.
func rewrite(e filter.Expression) filter.Expression {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		return &filter.LogicalExpression{Left: rewrite(e.Left), Right: rewrite(e.Right), Operator: e.Operator}
	case *filter.NotExpression:
		return &filter.NotExpression{Expression: rewrite(e.Expression)}
	case *filter.AttributeExpression:
		p := e.AttributePath
		if !multiValuedComplex[strings.ToLower(p.AttributeName)] || p.URI() != "" && !strings.HasSuffix(p.URI(), ":User") && !strings.HasSuffix(p.URI(), ":Group") {
			return e
		}
		sub := p.SubAttributeName()
		if sub == "" {
			if e.Operator == filter.PR {
				return e
			}
			sub = "value"
		}
		return &filter.ValuePath{
			AttributePath: filter.AttributePath{URIPrefix: p.URIPrefix, AttributeName: p.AttributeName},
			ValueFilter: &filter.AttributeExpression{
				AttributePath: filter.AttributePath{AttributeName: sub},
				Operator:      e.Operator,
				CompareValue:  e.CompareValue,
			},
		}
	}
	return e
}

// mentions tells whether the filter refers to the attribute.
func mentions(e filter.Expression, attr string) bool {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		return mentions(e.Left, attr) || mentions(e.Right, attr)
	case *filter.NotExpression:
		return mentions(e.Expression, attr)
	case *filter.AttributeExpression:
		return strings.EqualFold(e.AttributePath.AttributeName, attr)
	case *filter.ValuePath:
		return strings.EqualFold(e.AttributePath.AttributeName, attr)
	}
	return false
}

// plan finds index lookups whose union holds every match of e; ok false
// means the filter needs a scan.
func plan(e filter.Expression, leaf func(filter.Expression) (provision.Lookup, bool)) ([]provision.Lookup, bool) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, lok := plan(e.Left, leaf)
		r, rok := plan(e.Right, leaf)
		if e.Operator == filter.AND {
			switch {
			case lok:
				return l, true
			case rok:
				return r, true
			}
			return nil, false
		}
		if lok && rok {
			return append(l, r...), true
		}
		return nil, false
	case *filter.NotExpression:
		return nil, false
	}
	if l, ok := leaf(e); ok {
		return []provision.Lookup{l}, true
	}
	return nil, false
}

func userLookup(e filter.Expression) (provision.Lookup, bool) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		v, ok := e.CompareValue.(string)
		p := e.AttributePath
		if !ok || p.SubAttributeName() != "" {
			return provision.Lookup{}, false
		}
		name := strings.ToLower(p.AttributeName)
		core := p.URI() == "" || p.URI() == schema.UserSchema
		switch {
		case e.Operator == filter.EQ && core && name == "username":
			return provision.Lookup{Attr: provision.LookupUserName, Value: v}, true
		case e.Operator == filter.SW && core && name == "username":
			return provision.Lookup{Attr: provision.LookupUserNamePrefix, Value: v}, true
		case e.Operator == filter.EQ && core && name == "externalid":
			return provision.Lookup{Attr: provision.LookupExternalID, Value: v}, true
		case e.Operator == filter.EQ && core && name == "id":
			return provision.Lookup{Attr: provision.LookupID, Value: v}, true
		case e.Operator == filter.EQ && name == "employeenumber" && (p.URI() == "" || p.URI() == provision.EnterpriseUser):
			return provision.Lookup{Attr: provision.LookupEmployeeNumber, Value: v}, true
		}
	case *filter.ValuePath:
		// groups[value eq "id"]: the group's member set.
		if strings.EqualFold(e.AttributePath.AttributeName, "groups") {
			if m := eqOn(e.ValueFilter); m.name == "value" {
				return provision.Lookup{Attr: provision.LookupGroupMembers, Value: m.value}, true
			}
			return provision.Lookup{}, false
		}
		// emails[type eq "work" and value eq "x"]: the work-email index.
		if !strings.EqualFold(e.AttributePath.AttributeName, "emails") {
			return provision.Lookup{}, false
		}
		if and, ok := e.ValueFilter.(*filter.LogicalExpression); ok && and.Operator == filter.AND {
			typ, val := eqOn(and.Left), eqOn(and.Right)
			if typ.name != "type" {
				typ, val = val, typ
			}
			if typ.name == "type" && strings.EqualFold(typ.value, "work") && val.name == "value" {
				return provision.Lookup{Attr: provision.LookupWorkEmail, Value: val.value}, true
			}
		}
	}
	return provision.Lookup{}, false
}

func groupLookup(e filter.Expression) (provision.Lookup, bool) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		v, ok := e.CompareValue.(string)
		p := e.AttributePath
		if !ok || e.Operator != filter.EQ || p.SubAttributeName() != "" || (p.URI() != "" && p.URI() != schema.GroupSchema) {
			return provision.Lookup{}, false
		}
		switch strings.ToLower(p.AttributeName) {
		case "displayname":
			return provision.Lookup{Attr: provision.LookupDisplayName, Value: v}, true
		case "externalid":
			return provision.Lookup{Attr: provision.LookupExternalID, Value: v}, true
		case "id":
			return provision.Lookup{Attr: provision.LookupID, Value: v}, true
		}
	case *filter.ValuePath:
		if strings.EqualFold(e.AttributePath.AttributeName, "members") {
			if m := eqOn(e.ValueFilter); m.name == "value" {
				return provision.Lookup{Attr: provision.LookupMember, Value: m.value}, true
			}
		}
	}
	return provision.Lookup{}, false
}

type eqTerm struct{ name, value string }

// eqOn reads `name eq "value"`; anything else gives an empty term.
func eqOn(e filter.Expression) eqTerm {
	a, ok := e.(*filter.AttributeExpression)
	if !ok || a.Operator != filter.EQ || a.AttributePath.SubAttributeName() != "" {
		return eqTerm{}
	}
	v, ok := a.CompareValue.(string)
	if !ok {
		return eqTerm{}
	}
	return eqTerm{name: strings.ToLower(a.AttributePath.AttributeName), value: v}
}
