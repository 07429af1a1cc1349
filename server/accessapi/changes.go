package accessapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/adminapi"
	"github.com/scimd/scimd/server/feed"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/reqbody"
)

// ChangesOptions configure the change feed's routes.
type ChangesOptions struct {
	// Timeout bounds each Redis read of a request; 0 means 10s.
	Timeout time.Duration
	// MaxWait caps a long poll's timeout; 0 means 60s.
	MaxWait time.Duration
	// Heartbeat is how often an idle event stream gets a comment, so that
	// proxies keep it and clients notice a dead one; 0 means 15s.
	Heartbeat time.Duration
	// WriteTimeout bounds each write of an event stream to its client; 0
	// means 30s.
	WriteTimeout time.Duration
}

// Changes serves GET /access/v1/tenants/{t}/changes: the tenant's change
// feed by cursor (long poll) or as Server-Sent Events, to the decision
// API's readers.
type Changes struct {
	hub  *feed.Hub
	opts ChangesOptions
	// allowed re-checks a stream's token: an event stream has no end of
	// its own, so a revoked token (or a deleted tenant) must end it.
	allowed func(ctx context.Context, tenant, token string) error
}

// RegisterChanges mounts the change feed's route on r, over hub, behind
// the decision API's authentication and rate.
func (a *API) RegisterChanges(r fiber.Router, hub *feed.Hub, opts ChangesOptions) {
	h := newChanges(hub, opts)
	h.allowed = func(ctx context.Context, tenant, token string) error {
		_, err := a.svc.AuthenticateDecision(ctx, tenant, token)
		return err
	}
	r.Get(Root+"/changes", reqbody.Limit(0), a.auth, a.tenantKnown, h.changes)
}

// tenantKnown answers 404 when a platform decision token asks for the feed
// of a tenant that does not exist, as the decision routes do, rather than an
// empty feed that looks like a quiet tenant (a tenant's own decision token
// proves the tenant exists).
func (a *API) tenantKnown(c *fiber.Ctx) error {
	if who, _ := c.Locals(readerKey{}).(provision.DecisionReader); who.Platform {
		ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
		defer cancel()
		if err := a.svc.TenantExists(ctx, adminapi.Param(c, "tenant")); err != nil {
			return fail(c, err)
		}
	}
	return c.Next()
}

func newChanges(hub *feed.Hub, opts ChangesOptions) *Changes {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 60 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	return &Changes{hub: hub, opts: opts}
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// changesQuery is a parsed request of the feed.
type changesQuery struct {
	after string
	wait  time.Duration
	limit int
}

func (h *Changes) parse(c *fiber.Ctx, stream bool) (changesQuery, string) {
	q := changesQuery{limit: defaultLimit}
	for k, v := range c.Request().URI().QueryArgs().All() {
		switch string(k) {
		case "after":
			q.after = string(v)
		case "timeout":
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 0 {
				return q, "timeout must be a whole number of seconds, 0 or more"
			}
			q.wait = min(time.Duration(n)*time.Second, h.opts.MaxWait)
		case "limit":
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 1 || n > maxLimit {
				return q, "limit must be a whole number from 1 to " + strconv.Itoa(maxLimit)
			}
			q.limit = n
		}
	}
	if stream {
		// An EventSource resumes with Last-Event-ID, which wins over the
		// after it was first opened with.
		if id := c.Get("Last-Event-ID"); id != "" {
			q.after = id
		}
	}
	if q.after != "" && !feed.ValidCursor(q.after) {
		return q, "the cursor " + strconv.Quote(truncate(q.after)) + " is not a feed cursor: pass the next (or id) of an earlier answer, or nothing to start at the oldest retained change"
	}
	return q, ""
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

func (h *Changes) changes(c *fiber.Ctx) error {
	stream := acceptsEvents(c.Get(fiber.HeaderAccept))
	q, bad := h.parse(c, stream)
	if bad != "" {
		return adminapi.Problem(c, http.StatusBadRequest, bad)
	}
	tenant := strings.Clone(c.Params("tenant"))
	if stream {
		token, _ := adminapi.Bearer(c.Get(fiber.HeaderAuthorization))
		return h.stream(c, tenant, strings.Clone(token), q)
	}
	return h.poll(c, tenant, q)
}

// acceptsEvents reports whether the client asked for an event stream.
func acceptsEvents(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
			return true
		}
	}
	return false
}

// poll answers the entries after the cursor, waiting up to q.wait for the
// first when there are none.
func (h *Changes) poll(c *fiber.Ctx, tenant string, q changesQuery) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.Timeout)
	es, floor, err := h.hub.Range(ctx, tenant, q.after, q.limit)
	cancel()
	if err != nil {
		return h.fail(c, err)
	}
	next := q.after
	if next == "" {
		// Nothing was read: the next poll starts after what was trimmed.
		next = floor
		if next == "" {
			next = "0-0"
		}
	}
	if len(es) > 0 || q.wait == 0 {
		return sendChanges(c, es, next)
	}
	release, err := h.hub.OpenStream(tenant)
	if err != nil {
		return h.fail(c, err)
	}
	defer release()
	wctx, cancel := context.WithTimeout(context.Background(), q.wait)
	defer cancel()
	sub, err := h.hub.Subscribe(wctx, tenant)
	if errors.Is(err, context.DeadlineExceeded) {
		return sendChanges(c, nil, next)
	}
	if err != nil {
		return h.fail(c, err)
	}
	defer sub.Close()
	for {
		rctx, cancel := context.WithTimeout(context.Background(), h.opts.Timeout)
		es, err := sub.Read(rctx, next, q.limit)
		cancel()
		if err != nil {
			return h.fail(c, err)
		}
		if len(es) > 0 {
			return sendChanges(c, es, next)
		}
		select {
		case <-sub.Wake():
		case <-wctx.Done():
			return sendChanges(c, nil, next)
		case <-h.hub.Done():
			return sendChanges(c, nil, next)
		}
	}
}

// sendChanges writes {"changes":[...],"next":"..."}; next is the cursor to
// pass when es is empty.
func sendChanges(c *fiber.Ctx, es []feed.Entry, next string) error {
	var b bytes.Buffer
	b.WriteString(`{"changes":[`)
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(feed.EntryJSON(e))
		next = e.ID
	}
	b.WriteString(`],"next":`)
	b.WriteString(strconv.Quote(next))
	b.WriteString("}\n")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b.Bytes())
}

// stream serves the feed as Server-Sent Events: each entry an event whose
// id is its cursor, a comment every Heartbeat, until the client leaves or
// the hub stops, or its token no longer reads the tenant (checked about
// every Heartbeat).
func (h *Changes) stream(c *fiber.Ctx, tenant, token string, q changesQuery) error {
	release, err := h.hub.OpenStream(tenant)
	if err != nil {
		return h.fail(c, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.Timeout)
	first, _, err := h.hub.Range(ctx, tenant, q.after, q.limit)
	var sub *feed.Sub
	if err == nil {
		sub, err = h.hub.Subscribe(ctx, tenant)
	}
	cancel()
	if err != nil {
		release()
		return h.fail(c, err)
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set("X-Accel-Buffering", "no") // nginx would buffer the stream
	fctx := c.Context()
	cursor := q.after
	hub, opts, limit, allowed := h.hub, h.opts, q.limit, h.allowed
	fctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer release()
		defer sub.Close()
		// Every write gets its own deadline: the server's is set once per
		// response and would end a stream after WriteTimeout.
		flush := func() bool {
			if err := fctx.SetWriteDeadline(time.Now().Add(opts.WriteTimeout)); err != nil {
				return false
			}
			return w.Flush() == nil // an error: the client is gone
		}
		send := func(es []feed.Entry) bool {
			for _, e := range es {
				writeEvent(w, e)
				cursor = e.ID
			}
			return flush()
		}
		// The comment makes the client see the response at once.
		w.WriteString(": scimd change feed\n\n")
		if !send(first) {
			return
		}
		checked := time.Now()
		beat := time.NewTicker(opts.Heartbeat)
		defer beat.Stop()
		for {
			if allowed != nil && time.Since(checked) >= opts.Heartbeat {
				actx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
				err := allowed(actx, tenant, token)
				cancel()
				// Only a refusal ends the stream: a store that cannot
				// answer now is asked again at the next check.
				if provision.KindOf(err) == provision.KindUnauthorized {
					w.WriteString("event: revoked\ndata: {\"detail\":\"the stream's token no longer reads this tenant's changes\"}\n\n")
					flush()
					return
				}
				if err == nil {
					checked = time.Now()
				}
			}
			rctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
			es, err := sub.Read(rctx, cursor, limit)
			cancel()
			switch {
			case errors.Is(err, feed.ErrCursorExpired):
				w.WriteString("event: gone\ndata: {\"detail\":\"the stream fell out of the feed's retention: re-export, then follow from the export's cursor\"}\n\n")
				flush()
				return
			case err != nil:
				slog.Warn("feed: event stream read failed; retrying", "tenant", tenant, "err", err)
			case len(es) > 0:
				if !send(es) {
					return
				}
				if len(es) == limit {
					continue // more may be waiting without a wake
				}
			}
			select {
			case <-sub.Wake():
			case <-beat.C:
				w.WriteString(": heartbeat\n\n")
				if !flush() {
					return
				}
			case <-hub.Done():
				return
			}
		}
	})
	return nil
}

// writeEvent writes one event: id, then the entry as data lines (JSON has
// no newline outside whitespace, but a line break would end the event).
func writeEvent(w *bufio.Writer, e feed.Entry) {
	w.WriteString("id: ")
	w.WriteString(e.ID)
	w.WriteByte('\n')
	for _, line := range bytes.Split(bytes.TrimSpace(e.Entry), []byte("\n")) {
		w.WriteString("data: ")
		w.Write(bytes.TrimRight(line, "\r"))
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

func (h *Changes) fail(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, feed.ErrCursorExpired):
		return adminapi.Problem(c, http.StatusGone, "the cursor is older than the change feed's retention: changes after it were trimmed. Re-export the decisions, then follow the feed from the export's cursor")
	case errors.Is(err, feed.ErrBadCursor):
		return adminapi.Problem(c, http.StatusBadRequest, "the cursor is not a feed cursor")
	case errors.Is(err, feed.ErrTooManyStreams):
		c.Set(fiber.HeaderRetryAfter, "5")
		return adminapi.Problem(c, http.StatusTooManyRequests, "this tenant holds as many open change streams and waiting polls as it may; close one or poll with timeout=0")
	case errors.Is(err, feed.ErrBusy), errors.Is(err, feed.ErrStopped):
		c.Set(fiber.HeaderRetryAfter, "5")
		return adminapi.Problem(c, http.StatusServiceUnavailable, "this server cannot open another change stream now; try again")
	case errors.Is(err, feed.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		c.Set(fiber.HeaderRetryAfter, "5")
		return adminapi.Problem(c, http.StatusServiceUnavailable, "the store is unavailable; try again")
	}
	return fail(c, err)
}
