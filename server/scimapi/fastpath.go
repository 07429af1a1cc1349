package scimapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/scimd/scimd/server/jsonval"
	"github.com/scimd/scimd/server/provision"
)

// simpleEq matches the filters Entra sends before touching each resource
// (`userName eq "x"`, `externalId eq "x"`, `displayName eq "x"`, `id eq "x"`)
// as the regular expression
//
//	^\s*([A-Za-z]+)\s+(?i:eq)\s+("(?:[^"\\]|\\.)*")\s*$
//
// would (attr and quoted are its groups), without its allocations and
// time (TestSimpleEq holds the two together). elimity's general parser
// spends ~2,000 allocations on each; these are answered from the index
// without it. Anything else takes the general path.
func simpleEq(f string) (attr, quoted string, ok bool) {
	i := skipSpace(f, 0)
	j := i
	for j < len(f) && ('a' <= f[j] && f[j] <= 'z' || 'A' <= f[j] && f[j] <= 'Z') {
		j++
	}
	k := skipSpace(f, j)
	if j == i || k == j || k+2 > len(f) || !strings.EqualFold(f[k:k+2], "eq") {
		return "", "", false
	}
	l := skipSpace(f, k+2)
	if l == k+2 || l >= len(f) || f[l] != '"' {
		return "", "", false
	}
	m := l + 1
	for ; m < len(f) && f[m] != '"'; m++ {
		if f[m] == '\\' {
			// `\\.`: any character but a newline. A character of several
			// bytes goes on as [^"\\] would take the rest of it.
			if m+1 >= len(f) || f[m+1] == '\n' {
				return "", "", false
			}
			m++
		}
	}
	if m >= len(f) || skipSpace(f, m+1) != len(f) {
		return "", "", false
	}
	return f[i:j], f[l : m+1], true
}

// skipSpace returns the index of the first byte of f from i on that is not
// a regular expression's \s ([\t\n\f\r ]).
func skipSpace(f string, i int) int {
	for i < len(f) && (f[i] == ' ' || f[i] == '\t' || f[i] == '\n' || f[i] == '\f' || f[i] == '\r') {
		i++
	}
	return i
}

// fastList answers GET /Users or /Groups with a simple equality filter, in
// exactly the shape elimity would. handled is false when the request is not
// of that kind. ctx is the request's, with its deadline; the scan budget
// parks its 429 in slot, for fastError to send.
func (a *API) fastList(ctx context.Context, c *fiber.Ctx, rest, tenant, base string, slot *errSlot) (handled bool, err error) {
	// Not copied: the filter's bytes outlive this call, and nothing of
	// them is kept past the request (lookups and keys are new strings).
	raw := utils.UnsafeString(c.Request().URI().QueryArgs().Peek("filter"))
	name, quoted, ok := simpleEq(raw)
	if !ok {
		return false, nil
	}
	value, ok := jsonString(quoted)
	if !ok {
		return false, nil
	}
	rt := a.users
	attr := lowerAttr(name)
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
	eq := equalTo{lookup: lookup, fold: fold, value: value}
	ctx = withRequest(ctx, c, slot)
	var resources []scim.Resource
	var total int
	if rt.Name == "User" && plainRead(c) {
		// Entra's lookup: the stored documents go out as they are, with
		// id, meta and schemas, neither decoded nor encoded again.
		q := provision.ListQuery[provision.User]{Indexed: true, Lookups: []provision.Lookup{{Attr: lookup, Value: value}}, StartIndex: start, Count: count,
			Undecoded:   true,
			Match:       func(u provision.User) bool { return eq.equal(recordField(u, attr)) },
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
			Match:       func(u provision.User) bool { return eq.equal(fieldOf(u.ID, u.Attrs, attr)) },
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
			Match:       func(g provision.Group) bool { return eq.equal(fieldOf(g.ID, g.Attrs, attr)) },
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

// lowerAttr is name in lower case for the attributes a simple filter may
// compare (a constant: strings.ToLower would allocate), "" for others.
func lowerAttr(name string) string {
	for _, a := range []string{"username", "externalid", "id", "displayname"} {
		if strings.EqualFold(name, a) {
			return a
		}
	}
	return ""
}

// equalTo is a simple filter's comparison with value.
type equalTo struct {
	lookup provision.LookupAttr
	fold   bool
	value  string
}

func (e equalTo) equal(got string) bool {
	switch {
	case e.lookup == provision.LookupUserName:
		return provision.SameUserName(got, e.value)
	case e.fold:
		return strings.EqualFold(got, e.value)
	}
	return got == e.value
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
	b := bodyBuffer(c)
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
	setBodyBuffer(c, b)
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
	b = append(b, `","location":"`...)
	// base+rt.Endpoint+"/"+url.PathEscape(u.ID), without making it
	b = jsonval.AppendStringContent(b, base)
	b = jsonval.AppendStringContent(b, rt.Endpoint)
	b = append(b, '/')
	b = jsonval.AppendStringContent(b, url.PathEscape(u.ID))
	b = append(b, `","version":"`...)
	b = appendETag(b, u.Version, true)
	return append(b, `"}`...)
}

// appendETag appends a version's ETag, W/"<version>" (provision's ETag),
// its quotes escaped for JSON when inJSON.
func appendETag(b []byte, version int64, inJSON bool) []byte {
	if inJSON {
		b = append(b, `W/\"`...)
		b = strconv.AppendInt(b, version, 10)
		return append(b, `\"`...)
	}
	b = append(b, `W/"`...)
	b = strconv.AppendInt(b, version, 10)
	return append(b, '"')
}

// bodyBuffer returns the response's body buffer, empty, to append a body
// to and hand back with setBodyBuffer: fasthttp pools it, where a slice of
// our own given to SetBodyRaw is an allocation a request.
func bodyBuffer(c *fiber.Ctx) []byte {
	return c.Response().SwapBody(nil)[:0]
}

// setBodyBuffer makes b, from bodyBuffer, the response's body.
func setBodyBuffer(c *fiber.Ctx, b []byte) {
	c.Response().SwapBody(b)
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
