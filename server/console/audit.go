package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// auditPerPage is the events one page of the audit log shows.
const auditPerPage = 50

// auditForm is the audit log's filters as the URL carries them; times are
// UTC, as a datetime-local input gives them ("2026-12-06T10:00").
type auditForm struct {
	Actor, Action, Source, Target, Since, Until, Cursor string
}

type auditView struct {
	Form   auditForm
	Events []provision.StoredEvent
	Older  template.URL
	Error  string
}

const localTime = "2006-01-02T15:04"

func parseLocal(s string) (time.Time, error) {
	if len(s) == len(localTime)+3 {
		return time.Parse(localTime+":05", s) // with seconds
	}
	return time.Parse(localTime, s)
}

func (f auditForm) link(cursor string) template.URL {
	v := url.Values{}
	for k, s := range map[string]string{"actor": f.Actor, "action": f.Action, "source": f.Source, "target": f.Target, "since": f.Since, "until": f.Until, "cursor": cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	// Encode escapes every value: the link is safe as it stands.
	return template.URL(Root + "/audit?" + v.Encode())
}

// audit pages through the tenant's audit log, newest first, filtered by
// who (an admin token's name, "operator"), what (the action), source and
// time, through the same service call as the admin API.
func (cs *Console) audit(c *fiber.Ctx) error {
	f := auditForm{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")), Source: c.Query("source"),
		Target: strings.TrimSpace(c.Query("target")), Since: c.Query("since"), Until: c.Query("until"), Cursor: c.Query("cursor")}
	v := auditView{Form: f}
	q := provision.AuditQuery{Actor: f.Actor, Action: f.Action, Source: f.Source, TargetID: f.Target, Cursor: f.Cursor, Count: auditPerPage}
	var err error
	switch {
	case f.Source != "" && !provision.ValidAuditSource(f.Source):
		v.Error = "Source is SCIM, admin or access resolver."
	case f.Since != "" && func() bool { q.Since, err = parseLocal(f.Since); return err != nil }():
		v.Error = "From must be a date and time, such as 2026-12-06T10:00."
	case f.Until != "" && func() bool { q.Until, err = parseLocal(f.Until); return err != nil }():
		v.Error = "To must be a date and time, such as 2026-12-06T18:00."
	}
	if v.Error != "" {
		return cs.render(c, http.StatusBadRequest, "audit", v)
	}
	if !q.Until.IsZero() && len(f.Until) == len(localTime) {
		q.Until = q.Until.Add(time.Minute - time.Millisecond) // the whole minute
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	page, err := cs.svc.Audit(ctx, sessionOf(c).Tenant, q)
	if provision.KindOf(err) == provision.KindInvalid {
		v.Error = "That page of the log is not one this console gave out; start from the newest."
		return cs.render(c, http.StatusBadRequest, "audit", v)
	}
	if err != nil {
		return cs.fail(c, err)
	}
	v.Events = page.Events
	if page.NextCursor != "" {
		v.Older = f.link(page.NextCursor)
	}
	if partial(c) {
		return cs.fragment(c, http.StatusOK, "audit", "results", v)
	}
	return cs.render(c, http.StatusOK, "audit", v)
}
