package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/storage"
)

// logAnswer is a page of GET access/log.
type logAnswer struct {
	Entries    []storage.AccessLogEntry
	NextCursor string
}

func (h *harness) accessLog(tn tenant, query string) logAnswer {
	h.t.Helper()
	var out logAnswer
	h.do(http.MethodGet, adminPath(tn)+"/access/log?"+query, tn.AdminToken, nil).want(200).decode(&out)
	return out
}

// TestAccessLogSampled: with --access-log-sample 1 every re-resolution is
// in the log, traced to the stored decision (input hash, revision,
// generation, ETag) and its cause, the log kept to its bound and paged
// newest first, one user's at a time if asked; with 0 nothing is.
func TestAccessLogSampled(t *testing.T) {
	for name, u := range backends(t) {
		for _, sample := range []float64{1, 0} {
			t.Run(name+"/"+map[float64]string{1: "all", 0: "none"}[sample], func(t *testing.T) {
				h := newResolverHarnessWith(t, u, testEngine(t), storage.Options{AccessLogMaxLen: 4}, access.Options{LogSample: sample})
				tn := h.newTenant(10)
				var users []string
				for _, n := range []string{"ann", "ben", "cy"} {
					users = append(users, h.scimUser(tn, n))
				}
				h.settle(tn)
				admins := h.do(http.MethodPost, adminPath(tn)+"/groups", tn.AdminToken, map[string]any{"displayName": "Admins"}).want(201).json()["id"].(string)
				h.do(http.MethodPut, adminPath(tn)+"/groups/"+admins+"/grants", tn.AdminToken, map[string]any{"grants": []any{
					map[string]any{"scope": "enterprise", "role": "Enterprise Admin"}}}).want(200)
				h.settle(tn)
				h.do(http.MethodPatch, adminPath(tn)+"/groups/"+admins, tn.AdminToken, map[string]any{"addMembers": users[:2]}).want(200)
				h.settle(tn)

				all := h.accessLog(tn, "count=1000")
				if sample == 0 {
					if len(all.Entries) != 0 || all.NextCursor != "" {
						t.Fatalf("sample 0 logged %+v", all)
					}
					return
				}
				// Five re-resolutions at least (three creates, two
				// memberships), the newest four kept.
				if len(all.Entries) != 4 || all.NextCursor != "" {
					t.Fatalf("log %+v, want 4 entries and no cursor", all)
				}
				// One user's entries, newest first: her membership (her
				// creation may be the one trimmed).
				ann := h.accessLog(tn, "user="+url.QueryEscape(users[0]))
				if len(ann.Entries) == 0 {
					t.Fatal("no entry for ann")
				}
				for _, e := range ann.Entries {
					if e.User != users[0] {
						t.Errorf("ann's page holds %+v", e)
					}
				}
				// The newest traces the stored decision; the one that
				// changed it names the membership.
				e, rec := ann.Entries[0], h.decision(tn, users[0])
				if e.InputHash != rec.InputHash || e.Revision != rec.Revision || e.Generation != rec.Generation || e.Stale ||
					e.New == nil || e.New.ETag != rec.ETag || e.New.Enterprise != "Enterprise Admin" || e.New.Accounts != 0 || !e.New.Active {
					t.Errorf("ann's newest entry %+v (new %+v), decision %+v", e, e.New, rec)
				}
				var joined *storage.AccessLogEntry
				for i := range ann.Entries {
					if ann.Entries[i].Changed {
						joined = &ann.Entries[i]
						break
					}
				}
				if joined == nil || joined.Cause.Kind != "membership" || joined.Cause.ID != admins || joined.Generation != joined.Cause.Generation ||
					joined.Old == nil || joined.Old.Enterprise != "" || joined.Old.ETag == rec.ETag || joined.New == nil || joined.New.ETag != rec.ETag {
					t.Errorf("ann's entries %+v: none changed her decision by the membership", ann.Entries)
				}
				// cy joined no group: her entries are decisions made before
				// the membership, and name her.
				cy := h.accessLog(tn, "user="+url.QueryEscape(users[2]))
				for _, c := range cy.Entries {
					if c.User != users[2] || c.New == nil || c.Generation >= e.Generation || c.Cause.Kind == "membership" {
						t.Errorf("cy's entry %+v", c)
					}
				}
				// Pages of one, newest first, reach the same entries.
				var paged []string
				for cursor, i := "", 0; i < 6; i++ {
					p := h.accessLog(tn, "count=1&cursor="+cursor)
					for _, e := range p.Entries {
						paged = append(paged, e.ID)
					}
					if cursor = p.NextCursor; cursor == "" {
						break
					}
				}
				if len(paged) != 4 || paged[0] != all.Entries[0].ID || paged[3] != all.Entries[3].ID {
					t.Errorf("paged %v, want the ids of %+v", paged, all.Entries)
				}

				other := h.newTenant(1)
				h.do(http.MethodGet, adminPath(tn)+"/access/log", other.AdminToken, nil).want(401)
				h.do(http.MethodGet, "/admin/v1/tenants/no-such-tenant/access/log", operatorToken, nil).want(404)
				h.do(http.MethodGet, adminPath(tn)+"/access/log?count=0", tn.AdminToken, nil).want(400)
				h.do(http.MethodGet, adminPath(tn)+"/access/log?cursor=nope", tn.AdminToken, nil).want(400)
			})
		}
	}
}
