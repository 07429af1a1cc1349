package scimapi

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// notModified turns a 200 answer to a GET into 304 Not Modified when the
// request's If-None-Match names the resource's current ETag (RFC 7232
// §3.2: weak comparison, `*` matches any), so a client polling a resource
// it already holds gets no body.
func notModified(c *fiber.Ctx) {
	inm := c.Get(fiber.HeaderIfNoneMatch)
	if inm == "" {
		return
	}
	etag := string(c.Response().Header.Peek(fiber.HeaderETag))
	if etag == "" || c.Response().StatusCode() != http.StatusOK {
		return
	}
	if !etagListMatches(inm, etag) {
		return
	}
	c.Status(http.StatusNotModified)
	c.Response().ResetBody()
	c.Response().Header.Del(fiber.HeaderContentType)
}

// etagListMatches compares each entity tag of list with etag, weakly.
func etagListMatches(list, etag string) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}
