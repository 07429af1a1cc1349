package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// usersPerPage is the users one page of the list shows.
const usersPerPage = 50

// usersQuery is the users list's search and filters, as the URL carries them.
type usersQuery struct {
	Q       string // the search text
	By      string // "userName" (a prefix), "email" or "employeeNumber" (exact)
	Managed string // "", "scim" or "manual"
	Active  string // "", "true" or "false"
	Page    int    // 1-based
	// From is where a filtered walk goes on (see scanBudget).
	From int
}

// scanBudget bounds the users one page of a filter without a search
// reads: such a filter walks the users in creation order, and a page
// ends after this many, with a link to go on, however rare the matches.
const scanBudget = 1000

// walks says the list filters without an index to start from.
func (q usersQuery) walks() bool { return q.Q == "" && (q.Managed != "" || q.Active != "") }

func (q usersQuery) link(page int) template.URL {
	return q.linkFrom(page, 0)
}

func (q usersQuery) linkFrom(page, from int) template.URL {
	v := url.Values{}
	if from > 0 {
		v.Set("from", strconv.Itoa(from))
	}
	for k, s := range map[string]string{"q": q.Q, "by": q.By, "managed": q.Managed, "active": q.Active} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	// Encode escapes every value: the link is safe as it stands.
	return template.URL(Root + "/users?" + v.Encode())
}

type userRow struct {
	provision.UserFields
	ID, ManagedBy string
	Active        bool
}

type usersView struct {
	Query       usersQuery
	Rows        []userRow
	Total       int
	First, Last int // 1-based positions of the rows shown
	Prev, Next  template.URL
	Error       string
	// Walked says the rows come from a filtered walk, which read users
	// From+1 to To of Total.
	Walked        bool
	From, To      int
	FirstPageLink template.URL
}

func parseUsersQuery(c *fiber.Ctx) (usersQuery, string) {
	q := usersQuery{Q: strings.TrimSpace(c.Query("q")), By: c.Query("by", "userName"), Managed: c.Query("managed"), Active: c.Query("active"), Page: 1}
	switch {
	case q.By != "userName" && q.By != "email" && q.By != "employeeNumber":
		return q, "Search by userName, email or employee ID."
	case q.Managed != "" && q.Managed != "scim" && q.Managed != "manual":
		return q, "Managed by is SCIM or manual."
	case q.Active != "" && q.Active != "true" && q.Active != "false":
		return q, "Status is active or inactive."
	}
	if f := c.Query("from"); f != "" {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return q, "The page is not one this list has."
		}
		q.From = n
	}
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			return q, "The page number is not one this list has."
		}
		q.Page = n
	}
	return q, ""
}

// listQuery is the service query for the list: the search goes through an
// index (a userName prefix, or an exact work email or employee ID: never a
// substring scan), the filters keep the users that match.
func (q usersQuery) listQuery() provision.ListQuery[provision.User] {
	lq := provision.ListQuery[provision.User]{StartIndex: (q.Page-1)*usersPerPage + 1, Count: usersPerPage}
	var match []func(provision.User) bool
	if q.Q != "" {
		lq.Indexed = true
		switch q.By {
		case "email":
			lq.Lookups = []provision.Lookup{{Attr: provision.LookupWorkEmail, Value: q.Q}}
			match = append(match, func(u provision.User) bool { return strings.EqualFold(provision.WorkEmail(u.Attrs), q.Q) })
		case "employeeNumber":
			lq.Lookups = []provision.Lookup{{Attr: provision.LookupEmployeeNumber, Value: q.Q}}
			match = append(match, func(u provision.User) bool { return u.Fields().EmployeeNumber == q.Q })
		default:
			lq.Lookups = []provision.Lookup{{Attr: provision.LookupUserNamePrefix, Value: q.Q}}
		}
	}
	if q.Managed != "" {
		match = append(match, func(u provision.User) bool { return u.ManagedBy == q.Managed })
	}
	if q.Active != "" {
		want := q.Active == "true"
		match = append(match, func(u provision.User) bool { return u.Active == want })
	}
	if len(match) > 0 {
		lq.Match = func(u provision.User) bool {
			for _, m := range match {
				if !m(u) {
					return false
				}
			}
			return true
		}
	}
	return lq
}

// users lists the tenant's users, a page at a time; htmx asks for the
// results alone as the admin types.
func (cs *Console) users(c *fiber.Ctx) error {
	q, bad := parseUsersQuery(c)
	v := usersView{Query: q, Error: bad}
	status := http.StatusOK
	switch {
	case bad != "":
		status = http.StatusBadRequest
	case q.walks():
		ctx, cancel := cs.ctx()
		defer cancel()
		lq := q.listQuery()
		scan, err := cs.svc.ScanUsersFrom(ctx, sessionOf(c).Tenant, q.From, usersPerPage, scanBudget, lq.Match)
		if err != nil {
			return cs.fail(c, err)
		}
		v.Walked, v.From, v.To, v.Total = true, q.From, scan.Next, scan.Total
		for _, u := range scan.Users {
			v.Rows = append(v.Rows, userRow{UserFields: u.Fields(), ID: u.ID, ManagedBy: u.ManagedBy, Active: u.Active})
		}
		if !scan.Done {
			v.Next = q.linkFrom(1, scan.Next)
		}
		if q.From > 0 {
			v.FirstPageLink = q.link(1)
		}
	default:
		ctx, cancel := cs.ctx()
		defer cancel()
		page, err := cs.svc.ListUsers(ctx, sessionOf(c).Tenant, q.listQuery())
		if err != nil {
			return cs.fail(c, err)
		}
		v.Total = page.Total
		for _, u := range page.Resources {
			v.Rows = append(v.Rows, userRow{UserFields: u.Fields(), ID: u.ID, ManagedBy: u.ManagedBy, Active: u.Active})
		}
		if len(v.Rows) > 0 {
			v.First = (q.Page-1)*usersPerPage + 1
			v.Last = v.First + len(v.Rows) - 1
		}
		if q.Page > 1 {
			v.Prev = q.link(q.Page - 1)
		}
		if v.Last < v.Total {
			v.Next = q.link(q.Page + 1)
		}
	}
	if partial(c) {
		return cs.fragment(c, status, "users", "results", v)
	}
	return cs.render(c, status, "users", v)
}

// partial says an htmx request asks for a fragment (not a history
// restore, which needs the whole page).
func partial(c *fiber.Ctx) bool {
	return c.Get("HX-Request") != "" && c.Get("HX-History-Restore-Request") == ""
}
