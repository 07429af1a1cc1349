// Package accessapi is the decision API: the platform asks it for users'
// stored effective access (decided on write by the resolver, read here in
// one Redis round trip), with decision tokens that read decisions and
// nothing else. Errors are RFC 9457 problems.
package accessapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/adminapi"
	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
	"github.com/scimd/scimd/server/tenantrate"
)

// Options configure the decision API.
type Options struct {
	// Timeout bounds the store work of one request (of one page of an
	// export); 0 means 10s.
	Timeout time.Duration
	// RateLimit is the requests a second one tenant's decision readers may
	// make to this process (0: no limit); RateBurst the bucket (0: one
	// second's worth). A batch or an export counts as one request.
	RateLimit float64
	RateBurst int
	// WriteTimeout is how long writing one page of an export may take (the
	// server's write timeout, renewed per page); 0 means 30s.
	WriteTimeout time.Duration
	// ExportPage is how many users an export reads from Redis at a time; 0
	// means 500.
	ExportPage int
}

// API serves /access/v1/...
type API struct {
	svc     *provision.Service
	opts    Options
	limiter *tenantrate.Limiter
}

// New returns the decision API over svc.
func New(svc *provision.Service, opts Options) *API {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.ExportPage <= 0 {
		opts.ExportPage = 500
	}
	return &API{svc: svc, opts: opts, limiter: tenantrate.New(opts.RateLimit, opts.RateBurst)}
}

// Root is the prefix of every route of the decision API.
const Root = "/access/v1/tenants/:tenant"

// BatchBodyLimit bounds a batch request's body: 1,000 ids of a few dozen
// bytes fit many times over, so that 1,001 ids are a 400 (too many), not a 413.
const BatchBodyLimit = 256 << 10

// Register mounts the decision routes on r.
func (a *API) Register(r fiber.Router) {
	r.Get(Root+"/users.ndjson", a.auth, a.export)
	r.Get(Root+"/users", a.auth, a.lookup)
	r.Post(Root+"/users/batch", reqbody.Limit(BatchBodyLimit), a.auth, a.batch)
	r.Get(Root+"/users/:id", a.auth, a.get)
}

// queryParams lists the query parameters each route reads; any other is a
// 400 naming it (a typo such as ?username= must not look like "no such user").
var queryParams = map[string][]string{
	Root + "/users":   {"userName", "externalId"},
	Root + "/changes": {"after", "timeout", "limit"},
}

type readerKey struct{}

// auth admits the tenant's decision tokens and platform decision tokens,
// nothing else, then takes one request from the tenant's rate and reads the
// body (within the route's limit) for the handler.
func (a *API) auth(c *fiber.Ctx) error {
	tenant := adminapi.Param(c, "tenant")
	token, _ := adminapi.Bearer(c.Get(fiber.HeaderAuthorization))
	// A token checked a moment ago needs no store, so no context (a timer).
	who, ok := a.svc.CachedDecisionReader(tenant, token)
	if !ok {
		ctx, cancel := a.ctx()
		var err error
		who, err = a.svc.AuthenticateDecision(ctx, tenant, token)
		cancel()
		if err != nil {
			if provision.KindOf(err) == provision.KindUnauthorized {
				c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="scimd-access"`)
				return adminapi.Problem(c, http.StatusUnauthorized, "a decision token of this tenant, or a platform decision token, is required")
			}
			return fail(c, err)
		}
	}
	if ok, wait := a.limiter.Allow(tenant, time.Now()); !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return adminapi.Problem(c, http.StatusTooManyRequests, fmt.Sprintf("this tenant's decision reads are limited to %g a second; try again later", a.opts.RateLimit))
	}
	known := queryParams[c.Route().Path]
	for k := range c.Request().URI().QueryArgs().All() {
		if len(k) > 0 && !slices.Contains(known, string(k)) {
			return adminapi.Problem(c, http.StatusBadRequest, "unknown query parameter "+strconv.Quote(string(k)))
		}
	}
	c.Locals(readerKey{}, who)
	if _, err := reqbody.Read(c); err != nil {
		return err
	}
	return c.Next()
}

// sendJSON answers body, JSON the handler wrote (see encode.go).
func sendJSON(c *fiber.Ctx, body []byte) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

func (a *API) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.opts.Timeout)
}

// get answers one user's decision, with its ETag: from this process's
// decision cache when it holds it (no round trip, no context), else from
// Redis.
func (a *API) get(c *fiber.Ctx) error {
	tenant, id := adminapi.Param(c, "tenant"), adminapi.Param(c, "id")
	if d, ok := a.svc.CachedDecision(tenant, id); ok {
		return one(c, d)
	}
	ctx, cancel := a.ctx()
	defer cancel()
	d, err := a.svc.Decision(ctx, tenant, id)
	if err != nil {
		return fail(c, err)
	}
	return one(c, d)
}

// one answers a single decision: 304 when If-None-Match holds its ETag.
// The body is written into the response's own buffer, which fasthttp
// reuses from request to request.
func one(c *fiber.Ctx, d provision.Decision) error {
	if d.ETag != "" {
		var buf [96]byte
		tag := append(append(append(buf[:0], '"'), d.ETag...), '"')
		c.Response().Header.SetBytesV(fiber.HeaderETag, tag)
		if matches(c.Request().Header.Peek(fiber.HeaderIfNoneMatch), tag) {
			return c.SendStatus(http.StatusNotModified)
		}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	res := c.Response()
	body := res.SwapBody(nil)[:0]
	if n := decisionLen(d); cap(body) < n {
		body = make([]byte, 0, n)
	}
	res.SwapBody(appendDecision(body, d))
	return nil
}

// matches reports whether an If-None-Match header names tag (weakly, as
// RFC 9110 §13.1.2 compares for GET) or is "*".
func matches(header, tag []byte) bool {
	for len(header) > 0 {
		var t []byte
		if i := bytes.IndexByte(header, ','); i >= 0 {
			t, header = header[:i], header[i+1:]
		} else {
			t, header = header, nil
		}
		t = bytes.TrimPrefix(bytes.TrimSpace(t), []byte("W/"))
		if string(t) == "*" || bytes.Equal(t, tag) {
			return true
		}
	}
	return false
}

// lookup finds decisions by userName (one user: userNames are unique) or
// by externalId (a list: externalIds are not).
func (a *API) lookup(c *fiber.Ctx) error {
	q := c.Request().URI().QueryArgs()
	userName, byName := string(q.Peek("userName")), q.Has("userName")
	externalID, byExt := string(q.Peek("externalId")), q.Has("externalId")
	ctx, cancel := a.ctx()
	defer cancel()
	switch {
	case byName == byExt:
		return adminapi.Problem(c, http.StatusBadRequest, "give exactly one of userName and externalId")
	case byName && userName == "", byExt && externalID == "":
		return adminapi.Problem(c, http.StatusBadRequest, "the userName or externalId to look up is empty")
	case byName:
		d, err := a.svc.DecisionByUserName(ctx, adminapi.Param(c, "tenant"), userName)
		if err != nil {
			return fail(c, err)
		}
		return one(c, d)
	}
	ds, more, err := a.svc.DecisionsByExternalID(ctx, adminapi.Param(c, "tenant"), externalID)
	if err != nil {
		return fail(c, err)
	}
	b := append(appendDecisions(append(make([]byte, 0, 256*len(ds)+32), `{"decisions":`...), ds), `,"more":`...)
	return sendJSON(c, append(strconv.AppendBool(b, more), '}'))
}

// batch answers up to provision.MaxDecisionList users' decisions at once.
func (a *API) batch(c *fiber.Ctx) error {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := adminapi.DecodeStrict(c.Body(), &in); err != nil {
		return adminapi.Problem(c, http.StatusBadRequest, `the body must be {"ids": ["user id", ...]}: `+err.Error())
	}
	if len(in.IDs) > provision.MaxDecisionList {
		return adminapi.Problem(c, http.StatusBadRequest, fmt.Sprintf("a batch asks for at most %d users (this one %d)", provision.MaxDecisionList, len(in.IDs)))
	}
	ctx, cancel := a.ctx()
	defer cancel()
	b, err := a.svc.Decisions(ctx, adminapi.Param(c, "tenant"), in.IDs)
	if err != nil {
		return fail(c, err)
	}
	out := appendDecisions(append(make([]byte, 0, 256*len(b.Decisions)+64), `{"decisions":`...), b.Decisions)
	out = appendStrings(append(out, `,"missing":`...), b.Missing)
	out = appendStrings(append(out, `,"pending":`...), b.Pending)
	return sendJSON(c, append(out, '}'))
}

// export streams every user's decision as NDJSON, in creation order, a
// page at a time (memory bounded by the page). The first page is read
// before answering, so that an unknown tenant or an unreachable store is a
// proper error status; a later failure ends the stream with an error line
// and a broken connection, never a body that looks complete. Each page's
// store work has the request timeout and its writing the write timeout, so
// a large export runs as long as it makes progress; it stops when the
// client goes away or the server shuts down.
func (a *API) export(c *fiber.Ctx) error {
	tenant := adminapi.Param(c, "tenant")
	ctx, cancel := a.ctx()
	first, next, done, err := a.svc.DecisionPage(ctx, tenant, "", a.opts.ExportPage)
	cancel()
	if err != nil {
		return fail(c, err)
	}
	c.Set(fiber.HeaderContentType, "application/x-ndjson")
	fctx := c.Context()
	conn := fctx.Conn()
	stop := fctx.Done()
	fctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		var line []byte
		page := first
		for {
			_ = conn.SetWriteDeadline(time.Now().Add(a.opts.WriteTimeout))
			for _, d := range page {
				line = append(appendDecision(line[:0], d), '\n')
				if _, err := w.Write(line); err != nil {
					return
				}
			}
			if w.Flush() != nil || done {
				return
			}
			select {
			case <-stop:
				a.abort(w, conn, tenant, http.StatusServiceUnavailable, "the server is shutting down; export again", nil)
				return
			default:
			}
			var err error
			ctx, cancel := a.ctx()
			page, next, done, err = a.svc.DecisionPage(ctx, tenant, next, a.opts.ExportPage)
			cancel()
			if err != nil {
				a.abort(w, conn, tenant, http.StatusServiceUnavailable, "the export broke off: the directory store failed; export again", err)
				return
			}
		}
	})
	return nil
}

// abort ends a broken export: an error line for the reader of the lines,
// then the connection closed before the chunked body's end, so that an
// HTTP client sees the body incomplete too.
func (a *API) abort(w *bufio.Writer, conn interface{ Close() error }, tenant string, status int, detail string, err error) {
	if err != nil {
		slog.Warn("decision export broke off", "tenant", tenant, "err", err)
	}
	line, _ := json.Marshal(fiber.Map{"error": fiber.Map{"status": status, "detail": detail}})
	_, _ = w.Write(append(line, '\n'))
	_ = w.Flush()
	_ = conn.Close()
}

// fail maps a service error to a problem; unknown errors are logged and
// answered without detail.
func fail(c *fiber.Ctx, err error) error {
	var pe *provision.Error
	if !errors.As(err, &pe) {
		slog.Error("internal error", "err", err)
		return adminapi.Problem(c, http.StatusInternalServerError, "internal error")
	}
	status := httpstatus.Of(pe.Kind)
	if status == http.StatusInternalServerError {
		slog.Error("internal error", "err", err)
		return adminapi.Problem(c, status, "internal error")
	}
	if pe.Kind == provision.KindUnavailable {
		// 1 s, as this API always answered (the other edges say 5): a
		// decision read is cheap to retry.
		c.Set(fiber.HeaderRetryAfter, "1")
	} else if s := httpstatus.RetryAfter(pe); s > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(s))
	}
	return adminapi.Problem(c, status, pe.Detail)
}
