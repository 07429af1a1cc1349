package scimapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// observe counts the answered request for the tenant's provisioning status
// (in process) and records a refused write (license 403, uniqueness or
// ambiguous-link 409, 400) for the tenant's admins.
func (a *API) observe(c *fiber.Ctx, tenant, rest string, err error) {
	status := c.Response().StatusCode()
	if err != nil {
		status = http.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			status = fe.Code
		}
	}
	var answer errorAnswer
	if status >= 400 && err == nil {
		answer = readErrorAnswer(c.Response().Body())
	}
	resource, id := scimRoute(rest)
	route := resource
	if id != "" {
		route = itemRoute(resource)
	}
	method := methodName(c.Method())
	a.svc.ObserveSCIM(tenant, method, route, status, answer.ScimType, answer.Detail)

	if status == http.StatusUnauthorized || strings.HasSuffix(rest, "/.search") {
		return
	}
	switch method {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch:
	default:
		return
	}
	r := provision.Refusal{ID: id, Status: status}
	switch resource {
	case "/Users":
		r.Resource = "User"
	case "/Groups":
		r.Resource = "Group"
	default:
		return
	}
	if slot, ok := c.Locals(slotKey{}).(*errSlot); ok {
		r.Reason = slot.reason
	}
	switch {
	case r.Reason != "":
	case status == http.StatusBadRequest && answer.ScimType != "":
		r.Reason = answer.ScimType
	case status == http.StatusBadRequest:
		r.Reason = "invalid"
	default:
		return // not a refusal of the request: an outage, a policy, a precondition
	}
	identifiers(c.Body(), &r)
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	a.svc.RecordRefusal(ctx, tenant, r)
}

// errorAnswer is what observe keeps of an error's body.
type errorAnswer struct {
	ScimType string `json:"scimType"`
	Detail   string `json:"detail"`
}

// readErrorAnswer decodes body, best effort: the status says enough. A
// function of its own, so that a request answered without an error does
// not pay for the variable escaping into json.Unmarshal.
func readErrorAnswer(body []byte) errorAnswer {
	var answer errorAnswer
	_ = json.Unmarshal(body, &answer)
	return answer
}

// itemRoute is collection + "/{id}", without a concatenation per request
// for the collections there are.
func itemRoute(collection string) string {
	switch collection {
	case "/Users":
		return "/Users/{id}"
	case "/Groups":
		return "/Groups/{id}"
	}
	return collection + "/{id}"
}

// methodName is a copy of m that outlives the request (Fiber's strings
// share its buffer): a constant for the methods there are.
func methodName(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodDelete:
		return fiber.MethodDelete
	}
	return strings.Clone(m)
}

// scimRoute splits a path under the tenant into its collection ("/Users")
// and the resource id, if any.
func scimRoute(rest string) (collection, id string) {
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	collection, raw, _ := strings.Cut(rest[1:], "/")
	collection = rest[:1+len(collection)] // with its slash, not a new string
	if raw == "" {
		return collection, ""
	}
	if v, err := url.PathUnescape(raw); err == nil {
		raw = v
	}
	return collection, raw
}

// identifiers takes userName, externalId and displayName from a SCIM body:
// top level (POST, PUT) or in PATCH operations. Nothing else of the body is
// kept; a body that does not decode leaves them empty.
func identifiers(body []byte, r *provision.Refusal) {
	var doc struct {
		UserName    any `json:"userName"`
		ExternalID  any `json:"externalId"`
		DisplayName any `json:"displayName"`
		Operations  []struct {
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	_ = json.Unmarshal(body, &doc) // keeps what decodes
	set := func(dst *string, v any) {
		if s, ok := v.(string); ok && s != "" {
			*dst = s
		}
	}
	set(&r.UserName, doc.UserName)
	set(&r.ExternalID, doc.ExternalID)
	set(&r.DisplayName, doc.DisplayName)
	for _, op := range doc.Operations {
		var v any
		if json.Unmarshal(op.Value, &v) != nil {
			continue
		}
		if op.Path == "" {
			if m, ok := v.(map[string]any); ok {
				for k, x := range m {
					setByName(r, k, x, set)
				}
			}
			continue
		}
		setByName(r, op.Path, v, set)
	}
}

func setByName(r *provision.Refusal, name string, v any, set func(*string, any)) {
	switch {
	case strings.EqualFold(name, "userName"):
		set(&r.UserName, v)
	case strings.EqualFold(name, "externalId"):
		set(&r.ExternalID, v)
	case strings.EqualFold(name, "displayName"):
		set(&r.DisplayName, v)
	}
}
