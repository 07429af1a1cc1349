// Package scimapi is the SCIM 2.0 edge: it authenticates a tenant's
// identity provider, smooths over Entra ID's dialect, and hands the request
// to elimity-com/scim, whose resource handlers call the provisioning service.
package scimapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/jsonval"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
	"github.com/scimd/scimd/server/scimdoc"
	"github.com/scimd/scimd/server/tenantrate"
)

func init() {
	// Entra sends booleans as "True"/"False" unless its tenant URL carries
	// aadOptscim062020; accept both, as elimity can once told to.
	schema.SetAllowStringValues(allowStringValues)
}

// MaxResults is the largest page a list request gets.
const MaxResults = 200

// Options configure the SCIM edge.
type Options struct {
	// PublicURL is the externally visible base URL (scheme://host[:port]),
	// used for meta.location; empty derives it from each request.
	PublicURL string
	// Timeout bounds the work of one request against the store.
	Timeout time.Duration
	// DisableFastPath sends every list request through elimity's filter
	// parser; tests use it to check the fast path answers the same.
	DisableFastPath bool
	// RateLimit is the requests per second one tenant may make to this
	// process (0: no limit); RateBurst the bucket size (0: one second's worth).
	RateLimit float64
	RateBurst int
	// RateLimitShared counts RateLimit across every replica, in Redis (one
	// more round trip per request), instead of in this process.
	RateLimitShared bool
	// Scan bounds the cost of filters without an index (on by default).
	Scan ScanBudget
	// MaxFilterLength bounds the filter parameter; 0 means 2048 bytes (a request line is at most 4 KiB anyway).
	MaxFilterLength int
}

// API serves /scim/v2/{tenant}/...
type API struct {
	svc     *provision.Service
	limiter *tenantrate.Limiter
	scans   *scanGate
	opts    Options
	users   scim.ResourceType
	groups  scim.ResourceType
	// userPatch and groupPatch validate PATCH bodies as elimity would.
	userPatch, groupPatch *patchValidator
	// userCreate is elimity's schema for validating a user body, built
	// once; userRules the same read for the common body (validate.go).
	userCreate schema.Schema
	userRules  resourceRules
	// userSchemas is a user's "schemas" as JSON, for the answers written
	// from stored documents.
	userSchemas []byte
	servers     sync.Map // base URL -> scim.Server; bounded by maxServers
	nserver     int
	mu          sync.Mutex
}

type (
	tenantKey  struct{}
	baseKey    struct{}
	slotKey    struct{}
	requestKey struct{}
)

// requestValues carries a request's id (requestKey) and error slot
// (slotKey) in one context, where two WithValue calls made two.
type requestValues struct {
	context.Context
	id   any
	slot *errSlot
}

func (c *requestValues) Value(key any) any {
	switch key.(type) {
	case requestKey:
		return c.id
	case slotKey:
		return c.slot
	}
	return c.Context.Value(key)
}

// withRequest is ctx with the request's id, from Fiber's locals, and slot.
func withRequest(ctx context.Context, c *fiber.Ctx, slot *errSlot) context.Context {
	return &requestValues{Context: ctx, id: c.Locals("requestid"), slot: slot}
}

// New returns the SCIM edge over svc.
func New(svc *provision.Service, opts Options) *API {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxFilterLength <= 0 {
		opts.MaxFilterLength = 2048
	}
	a := &API{svc: svc, opts: opts, limiter: tenantrate.New(opts.RateLimit, opts.RateBurst), scans: newScanGate(opts.Scan)}
	a.scans.shared = svc.TakeScanRecords
	a.users = scim.ResourceType{
		ID:          optional.NewString("User"),
		Name:        "User",
		Endpoint:    "/Users",
		Description: optional.NewString("User Account"),
		Schema:      userSchema(),
		SchemaExtensions: []scim.SchemaExtension{
			{Schema: schema.ExtensionEnterpriseUser()},
		},
		Handler: users{api: a},
	}
	a.groups = scim.ResourceType{
		ID:          optional.NewString("Group"),
		Name:        "Group",
		Endpoint:    "/Groups",
		Description: optional.NewString("Group"),
		Schema:      groupSchema(),
		Handler:     groups{api: a},
	}
	a.userPatch, a.groupPatch = newPatchValidator(a.users), newPatchValidator(a.groups)
	a.userCreate = createSchema(a.users.Schema)
	a.userRules = newResourceRules(a.users, a.userCreate)
	a.userSchemas, _ = jsonval.Marshal(resourceSchemas(a.users)) // strings: never fails
	return a
}

// userSchema is the core User schema without password: passwords are never
// stored, so the published schema does not offer one; groups as scimd
// serves them (userGroupsAttribute).
func userSchema() schema.Schema {
	s := schema.CoreUserSchema()
	attrs := make([]schema.CoreAttribute, 0, len(s.Attributes))
	for _, attr := range s.Attributes {
		switch attr.Name() {
		case "password":
		case "groups":
			attrs = append(attrs, userGroupsAttribute())
		default:
			attrs = append(attrs, attr)
		}
	}
	s.Attributes = attrs
	return s
}

// groupSchema is the core Group schema as scimd keeps it: members are users
// (a group as a member is refused), and a member's display is not kept, so
// it is not published either (deriving it would read every member's user).
func groupSchema() schema.Schema {
	s := schema.CoreGroupSchema()
	s.Attributes = []schema.CoreAttribute{
		s.Attributes[0], // displayName
		schema.ComplexCoreAttribute(schema.ComplexParams{
			Description: optional.NewString("A list of members of the Group: users."),
			MultiValued: true,
			Name:        "members",
			SubAttributes: []schema.SimpleParams{
				schema.SimpleStringParams(schema.StringParams{
					Description: optional.NewString("Identifier of the member of this Group: a user's id."),
					Mutability:  schema.AttributeMutabilityImmutable(),
					Name:        "value",
				}),
				schema.SimpleReferenceParams(schema.ReferenceParams{
					Description:    optional.NewString("The URI of the member user."),
					Mutability:     schema.AttributeMutabilityImmutable(),
					Name:           "$ref",
					ReferenceTypes: []schema.AttributeReferenceType{"User"},
				}),
				schema.SimpleStringParams(schema.StringParams{
					CanonicalValues: []string{"User"},
					Description:     optional.NewString("The type of the member: always User (nested groups are not supported)."),
					Mutability:      schema.AttributeMutabilityImmutable(),
					Name:            "type",
				}),
			},
		}),
	}
	return s
}

// Register mounts the SCIM routes on r.
func (a *API) Register(r fiber.Router) {
	r.All("/scim/v2/:tenant", a.serve)
	r.All("/scim/v2/:tenant/*", a.serve)
}

func (a *API) serve(c *fiber.Ctx) error {
	tenant := strings.Clone(c.Params("tenant"))
	rest := "/" + c.Params("*") // a new string: nothing of Fiber's buffer
	err := a.serveSCIM(c, tenant, rest)
	if known, _ := c.Locals(knownTenantKey{}).(bool); known {
		// Only a tenant that exists has a status: anonymous requests naming
		// made-up tenants would otherwise fill the counts (and the Redis
		// writes of every flush) that real tenants need.
		a.observe(c, tenant, rest, err)
	}
	return err
}

// knownTenantKey marks a request whose tenant exists (authenticated, or
// refused a token that is not the tenant's).
type knownTenantKey struct{}

func (a *API) serveSCIM(c *fiber.Ctx, tenant, rest string) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()

	c.Set("Content-Type", "application/scim+json")
	token, ok := bearer(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return unauthorized(c)
	}
	err := a.svc.AuthenticateSCIM(ctx, tenant, token)
	c.Locals(knownTenantKey{}, err == nil || errors.Is(err, provision.ErrWrongToken))
	if err != nil {
		if provision.KindOf(err) == provision.KindUnauthorized {
			return unauthorized(c)
		}
		return sendError(c, scimerrors.ScimError{Status: http.StatusServiceUnavailable, Detail: "the directory store is unavailable; try again later"}, httpstatus.UnavailableRetry)
	}

	if ok, wait := a.allow(ctx, tenant); !ok {
		return sendError(c, scimerrors.ScimError{Status: http.StatusTooManyRequests,
			Detail: "too many requests for this tenant; retry after the time in Retry-After"}, int(math.Ceil(wait.Seconds())))
	}
	// Only now, authenticated and within its rate, may the caller make
	// scimd read its body; c.Body() and the adaptor see what Read kept.
	if _, err := reqbody.Read(c); err != nil {
		return err
	}
	if len(c.Request().URI().QueryArgs().Peek("filter")) > a.opts.MaxFilterLength {
		e := scimerrors.ScimErrorInvalidFilter
		e.Detail = "the filter is longer than this server accepts"
		return sendError(c, e, 0)
	}

	base := a.baseURL(c, tenant)
	slot := &errSlot{}
	c.Locals(slotKey{}, slot)

	if !utf8.Valid(c.Body()) {
		// JSON decoding would silently turn each bad byte into U+FFFD,
		// storing a value nobody sent.
		return sendError(c, errInvalidUTF8, 0)
	}
	if discovery(rest) && c.Method() != fiber.MethodGet {
		// elimity would answer a POST or PUT here with its own default
		// configuration, contradicting what GET says.
		c.Set(fiber.HeaderAllow, fiber.MethodGet)
		return sendError(c, scimerrors.ScimError{Status: http.StatusMethodNotAllowed, Detail: "discovery endpoints answer only GET"}, 0)
	}
	if rest == "/ServiceProviderConfig" && c.Method() == fiber.MethodGet {
		return c.Status(http.StatusOK).JSON(serviceProviderConfig(base), "application/scim+json")
	}
	if types, root, search, ok := a.listRoute(c.Method(), rest); ok {
		if !root && !search && !a.opts.DisableFastPath {
			if handled, err := a.fastList(ctx, c, rest, tenant, base, slot); handled {
				return err
			}
		}
		return a.list(c, types, root, search, tenant, base, slot)
	}
	if !a.opts.DisableFastPath {
		if handled, err := a.fastResource(ctx, c, rest, tenant, base, slot); handled {
			return err
		}
		if handled, err := a.memberPatch(ctx, c, rest, tenant, slot); handled {
			return err
		}
	}
	// Only the paths below read the tenant and base from Fiber's locals
	// (elimity's handlers, through the adaptor's context): the fast paths
	// above are spared boxing them.
	c.Locals(tenantKey{}, tenant)
	c.Locals(baseKey{}, base)
	if err := a.normalize(c, rest); err != nil {
		return err
	}
	if c.Response().StatusCode() != http.StatusOK || len(c.Response().Body()) > 0 {
		return nil // normalize answered the request itself
	}
	if c.Method() == fiber.MethodPatch && !a.opts.DisableFastPath {
		if handled, err := a.patch(c, rest, tenant, base, slot); handled {
			return err
		}
	}
	adaptor.HTTPHandler(a.server(base))(c)
	if slot.set {
		return sendError(c, slot.err, slot.retryAfter)
	}
	if c.Method() == fiber.MethodGet {
		notModified(c)
		if rest == "/Schemas" || rest == "/ResourceTypes" {
			countPage(c)
		}
	}
	return nil
}

// normalize rewrites the request into the form elimity accepts: the path
// without the tenant prefix, Entra's filter and PATCH dialect, and request
// bodies without passwords. It answers itself when elimity cannot.
func (a *API) normalize(c *fiber.Ctx, rest string) error {
	q := c.Request().URI().QueryArgs()
	if f := q.Peek("filter"); len(f) > 0 {
		q.Set("filter", scimdoc.NormalizeFilter(string(f)))
	}
	body := c.Body()
	switch c.Method() {
	case fiber.MethodPatch:
		out, empty, err := scimdoc.NormalizePatchBody(body)
		if err != nil {
			return sendError(c, scimerrors.ScimErrorInvalidSyntax, 0)
		}
		if !empty && strings.HasPrefix(rest, "/Users/") {
			var d []string
			if out, d, empty = a.userPatch.dropUnknown(out); len(d) > 0 {
				c.Locals(droppedKey{}, d)
			}
		}
		if empty {
			// A user's is answered as a GET, below; anything else here.
			if err := a.emptyPatch(c, rest); err != nil || c.Method() != fiber.MethodGet {
				return err
			}
			break
		}
		c.Request().SetBody(out)
	case fiber.MethodPost, fiber.MethodPut:
		if strings.HasPrefix(rest, "/Groups") {
			if d := dropped(body, knownGroup); len(d) > 0 {
				c.Locals(droppedKey{}, d)
			}
			if groupWrite(c.Method(), rest) {
				out, err := scimdoc.NormalizeGroupBody(body)
				if err != nil {
					return sendError(c, scimerrors.ScimErrorInvalidSyntax, 0)
				}
				c.Request().SetBody(out)
			}
		}
		if strings.HasPrefix(rest, "/Users") {
			if d := dropped(body, knownUser); len(d) > 0 {
				c.Locals(droppedKey{}, d)
			}
			out, err := scimdoc.NormalizeResourceBody(body)
			if err != nil {
				return sendError(c, scimerrors.ScimErrorInvalidSyntax, 0)
			}
			c.Request().SetBody(out)
		}
	}
	uri := rest
	if qs := q.String(); qs != "" {
		uri += "?" + qs
	}
	c.Request().SetRequestURI(uri)
	return nil
}

// groupWrite tells a POST /Groups or a PUT /Groups/{id}, whose bodies are
// groups; any other route keeps the answer elimity's router gives it.
func groupWrite(method, rest string) bool {
	if method == fiber.MethodPost {
		return rest == "/Groups"
	}
	id, ok := strings.CutPrefix(rest, "/Groups/")
	if !ok {
		return false
	}
	id, err := url.PathUnescape(id) // as elimity's router reads it
	return err == nil && id != "" && id != ".search" && !strings.Contains(id, "/")
}

// emptyPatch answers a PATCH with no operations, which elimity rejects: it
// changes nothing, so users answer with the resource as a GET would, and
// groups with 204 as every group PATCH does.
func (a *API) emptyPatch(c *fiber.Ctx, rest string) error {
	if strings.HasPrefix(rest, "/Users/") {
		c.Request().Header.SetMethod(fiber.MethodGet)
		c.Method(fiber.MethodGet) // Fiber keeps its own copy
		c.Request().SetBody(nil)
		return nil
	}
	if id, ok := strings.CutPrefix(rest, "/Groups/"); ok && id != "" {
		ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
		defer cancel()
		if _, err := a.svc.GetGroup(ctx, c.Locals(tenantKey{}).(string), id, false); err != nil {
			return a.fastError(c, ctx, err)
		}
		c.Status(http.StatusNoContent)
		c.Response().ResetBody()
		c.Response().Header.Del("Content-Type")
		return nil
	}
	return sendError(c, scimerrors.ScimErrorInvalidPath, 0)
}

// maxServers bounds the cache of elimity servers, whose key derives from
// the Host header when no public URL is configured.
const maxServers = 256

func (a *API) server(base string) scim.Server {
	if s, ok := a.servers.Load(base); ok {
		return s.(scim.Server)
	}
	s, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			MaxResults:       MaxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{a.users, a.groups},
	}, scim.WithBaseURL(base))
	if err != nil {
		panic("scimapi: server arguments: " + err.Error()) // static arguments: a bug
	}
	a.mu.Lock()
	if a.nserver < maxServers {
		a.nserver++
		a.servers.Store(base, s)
	}
	a.mu.Unlock()
	return s
}

// discovery tells whether rest is one of the read-only discovery endpoints.
func discovery(rest string) bool {
	for _, p := range []string{"/ServiceProviderConfig", "/Schemas", "/ResourceTypes"} {
		if rest == p || strings.HasPrefix(rest, p+"/") {
			return true
		}
	}
	return false
}

func (a *API) baseURL(c *fiber.Ctx, tenant string) string {
	root := a.opts.PublicURL
	if root == "" {
		root = c.Protocol() + "://" + string(c.Request().Host())
	}
	return strings.TrimRight(root, "/") + "/scim/v2/" + url.PathEscape(tenant)
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(c *fiber.Ctx) error {
	return sendError(c, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "a valid bearer token for this tenant is required"}, 0)
}

// sendError writes a SCIM error response, replacing whatever was written.
// errInvalidUTF8 answers a body that is not valid UTF-8.
var errInvalidUTF8 = scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidSyntax, Status: http.StatusBadRequest,
	Detail: "the request body is not valid UTF-8"}

func sendError(c *fiber.Ctx, e scimerrors.ScimError, retryAfter int) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if retryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, retryAfterHeader(retryAfter))
	}
	c.Response().Header.Del(fiber.HeaderETag)
	c.Response().Header.Del(fiber.HeaderLocation)
	if e.Status == http.StatusUnauthorized {
		// RFC 9110 §11.6.1: every 401 carries a challenge.
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="scimd"`)
	}
	c.Set("Content-Type", "application/scim+json")
	c.Status(e.Status)
	c.Response().SetBodyRaw(bytes.Clone(body))
	return nil
}

// SendError writes a SCIM error for errors raised in front of the SCIM edge
// (body too large, unknown route, panics) so clients always get SCIM JSON.
func SendError(c *fiber.Ctx, status int, detail string) error {
	return sendError(c, scimerrors.ScimError{Status: status, Detail: detail}, 0)
}

func serviceProviderConfig(base string) map[string]any {
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/scimd/scimd#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "The tenant's SCIM token in an Authorization: Bearer header.",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	}
}

func tenantOf(r *http.Request) string {
	t, _ := r.Context().Value(tenantKey{}).(string)
	return t
}

func baseOf(r *http.Request) string {
	b, _ := r.Context().Value(baseKey{}).(string)
	return b
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// reqContext gives a handler a context with a deadline that also carries the
// request's values (elimity hands us fasthttp's context, which never ends).
func (a *API) reqContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx := context.WithValue(context.Background(), slotKey{}, r.Context().Value(slotKey{}))
	id := r.Context().Value(requestKey{}) // the fast paths' own contexts
	if id == nil {
		id = r.Context().Value("requestid") // Fiber's locals, through fasthttp's context
	}
	ctx = context.WithValue(ctx, requestKey{}, id)
	return context.WithTimeout(ctx, a.opts.Timeout)
}
