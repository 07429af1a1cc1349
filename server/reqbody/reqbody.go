// Package reqbody is the one way scimd reads a request's body: within the
// route's limit, never decoded, and only once the caller is authenticated.
//
// The listener streams request bodies (fasthttp's StreamRequestBody), so no
// body is buffered before a handler asks for it; a handler that asked
// fasthttp or Fiber directly (c.Body(), Request().Body(), PostBody, the
// net/http adaptor) would read all of it, whatever its size. So the edges
// call Read after authentication; from then on c.Body() and the adaptor see
// the bytes Read kept. Guard notices a body consumed any other way.
package reqbody

import (
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

type (
	limitKey struct{}
	readKey  struct{}
)

// ErrTooLarge is the answer to a body over its route's limit.
var ErrTooLarge = fiber.ErrRequestEntityTooLarge

// ErrEncoded is the answer to a request body with a content coding: scimd
// does not decompress request bodies (a few hundred compressed bytes can
// expand to gigabytes), and no identity provider it serves compresses them.
var ErrEncoded = fiber.NewError(http.StatusUnsupportedMediaType, "request bodies with a Content-Encoding are not accepted; send the body uncompressed")

// errUnreadable is the answer to a body that broke off or was badly framed.
var errUnreadable = fiber.NewError(http.StatusBadRequest, "the request body could not be read")

// StrayRead is called when a handler consumed a request's body without
// Read, which bypasses the limit. It logs the route; tests replace it to
// fail. Set it before serving.
var StrayRead = func(c *fiber.Ctx) {
	slog.Error("request body read outside reqbody.Read: its size was not bounded", "method", c.Method(), "route", c.Route().Path)
}

// Guard comes before every route. It refuses a body with a content coding
// (415, with Accept-Encoding: identity as RFC 7694 asks), sets limit as the
// route's limit until Limit says otherwise, and after the handler reports a
// body consumed without Read to StrayRead.
func Guard(limit int) fiber.Handler {
	boxed := any(limit) // boxing an int past 255 allocates: once, not per request
	return func(c *fiber.Ctx) error {
		if encoded(c) {
			c.Set(fiber.HeaderAcceptEncoding, "identity")
			return ErrEncoded
		}
		c.Locals(limitKey{}, boxed)
		streamed := c.Request().IsBodyStream()
		err := c.Next()
		if streamed && !c.Request().IsBodyStream() && c.Locals(readKey{}) == nil {
			StrayRead(c)
		}
		return err
	}
}

// Limit sets the body limit of the route it is registered on, ahead of the
// handler that calls Read: the migration preflight's user exports are larger
// than anything else scimd is sent.
func Limit(limit int) fiber.Handler {
	boxed := any(limit)
	return func(c *fiber.Ctx) error {
		c.Locals(limitKey{}, boxed)
		return c.Next()
	}
}

// encoded reports whether any Content-Encoding header names a coding other
// than identity. Every header line counts: Fiber's c.Body() would apply the
// last one, stacked codings included. PeekAll (header names are normalized)
// reuses the header's buffer where ranging over Header.All allocated twice
// a request.
func encoded(c *fiber.Ctx) bool {
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderContentEncoding) {
		for _, coding := range strings.Split(string(v), ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				return true
			}
		}
	}
	return false
}

// DefaultLimit is the body limit where Guard did not run (an edge mounted
// on an app of its own, in tests): scimd's default --body-limit.
const DefaultLimit = 1 << 20

// Read returns the request's body, reading it on the first call, up to the
// route's limit (Guard's, or Limit's). Later calls, and c.Body(), return
// what the request holds then. It returns ErrTooLarge beyond the limit
// (without reading further) and a 400 for a body that breaks off; both are
// *fiber.Error for the app's error handler to render.
func Read(c *fiber.Ctx) ([]byte, error) {
	req := c.Request()
	if c.Locals(readKey{}) != nil {
		return req.Body(), nil
	}
	c.Locals(readKey{}, true)
	limit, ok := c.Locals(limitKey{}).(int)
	if !ok {
		limit = DefaultLimit
	}
	n := req.Header.ContentLength()
	if n > limit {
		return nil, ErrTooLarge
	}
	if !req.IsBodyStream() {
		// Not streamed (an app without streaming, a body a test set):
		// already in memory, so only the limit is left to check.
		if len(req.Body()) > limit {
			return nil, ErrTooLarge
		}
		return req.Body(), nil
	}
	body, err := readStream(req.BodyStream(), n, limit)
	// SetBodyRaw closes the stream: fasthttp drains what is left of it
	// after the answer, or closes the connection when that is too much.
	req.SetBodyRaw(body)
	return body, err
}

// readStream reads a body of n bytes (-1: chunked, length unknown) of at
// most limit bytes.
func readStream(r io.Reader, n, limit int) ([]byte, error) {
	if n >= 0 {
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, errUnreadable
		}
		return body, nil
	}
	// limit+1 tells a chunked body of exactly limit bytes from a longer one.
	body, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	switch {
	case len(body) > limit:
		return nil, ErrTooLarge
	case err != nil:
		return nil, errUnreadable
	}
	return body, nil
}
