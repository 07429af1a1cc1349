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
	"github.com/elimity-com/scim/schema"
	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/jsonval"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimdoc"
)

// createSchema is what elimity validates a POST or PUT body against: the
// resource's schema with externalId added. elimity builds it again for
// every request (compiling a regular expression per attribute name); this
// builds it once, with the same parameters.
func createSchema(s schema.Schema) schema.Schema {
	externalID := schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact:  true,
		Mutability: schema.AttributeMutabilityReadWrite(),
		Name:       schema.CommonAttributeExternalID,
		Uniqueness: schema.AttributeUniquenessNone(),
	}))
	attrs := make([]schema.CoreAttribute, len(s.Attributes), len(s.Attributes)+1)
	copy(attrs, s.Attributes)
	s.Attributes = append(attrs, externalID)
	return s
}

// validateResource is elimity's validation of a POST or PUT body
// (ResourceType.validate), over the body already decoded.
func validateResource(rt scim.ResourceType, core schema.Schema, m map[string]any) (scim.ResourceAttributes, *scimerrors.ScimError) {
	attrs, se := core.Validate(m)
	if se != nil {
		return nil, se
	}
	for _, ext := range rt.SchemaExtensions {
		field := m[ext.Schema.ID]
		if field == nil {
			if ext.Required {
				return nil, &scimerrors.ScimErrorInvalidValue
			}
			continue
		}
		extAttrs, se := ext.Schema.ValidateExtension(field)
		if se != nil {
			return nil, se
		}
		attrs[ext.Schema.ID] = extAttrs
	}
	return attrs, nil
}

// decodeResource is scimdoc.DecodeResource, through jsonval.Decode (the
// same value, in a fraction of the allocations) when it takes the body.
func decodeResource(body []byte) (map[string]any, error) {
	if v, err := jsonval.Decode(body); err == nil {
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return scimdoc.DecodeResource(body)
}

// fastResource serves POST /Users and GET /Users/{id}, Entra's commonest
// calls after the lookups, without elimity's router and the net/http
// adaptor: the body decoded once and validated by elimity's schemas built
// once, the same resource handler, the answer in elimity's shape. handled
// is false for any other request.
func (a *API) fastResource(ctx context.Context, c *fiber.Ctx, rest, tenant, base string, slot *errSlot) (handled bool, err error) {
	switch c.Method() {
	case fiber.MethodPost:
		if rest != "/Users" {
			return false, nil
		}
		m, derr := decodeResource(c.Body())
		if derr != nil {
			return true, sendError(c, scimerrors.ScimErrorInvalidSyntax, 0)
		}
		d := droppedIn(m, knownUser)
		scimdoc.NormalizeResourceMap(m)
		attrs := scim.ResourceAttributes(m)
		if !a.userRules.validate(m) {
			// elimity decides, over the body as it came (validate changed m).
			if m, derr = scimdoc.DecodeResource(c.Body()); derr != nil {
				return true, sendError(c, scimerrors.ScimErrorInvalidSyntax, 0)
			}
			scimdoc.NormalizeResourceMap(m)
			var se *scimerrors.ScimError
			if attrs, se = validateResource(a.users, a.userCreate, m); se != nil {
				return true, sendError(c, *se, 0)
			}
		}
		if plainRead(c) {
			return true, a.createStoredUser(c, tenant, base, slot, d, attrs)
		}
		r := a.fastRequest(c, http.MethodPost, tenant, base, slot, d)
		res, herr := a.users.Handler.Create(r, attrs)
		if herr != nil {
			return true, handlerError(c, herr, http.MethodPost, slot)
		}
		return true, sendResource(c, a.users, res, base, http.StatusCreated)
	case fiber.MethodGet:
		raw, ok := strings.CutPrefix(rest, "/Users/")
		if !ok {
			return false, nil
		}
		id, uerr := url.PathUnescape(raw)
		if uerr != nil || id == "" || strings.Contains(id, "/") {
			return false, nil // let elimity answer what it answers
		}
		if plainRead(c) {
			return true, a.getStoredUser(ctx, c, tenant, id, base, slot)
		}
		r := a.fastRequest(c, http.MethodGet, tenant, base, slot, nil)
		res, herr := a.users.Handler.Get(r, id)
		if herr != nil {
			return true, handlerError(c, herr, http.MethodGet, slot)
		}
		if err := sendResource(c, a.users, res, base, http.StatusOK); err != nil {
			return true, err
		}
		notModified(c)
		return true, nil
	}
	return false, nil
}

// getStoredUser answers GET /Users/{id} without attributes or
// excludedAttributes with the stored document as it is, given id, meta and
// schemas, as users.Get and render would answer it. ctx is the request's,
// with its deadline.
func (a *API) getStoredUser(ctx context.Context, c *fiber.Ctx, tenant, id, base string, slot *errSlot) error {
	ctx = withRequest(ctx, c, slot)
	u, err := a.svc.GetStoredUser(ctx, tenant, id)
	if err != nil {
		return handlerError(c, scimError(ctx, err), http.MethodGet, slot)
	}
	setBodyBuffer(c, appendStoredUser(bodyBuffer(c), a.users, u, base, a.userSchemas))
	var etag [24]byte
	c.Response().Header.SetBytesV(fiber.HeaderETag, appendETag(etag[:0], u.Version, false))
	c.Status(http.StatusOK)
	c.Set(fiber.HeaderContentType, "application/scim+json")
	notModified(c)
	return nil
}

// createStoredUser is users.Create answered as sendResource would answer
// it, from the document as stored rather than encoded again: the same JSON
// object, with its members in another order.
func (a *API) createStoredUser(c *fiber.Ctx, tenant, base string, slot *errSlot, dropped []string, attrs scim.ResourceAttributes) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, requestKey{}, c.Locals("requestid"))
	ctx = context.WithValue(ctx, slotKey{}, slot)
	actor := provision.SCIM
	actor.Dropped = dropped
	scimdoc.NormalizeMultiValued(attrs)
	u, err := a.svc.CreateUser(ctx, tenant, attrs, actor)
	if err != nil {
		return handlerError(c, scimError(ctx, err), http.MethodPost, slot)
	}
	body := appendStoredUser(make([]byte, 0, 256+len(u.Raw)), a.users, u, base, a.userSchemas)
	c.Set(fiber.HeaderLocation, base+a.users.Endpoint+"/"+url.PathEscape(u.ID)) // as meta.location
	c.Set(fiber.HeaderETag, u.ETag())
	c.Status(http.StatusCreated)
	c.Set(fiber.HeaderContentType, "application/scim+json")
	c.Response().SetBodyRaw(body)
	return nil
}

// fastRequest is the *http.Request a resource handler reads: the query
// (attributes, excludedAttributes), If-Match, and the request's values in
// its context, as the adaptor would hand them over.
func (a *API) fastRequest(c *fiber.Ctx, method, tenant, base string, slot *errSlot, dropped []string) *http.Request {
	ctx := context.WithValue(context.Background(), tenantKey{}, tenant)
	ctx = context.WithValue(ctx, baseKey{}, base)
	ctx = context.WithValue(ctx, slotKey{}, slot)
	if len(dropped) > 0 {
		ctx = context.WithValue(ctx, droppedKey{}, dropped)
	}
	ctx = context.WithValue(ctx, requestKey{}, c.Locals("requestid"))
	r := &http.Request{Method: method, URL: &url.URL{RawQuery: string(c.Request().URI().QueryString())}}
	if im := c.Get(fiber.HeaderIfMatch); im != "" {
		r.Header = http.Header{"If-Match": []string{im}}
	}
	return r.WithContext(ctx)
}

// handlerError answers a resource handler's error as elimity would
// (CheckScimError), a 429 or 503 parked in the slot with its Retry-After.
func handlerError(c *fiber.Ctx, err error, method string, slot *errSlot) error {
	if slot.set {
		return sendError(c, slot.err, slot.retryAfter)
	}
	var se scimerrors.ScimError
	if !errors.As(err, &se) {
		return sendError(c, scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error"}, 0)
	}
	return sendError(c, scimerrors.CheckScimError(se, method), 0)
}

// sendResource writes a resource as elimity's handlers do: its Location
// on a create, its ETag, its body.
func sendResource(c *fiber.Ctx, rt scim.ResourceType, res scim.Resource, base string, status int) error {
	body, err := json.Marshal(render(rt, res, base))
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		c.Set(fiber.HeaderLocation, base+rt.Endpoint+"/"+url.PathEscape(res.ID)) // as render's meta.location
	}
	if res.Meta.Version != "" {
		c.Set(fiber.HeaderETag, res.Meta.Version)
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, "application/scim+json")
	c.Response().SetBodyRaw(body)
	return nil
}
