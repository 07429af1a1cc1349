package scimapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/jsonval"
	"github.com/scimd/scimd/server/provision"
)

// simpleEq matches the filters Entra sends before touching each resource
// (`userName eq "x"`, `externalId eq "x"`, `displayName eq "x"`, `id eq "x"`).
// elimity's general parser spends ~2,000 allocations on each; these are
// answered from the index without it. Anything else takes the general path.
var simpleEq = regexp.MustCompile(`^\s*([A-Za-z]+)\s+(?i:eq)\s+("(?:[^"\\]|\\.)*")\s*$`)

// fastList answers GET /Users or /Groups with a simple equality filter, in
// exactly the shape elimity would. handled is false when the request is not
// of that kind.
func (a *API) fastList(c *fiber.Ctx, rest, tenant, base string) (handled bool, err error) {
	raw := string(c.Request().URI().QueryArgs().Peek("filter"))
	m := simpleEq.FindStringSubmatch(raw)
	if m == nil {
		return false, nil
	}
	value, ok := jsonString(m[2])
	if !ok {
		return false, nil
	}
	rt := a.users
	attr := strings.ToLower(m[1])
	var lookup provision.LookupAttr
	var fold bool
	switch {
	case rest == "/Users" && attr == "username":
		lookup, fold = provision.LookupUserName, true
	case rest == "/Users" && attr == "externalid":
		lookup = provision.LookupExternalID
	case rest == "/Users" && attr == "id":
		lookup = provision.LookupID
	case rest == "/Groups" && attr == "displayname":
		lookup, fold, rt = provision.LookupDisplayName, true, a.groups
	case rest == "/Groups" && attr == "externalid":
		lookup, rt = provision.LookupExternalID, a.groups
	case rest == "/Groups" && attr == "id":
		lookup, rt = provision.LookupID, a.groups
	default:
		return false, nil
	}
	count, start, perr := pagination(c)
	if perr != nil {
		return true, sendError(c, *perr, 0)
	}
	equal := func(got string) bool {
		switch {
		case lookup == provision.LookupUserName:
			return provision.SameUserName(got, value)
		case fold:
			return strings.EqualFold(got, value)
		}
		return got == value
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, requestKey{}, c.Locals("requestid"))
	// The scan budget parks its 429 here, for fastError to send.
	ctx = context.WithValue(ctx, slotKey{}, &errSlot{})
	var resources []scim.Resource
	var total int
	if rt.Name == "User" && plainRead(c) {
		// Entra's lookup: the stored documents go out as they are, with
		// id, meta and schemas, neither decoded nor encoded again.
		q := provision.ListQuery[provision.User]{Indexed: true, Lookups: []provision.Lookup{{Attr: lookup, Value: value}}, StartIndex: start, Count: count,
			Undecoded:   true,
			Match:       func(u provision.User) bool { return equal(recordField(u, attr)) },
			ReadIndexed: a.indexedAdmit(ctx, tenant)}
		page, err := a.svc.ListUsers(ctx, tenant, q)
		if err != nil {
			return true, a.fastError(c, ctx, err)
		}
		return true, sendRawList(c, page.Total, start, rt, page.Resources, base, a.userSchemas)
	}
	req := &http.Request{URL: &url.URL{RawQuery: string(c.Request().URI().QueryString())}}
	req = req.WithContext(context.WithValue(context.WithValue(context.Background(), tenantKey{}, tenant), baseKey{}, base))
	if rt.Name == "User" {
		q := provision.ListQuery[provision.User]{Indexed: true, Lookups: []provision.Lookup{{Attr: lookup, Value: value}}, StartIndex: start, Count: count,
			Match:       func(u provision.User) bool { return equal(fieldOf(u.ID, u.Attrs, attr)) },
			ReadIndexed: a.indexedAdmit(ctx, tenant)}
		page, err := a.svc.ListUsers(ctx, tenant, q)
		if err != nil {
			return true, a.fastError(c, ctx, err)
		}
		total = page.Total
		for _, u := range page.Resources {
			if err := a.withGroups(ctx, req, &u); err != nil {
				return true, a.fastError(c, ctx, err)
			}
			resources = append(resources, userResource(u, req))
		}
	} else {
		q := provision.ListQuery[provision.Group]{Indexed: true, Lookups: []provision.Lookup{{Attr: lookup, Value: value}}, StartIndex: start, Count: count,
			WithMembers: wantsMembers(req),
			Match:       func(g provision.Group) bool { return equal(fieldOf(g.ID, g.Attrs, attr)) },
			ReadIndexed: a.indexedAdmit(ctx, tenant)}
		page, err := a.svc.ListGroups(ctx, tenant, q)
		if err != nil {
			return true, a.fastError(c, ctx, err)
		}
		total = page.Total
		for _, g := range page.Resources {
			resources = append(resources, groupResource(g, req))
		}
	}
	list := make([]any, 0, len(resources))
	for _, r := range resources {
		list = append(list, render(rt, r, base))
	}
	return true, sendList(c, total, start, list)
}

// jsonString reads a quoted JSON string as encoding/json does; the
// common one, without escapes, without its allocations.
func jsonString(quoted string) (string, bool) {
	plain := utf8.ValidString(quoted)
	for i := 0; plain && i < len(quoted); i++ {
		plain = quoted[i] >= 0x20 && quoted[i] != '\\'
	}
	if plain && len(quoted) >= 2 && quoted[0] == '"' && quoted[len(quoted)-1] == '"' && !strings.Contains(quoted[1:len(quoted)-1], `"`) {
		return quoted[1 : len(quoted)-1], true
	}
	var value string
	if json.Unmarshal([]byte(quoted), &value) != nil {
		return "", false
	}
	return value, true
}

func (a *API) fastError(c *fiber.Ctx, ctx context.Context, err error) error {
	slot, ok := ctx.Value(slotKey{}).(*errSlot)
	if !ok {
		slot = &errSlot{}
		ctx = context.WithValue(ctx, slotKey{}, slot)
	}
	se, _ := scimError(ctx, err).(scimerrors.ScimError)
	if slot.set {
		return sendError(c, slot.err, slot.retryAfter)
	}
	return sendError(c, se, 0)
}

// plainRead tells whether a read asks for the resources as they are: no
// attributes or excludedAttributes (which also keeps User.groups out).
func plainRead(c *fiber.Ctx) bool {
	args := c.Request().URI().QueryArgs()
	return len(args.Peek("attributes")) == 0 && len(args.Peek("excludedAttributes")) == 0
}

// recordField is fieldOf over the stored record's fields.
func recordField(u provision.User, attr string) string {
	switch attr {
	case "id":
		return u.ID
	case "username":
		return u.UserName
	case "externalid":
		return u.ExternalID
	}
	return ""
}

// sendRawList writes a ListResponse of users from their stored documents,
// each given id, meta and schemas as render gives them: the same JSON
// object, with its members in another order.
func sendRawList(c *fiber.Ctx, total, start int, rt scim.ResourceType, users []provision.User, base string, schemas []byte) error {
	b := make([]byte, 0, 256+len(users)*1024)
	b = append(b, `{"Resources":[`...)
	for i, u := range users {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStoredUser(b, rt, u, base, schemas)
	}
	b = append(b, `],"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(len(users)), 10)
	b = append(b, `,"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"startIndex":`...)
	b = strconv.AppendInt(b, int64(start), 10)
	b = append(b, `,"totalResults":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, '}')
	c.Status(http.StatusOK)
	c.Set("Content-Type", "application/scim+json")
	c.Response().SetBodyRaw(b)
	return nil
}

// appendStoredUser appends a user from its stored document, given id, meta
// and schemas (JSON) as render gives them: the same JSON object, with its
// members in another order.
func appendStoredUser(b []byte, rt scim.ResourceType, u provision.User, base string, schemas []byte) []byte {
	b = append(b, `{"id":`...)
	b = jsonval.AppendString(b, u.ID)
	b = append(b, `,"meta":`...)
	b = appendMeta(b, rt, u, base)
	b = append(b, `,"schemas":`...)
	b = append(b, schemas...)
	doc := bytes.TrimSpace(u.Raw)
	if len(doc) > 2 { // members of a non-empty object
		b = append(b, ',')
		return append(b, doc[1:]...)
	}
	return append(b, '}')
}

// appendMeta appends a user's meta as json.Marshal(metaJSON{...}) would.
func appendMeta(b []byte, rt scim.ResourceType, u provision.User, base string) []byte {
	b = append(b, `{"resourceType":`...)
	b = jsonval.AppendString(b, rt.Name)
	b = append(b, `,"created":"`...)
	b = u.Created.AppendFormat(b, time.RFC3339)
	b = append(b, `","lastModified":"`...)
	b = u.Modified.AppendFormat(b, time.RFC3339)
	b = append(b, `","location":`...)
	b = jsonval.AppendString(b, base+rt.Endpoint+"/"+url.PathEscape(u.ID))
	b = append(b, `,"version":`...)
	b = jsonval.AppendString(b, u.ETag())
	return append(b, '}')
}

// resourceSchemas lists a resource type's schema and its extensions'.
func resourceSchemas(rt scim.ResourceType) []string {
	schemas := make([]string, 0, 1+len(rt.SchemaExtensions))
	schemas = append(schemas, rt.Schema.ID)
	for _, e := range rt.SchemaExtensions {
		schemas = append(schemas, e.Schema.ID)
	}
	return schemas
}

// fieldOf reads the attribute a simple filter compares.
func fieldOf(id string, attrs map[string]any, attr string) string {
	switch attr {
	case "id":
		return id
	case "username":
		v, _ := attrs["userName"].(string)
		return v
	case "externalid":
		v, _ := attrs["externalId"].(string)
		return v
	case "displayname":
		v, _ := attrs["displayName"].(string)
		return v
	}
	return ""
}

// pagination reads startIndex and count as elimity does: count defaults to
// and is capped at MaxResults, negative is 0; startIndex below 1 is 1.
func pagination(c *fiber.Ctx) (count, start int, _ *scimerrors.ScimError) {
	count, start = MaxResults, 1
	var bad []string
	if v := c.Query("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, "count")
		}
		count = min(max(n, 0), MaxResults)
	}
	if v := c.Query("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, "startIndex")
		}
		start = max(n, 1)
	}
	if len(bad) > 0 {
		e := scimerrors.ScimErrorBadParams(bad)
		return 0, 0, &e
	}
	return count, start, nil
}

// metaJSON has the fields and order of elimity's meta.
type metaJSON struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location"`
	Version      string `json:"version,omitempty"`
}

// render is elimity's rendering of a resource in a list (Resource.response),
// which it does not export.
func render(rt scim.ResourceType, r scim.Resource, base string) map[string]any {
	out := make(map[string]any, len(r.Attributes)+3)
	for k, v := range r.Attributes {
		out[k] = v
	}
	out["id"] = r.ID
	if r.ExternalID.Present() {
		out["externalId"] = r.ExternalID.Value()
	}
	schemas := []string{rt.Schema.ID}
	for _, e := range rt.SchemaExtensions {
		schemas = append(schemas, e.Schema.ID)
	}
	out["schemas"] = schemas
	m := metaJSON{ResourceType: rt.Name, Location: base + rt.Endpoint + "/" + url.PathEscape(r.ID), Version: r.Meta.Version}
	if r.Meta.Created != nil {
		m.Created = r.Meta.Created.Format(time.RFC3339)
	}
	if r.Meta.LastModified != nil {
		m.LastModified = r.Meta.LastModified.Format(time.RFC3339)
	}
	out["meta"] = m
	return out
}
