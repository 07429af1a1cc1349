package adminapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// queryParams lists, by route, the query parameters the admin API reads;
// every other route reads none. Unlike SCIM (where Entra sends parameters of
// its own and they must be ignored), an admin parameter nobody reads is a
// typo the caller should hear about: ?activ=false must not list everyone.
var queryParams = map[string][]string{
	tenantsPath + "/:tenant/users":      {"startIndex", "count", "userName", "managedBy", "active"},
	tenantsPath + "/:tenant/groups":     {"startIndex", "count", "displayName"},
	tenantsPath + "/:tenant/audit":      {"targetId", "targetType", "action", "source", "actor", "cursor", "count", "since", "until"},
	tenantsPath + "/:tenant/access/log": {"user", "cursor", "count"},
}

// checkQuery answers 400 naming the first query parameter the route does
// not read, and false then; c is within a route (c.Route() is its template).
func checkQuery(c *fiber.Ctx) bool {
	known := queryParams[c.Route().Path]
	var unknown string
	for k := range c.Request().URI().QueryArgs().All() {
		if len(k) == 0 || slices.Contains(known, string(k)) {
			continue
		}
		unknown = string(k)
		break
	}
	if unknown == "" {
		return true
	}
	detail := "unknown query parameter " + quote(unknown) + ": this route reads none"
	if len(known) > 0 {
		detail = "unknown query parameter " + quote(unknown) + ": this route reads " + strings.Join(known, ", ")
	}
	_ = Problem(c, http.StatusBadRequest, detail)
	return false
}

// quote shows a client's name escaped and bounded, for a detail.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}
