package scimapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	scimfilter "github.com/elimity-com/scim/filter"
	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/scimdoc"
)

// searchRequestSchema names the body of POST .../.search (RFC 7644 §3.4.3).
const searchRequestSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// listRequest is one query, read from the URL of a GET or the body of a
// POST .search: both forms are answered by the same code.
type listRequest struct {
	filter                    string
	attributes, excludedAttrs string // comma-separated, as in a URL
	count, start              int
	types                     []scim.ResourceType // Users then Groups for the root
	root                      bool
}

// listRoute tells whether method and rest name a query: GET /Users, GET
// /Groups, GET / (the root, across both), or POST to their /.search.
func (a *API) listRoute(method, rest string) (types []scim.ResourceType, root, search, ok bool) {
	path, search := strings.CutSuffix(rest, "/.search")
	if search && method != fiber.MethodPost || !search && method != fiber.MethodGet {
		return nil, false, false, false
	}
	switch path {
	case "/Users":
		return []scim.ResourceType{a.users}, false, search, true
	case "/Groups":
		return []scim.ResourceType{a.groups}, false, search, true
	case "/", "":
		return []scim.ResourceType{a.users, a.groups}, true, search, true
	}
	return nil, false, false, false
}

// list answers a query with a ListResponse whose itemsPerPage is the number
// of resources in the page (RFC 7644 §3.4.2), not the page size asked for.
func (a *API) list(c *fiber.Ctx, types []scim.ResourceType, root, search bool, tenant, base string, slot *errSlot) error {
	lr, se := readListRequest(c, search)
	if se == nil && len(lr.filter) > a.opts.MaxFilterLength {
		e := scimerrors.ScimErrorInvalidFilter
		e.Detail = "the filter is longer than this server accepts"
		se = &e
	}
	if se != nil {
		return sendError(c, *se, 0)
	}
	lr.types, lr.root = types, root
	q := url.Values{}
	if lr.attributes != "" {
		q.Set("attributes", lr.attributes)
	}
	if lr.excludedAttrs != "" {
		q.Set("excludedAttributes", lr.excludedAttrs)
	}
	ctx := context.WithValue(context.Background(), tenantKey{}, tenant)
	ctx = context.WithValue(ctx, baseKey{}, base)
	ctx = context.WithValue(ctx, slotKey{}, slot)
	ctx = context.WithValue(ctx, requestKey{}, c.Locals("requestid"))
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{RawQuery: q.Encode()}}).WithContext(ctx)

	validators, se := lr.validators()
	if se != nil {
		return sendError(c, *se, 0)
	}
	total, list := 0, []any{}
	for i, rt := range lr.types {
		v := validators[i]
		if lr.root && v == nil && lr.filter != "" {
			continue // the filter names an attribute this type lacks: nothing here matches
		}
		// The page runs on from the previous type: skip what that type's
		// matches already covered, fill what room the page has left.
		params := scim.ListRequestParams{StartIndex: max(lr.start-total, 1), Count: lr.count - len(list), FilterValidator: v}
		page, err := rt.Handler.GetAll(r, params)
		if err != nil {
			if slot.set {
				return sendError(c, slot.err, slot.retryAfter)
			}
			var e scimerrors.ScimError
			if !errors.As(err, &e) {
				e = scimerrors.ScimErrorInternal
			}
			return sendError(c, e, 0)
		}
		for _, res := range page.Resources {
			list = append(list, render(rt, res, base))
		}
		total += page.TotalResults
	}
	return sendList(c, total, lr.start, list)
}

// sendList writes a ListResponse.
func sendList(c *fiber.Ctx, total, start int, list []any) error {
	body, err := json.Marshal(map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": total,
		"itemsPerPage": len(list),
		"startIndex":   start,
		"Resources":    list,
	})
	if err != nil {
		return err
	}
	c.Status(http.StatusOK)
	c.Set("Content-Type", "application/scim+json")
	c.Response().SetBodyRaw(body)
	return nil
}

// countPage sets itemsPerPage of the ListResponse elimity wrote (for
// /Schemas and /ResourceTypes) to the number of resources in it: elimity
// writes the page size asked for.
func countPage(c *fiber.Ctx) {
	if c.Response().StatusCode() != http.StatusOK {
		return
	}
	var lr map[string]json.RawMessage
	if json.Unmarshal(c.Response().Body(), &lr) != nil {
		return
	}
	var resources []json.RawMessage
	if json.Unmarshal(lr["Resources"], &resources) != nil {
		return
	}
	n, err := json.Marshal(len(resources))
	if err != nil {
		return
	}
	lr["itemsPerPage"] = n
	if resources == nil {
		lr["Resources"] = json.RawMessage("[]")
	}
	body, err := json.Marshal(lr)
	if err != nil {
		return
	}
	c.Response().SetBodyRaw(body)
}

// readListRequest reads the query from the URL (GET) or the SearchRequest
// body (POST .search), with the same defaults and bounds either way.
func readListRequest(c *fiber.Ctx, search bool) (listRequest, *scimerrors.ScimError) {
	if !search {
		count, start, se := pagination(c)
		if se != nil {
			return listRequest{}, se
		}
		return listRequest{
			filter:     strings.TrimSpace(c.Query("filter")),
			attributes: c.Query("attributes"), excludedAttrs: c.Query("excludedAttributes"),
			count: count, start: start,
		}, nil
	}
	var body struct {
		Schemas            []string `json:"schemas"`
		Attributes         []string `json:"attributes"`
		ExcludedAttributes []string `json:"excludedAttributes"`
		Filter             string   `json:"filter"`
		StartIndex         *int     `json:"startIndex"`
		Count              *int     `json:"count"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		e := scimerrors.ScimErrorInvalidSyntax
		e.Detail = "the body is not a SearchRequest: " + jsonProblem(err)
		return listRequest{}, &e
	}
	if len(body.Schemas) != 1 || body.Schemas[0] != searchRequestSchema {
		e := scimerrors.ScimErrorInvalidValue
		e.Detail = `a SearchRequest has "schemas": ["` + searchRequestSchema + `"]`
		return listRequest{}, &e
	}
	lr := listRequest{
		filter:     strings.TrimSpace(body.Filter),
		attributes: strings.Join(body.Attributes, ","), excludedAttrs: strings.Join(body.ExcludedAttributes, ","),
		count: MaxResults, start: 1,
	}
	if body.Count != nil {
		lr.count = min(max(*body.Count, 0), MaxResults)
	}
	if body.StartIndex != nil {
		lr.start = max(*body.StartIndex, 1)
	}
	return lr, nil
}

// jsonProblem says what is wrong with a body without echoing it.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "field " + te.Field + " has the wrong type"
	}
	return "malformed JSON"
}

// validators parses the filter once per resource type, as elimity would
// (its schema with the common attributes). For one type an invalid filter
// is invalidFilter; for the root it is one only when no type can read it.
func (lr listRequest) validators() ([]*scimfilter.Validator, *scimerrors.ScimError) {
	out := make([]*scimfilter.Validator, len(lr.types))
	if lr.filter == "" {
		return out, nil
	}
	f := scimdoc.NormalizeFilter(lr.filter)
	found := false
	for i, rt := range lr.types {
		var v scimfilter.Validator
		var err error
		if rt.Name == "User" {
			v, err = scimfilter.NewValidator(f, userFilterSchema, enterpriseSchema)
		} else {
			v, err = scimfilter.NewValidator(f, groupFilterSchema)
		}
		if err == nil {
			err = v.Validate()
		}
		if err != nil {
			continue
		}
		out[i], found = &v, true
	}
	if !found {
		e := scimerrors.ScimErrorInvalidFilter
		if lr.root {
			e.Detail = "the filter is not valid for Users nor for Groups"
		}
		return nil, &e
	}
	return out, nil
}
