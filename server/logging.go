package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/scimd/scimd/server/access"
)

// requestIDLocal is where the request id sits in Fiber's locals; the edges
// read it under this name, as Fiber's requestid middleware stored it.
const requestIDLocal = "requestid"

type requestIDKey struct{}

// requestIDFrom returns the request id ctx carries: the one observe put in
// the user context, or Fiber's local when ctx is the request's fasthttp
// context (as the SCIM edge's net/http requests are).
func requestIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	id, _ := ctx.Value(requestIDLocal).(string)
	return id
}

// LogHandler wraps h so that a record logged with a request's context
// carries the request's id as request_id, unless it names one itself.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" && !hasAttr(r, "request_id") {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}

// requestID keeps a client's X-Request-ID when it is a plain token (a proxy
// in front may have set it, and it ties the logs together); anything else
// could smuggle text into the logs, so it gets a fresh id instead.
func requestID(given string) string {
	if len(given) == 0 || len(given) > 64 {
		return utils.UUID()
	}
	for i := 0; i < len(given); i++ {
		b := given[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':') {
			return utils.UUID()
		}
	}
	return strings.Clone(given) // Fiber's strings die with the request
}

// observe is the outermost middleware. It gives the request its id (in the
// X-Request-ID response header, Fiber's locals and the user context), lets
// the error handler render any error so the status is final, then records
// the request's metrics and writes its access log line. The line holds the
// method, route template, status, duration, request id and tenant id:
// never headers, query strings or bodies, which carry tokens and personal data.
// A SCIM request counts in edge (nil: none) while it is served.
func observe(m *Metrics, edge *access.Edge) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		id := requestID(c.Get(fiber.HeaderXRequestID))
		c.Set(fiber.HeaderXRequestID, id)
		// Boxed once for both: each boxing of a string allocates.
		var boxed any = id
		c.Locals(requestIDLocal, boxed)
		ctx := context.WithValue(c.UserContext(), requestIDKey{}, boxed)
		c.SetUserContext(ctx)
		path := c.Path()
		api, route := classify(path)
		tenant := tenantOf(path)
		if api == apiSCIM && edge != nil {
			// The resolver waits while SCIM requests are in flight.
			edge.Enter()
			defer edge.Leave()
		}

		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				slog.ErrorContext(ctx, "error handler failed", "err", herr)
				c.Status(fiber.StatusInternalServerError)
			}
		}

		switch api {
		case apiAdmin:
			route = adminRoute(c.Route().Path)
		case apiAccess:
			route = templateRoute("/access/", c.Route().Path)
		}
		status := c.Response().StatusCode()
		method := methodLabel(c.Method())
		elapsed := time.Since(start)
		m.observeRequest(api, route, method, status, elapsed)

		level := slog.LevelInfo
		if api == apiHealth {
			level = slog.LevelDebug // probes and scrapes every few seconds would drown the rest
		}
		// Room for the tenant too, so that appending it does not allocate.
		var room [6]slog.Attr
		attrs := append(room[:0],
			slog.String("request_id", id),
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		)
		if tenant != "" {
			attrs = append(attrs, slog.String("tenant", tenant))
		}
		slog.LogAttrs(ctx, level, "request", attrs...)
		return nil
	}
}

// tenantOf returns the tenant id a SCIM or admin path names, if any. Ids
// are chosen by the operator and safe to log; an absurdly long one is cut.
func tenantOf(path string) string {
	var rest string
	if r, ok := strings.CutPrefix(path, "/scim/v2/"); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(path, "/admin/v1/tenants/"); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(path, "/access/v1/tenants/"); ok {
		rest = r
	} else {
		return ""
	}
	t, _, _ := strings.Cut(rest, "/")
	if len(t) > 128 {
		t = t[:128]
	}
	return strings.Clone(t)
}
