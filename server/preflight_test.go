package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
)

// migrationIdP is the identity provider's side of TestPreflight, as JSON
// and as Entra's CSV export (BOM, quoted commas and quotes, extra columns).
var migrationIdP = map[string]any{"users": []map[string]any{
	{"userPrincipalName": "Ann@X.test", "displayName": "Smith, Ann", "mail": "ann@x.test", "employeeId": "E1", "accountEnabled": true, "jobTitle": "Editor"},
	{"userPrincipalName": "bob@corp.test", "mail": "BOB@x.test", "accountEnabled": "True"},
	{"userPrincipalName": "cy@corp.test", "employeeId": "E3", "accountEnabled": "Yes"},
	{"userPrincipalName": "dee@x.test", "mail": "dee@x.test", "accountEnabled": "true"},
	{"userPrincipalName": "eve@corp.test", "mail": " eve@x.test", "employeeId": nil},
	{"UserPrincipalName": "sam@x.test", "AccountEnabled": "TRUE", "@odata.type": "#microsoft.graph.user"},
	{"userPrincipalName": "new@corp.test", "accountEnabled": "False"},
}}

const migrationCSV = "\ufeffuserPrincipalName,Display Name,mail,employeeId,accountEnabled,jobTitle\r\n" +
	"Ann@X.test,\"Smith, Ann\",ann@x.test,E1,True,\"Editor, \"\"Night\"\"\"\r\n" +
	"bob@corp.test,Bob,BOB@x.test,,True,\r\n" +
	"cy@corp.test,Cy,,E3,Yes,\r\n" +
	"dee@x.test,Dee,dee@x.test,,true,\r\n" +
	"eve@corp.test,Eve,\" eve@x.test\",,True,\r\n" +
	"sam@x.test,Sam,,,True,\r\n" +
	"new@corp.test,New,,,False,\r\n"

// TestPreflight: a preflight reports links, conflicts, near misses,
// unmatched manual users, seats and groups without grants, from JSON and
// CSV alike, and changes nothing; finalize applies the setting, audited and
// idempotent.
func TestPreflight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		admin := adminPath(tn)
		h.setMode(tn, map[string]any{"mode": "manual"})
		id := func(u map[string]any) string { return u["id"].(string) }
		m1 := id(h.manualUser(tn, map[string]any{"userName": "ann@x.test", "email": "ann@x.test", "employeeNumber": "E1", "givenName": "Ann", "familyName": "Smith", "active": true}))
		m2 := id(h.manualUser(tn, map[string]any{"userName": "bob.local", "email": "bob@x.test"}))
		m3 := id(h.manualUser(tn, map[string]any{"userName": "cy.local", "employeeNumber": "E3", "active": false}))
		m4 := id(h.manualUser(tn, map[string]any{"userName": "dee.local", "email": "dee@x.test"}))
		m5 := id(h.manualUser(tn, map[string]any{"userName": "dee@x.test"}))
		m6 := id(h.manualUser(tn, map[string]any{"userName": "eve.local", "email": "eve@x.test"}))
		m7 := id(h.manualUser(tn, map[string]any{"userName": "left@x.test"}))
		s1 := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("sam@x.test")).want(201).json()["id"].(string)
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("old@x.test")).want(201)
		group := func(name string) string {
			return h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name,
			}).want(201).json()["id"].(string)
		}
		granted, bare := group("Admins"), group("Readers")
		h.do(http.MethodPut, admin+"/groups/"+granted+"/grants", tn.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "enterprise", "role": "Enterprise Admin"}}}).want(200)

		auditLen := func() int {
			t.Helper()
			return len(asList(h.do(http.MethodGet, admin+"/audit?count=1000", tn.AdminToken, nil).want(200).json()["events"]))
		}
		version := func(uid string) any {
			t.Helper()
			return h.do(http.MethodGet, admin+"/users/"+uid, tn.AdminToken, nil).want(200).json()["version"]
		}
		eventsBefore, versionBefore := auditLen(), version(m1)

		rep := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, migrationIdP, "Content-Type", "application/json").want(200).json()
		eq(t, auditLen(), eventsBefore)
		eq(t, version(m1), versionBefore)

		wantCounts := map[string]any{
			"idpUsers": 7.0, "enabledIdpUsers": 6.0, "manualUsers": 7.0, "links": 3.0, "creates": 2.0, "conflicts": 1.0,
			"alreadyProvisioned": 1.0, "nearMisses": 1.0, "unmatchedManualUsers": 4.0, "groupsWithoutGrants": 1.0,
		}
		if d := cmp.Diff(wantCounts, rep["counts"]); d != "" {
			t.Errorf("counts (-want +got):\n%s", d)
		}
		wantSeats := map[string]any{
			"limit": 10.0, "inUse": 8.0, "needed": 11.0, "shortfall": 1.0,
			"enabledIdpUsers": 6.0, "manualUsersKeptActive": 4.0, "otherActiveScimUsers": 1.0, "reactivatedByLinks": 1.0,
		}
		if d := cmp.Diff(wantSeats, rep["seats"]); d != "" {
			t.Errorf("seats (-want +got):\n%s", d)
		}
		var links []string
		for _, l := range asList(rep["links"]) {
			links = append(links, fmt.Sprintf("%v -> %v by %v (%v)", path(l, "idpUser"), path(l, "id"), path(l, "identifier"), path(l, "value")))
		}
		if d := cmp.Diff([]string{
			"Ann@X.test -> " + m1 + " by userName (Ann@X.test)",
			"bob@corp.test -> " + m2 + " by email (BOB@x.test)",
			"cy@corp.test -> " + m3 + " by employeeNumber (E3)",
		}, links); d != "" {
			t.Errorf("links (-want +got):\n%s", d)
		}
		eq(t, path(rep, "links", 0, "userName"), "ann@x.test")
		eq(t, path(rep, "links", 2, "active"), false)
		eq(t, path(rep, "links", 2, "enabled"), true)

		eq(t, path(rep, "conflicts", 0, "idpUser"), "dee@x.test")
		eq(t, path(rep, "conflicts", 0, "reason"), "ambiguous")
		eq(t, path(rep, "conflicts", 0, "users", 0, "id"), m5)
		eq(t, path(rep, "conflicts", 0, "users", 0, "identifier"), "userName")
		eq(t, path(rep, "conflicts", 0, "users", 1, "id"), m4)
		eq(t, path(rep, "conflicts", 0, "users", 1, "identifier"), "email")

		eq(t, path(rep, "alreadyProvisioned", 0, "idpUser"), "sam@x.test")
		eq(t, path(rep, "alreadyProvisioned", 0, "id"), s1)

		eq(t, path(rep, "nearMisses", 0, "idpUser"), "eve@corp.test")
		eq(t, path(rep, "nearMisses", 0, "identifier"), "email")
		eq(t, path(rep, "nearMisses", 0, "idpValue"), " eve@x.test")
		eq(t, path(rep, "nearMisses", 0, "userValue"), "eve@x.test")
		eq(t, path(rep, "nearMisses", 0, "id"), m6)
		eq(t, path(rep, "nearMisses", 0, "difference"), "whitespace")

		var unmatched []string
		for _, u := range asList(rep["unmatchedManualUsers"]) {
			unmatched = append(unmatched, fmt.Sprintf("%v %v conflict=%v near=%v", path(u, "id"), path(u, "outcome"), path(u, "inConflict"), path(u, "nearMiss")))
		}
		if d := cmp.Diff([]string{
			m4 + " kept conflict=true near=<nil>", m5 + " kept conflict=true near=<nil>",
			m6 + " kept conflict=<nil> near=true", m7 + " kept conflict=<nil> near=<nil>",
		}, unmatched); d != "" {
			t.Errorf("unmatched (-want +got):\n%s", d)
		}
		eq(t, len(asList(rep["groupsWithoutGrants"])), 1)
		eq(t, path(rep, "groupsWithoutGrants", 0, "id"), bare)
		eq(t, path(rep, "groupsWithoutGrants", 0, "displayName"), "Readers")
		eq(t, rep["unmatchedUsers"], "keep")

		// The same list as Entra's CSV export gives the same answer.
		csvRep := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, migrationCSV, "Content-Type", "text/csv; charset=utf-8").want(200).json()
		if d := cmp.Diff(rep["counts"], csvRep["counts"]); d != "" {
			t.Errorf("CSV counts differ from JSON (-json +csv):\n%s", d)
		}
		if d := cmp.Diff(rep["seats"], csvRep["seats"]); d != "" {
			t.Errorf("CSV seats differ from JSON (-json +csv):\n%s", d)
		}
		eq(t, path(csvRep, "links", 0, "row"), "line 2")
		eq(t, path(rep, "links", 0, "row"), "users[0]")
		eq(t, path(csvRep, "nearMisses", 0, "idpValue"), " eve@x.test")
		// A bare JSON array, Graph's {"value": [...]} and a semicolon CSV too.
		bareRep := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, migrationIdP["users"], "Content-Type", "application/json").want(200).json()
		eq(t, cmp.Diff(rep["counts"], bareRep["counts"]), "")
		graph := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, map[string]any{"@odata.context": "x", "value": migrationIdP["users"]}, "Content-Type", "application/json").want(200).json()
		eq(t, cmp.Diff(rep["counts"], graph["counts"]), "")
		semi := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, "userPrincipalName;mail\nann@x.test;ann@x.test\n", "Content-Type", "text/csv").want(200).json()
		eq(t, path(semi, "counts", "links"), 1.0)
		eq(t, auditLen(), eventsBefore)

		// With "deactivate", the same manual users are reported as deactivated.
		h.setMode(tn, map[string]any{"unmatchedUsers": "deactivate"})
		deact := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, migrationIdP, "Content-Type", "application/json").want(200).json()
		eq(t, path(deact, "unmatchedManualUsers", 3, "outcome"), "deactivated")
		eq(t, path(deact, "seats", "needed"), 7.0)
		eq(t, path(deact, "seats", "shortfall"), 0.0)
		h.setMode(tn, map[string]any{"unmatchedUsers": "keep"})

		// Finalize with "keep" changes no user and records the act.
		seats := func() any {
			return h.do(http.MethodGet, admin+"/license", tn.AdminToken, nil).want(200).json()["seatsUsed"]
		}
		fin := h.do(http.MethodPost, admin+"/provisioning/finalize", tn.AdminToken, nil).want(200).json()
		if d := cmp.Diff(map[string]any{"setting": "keep", "deactivated": 0.0, "kept": 6.0}, fin); d != "" {
			t.Errorf("finalize keep (-want +got):\n%s", d)
		}
		eq(t, seats(), 8.0)
		eq(t, version(m7), 1.0)

		// The IdP links Ann; then finalize with "deactivate" frees the seats
		// of the manual users left, each deactivation audited with the admin.
		linked := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("Ann@X.test")).want(201).json()
		eq(t, linked["id"], m1)
		h.setMode(tn, map[string]any{"unmatchedUsers": "deactivate"})
		fin = h.do(http.MethodPost, admin+"/provisioning/finalize", tn.AdminToken, nil).want(200).json()
		if d := cmp.Diff(map[string]any{"setting": "deactivate", "deactivated": 5.0, "kept": 0.0}, fin); d != "" {
			t.Errorf("finalize deactivate (-want +got):\n%s", d)
		}
		eq(t, seats(), 3.0)
		for _, uid := range []string{m2, m4, m5, m6, m7} {
			eq(t, h.do(http.MethodGet, admin+"/users/"+uid, tn.AdminToken, nil).json()["active"], false)
		}
		eq(t, h.do(http.MethodGet, admin+"/users/"+m1, tn.AdminToken, nil).json()["active"], true)
		offs := asList(h.do(http.MethodGet, admin+"/audit?action=user.deactivate", tn.AdminToken, nil).want(200).json()["events"])
		eq(t, len(offs), 5)
		eq(t, path(offs[0], "actor", "name"), "tenant-admin")
		eq(t, path(offs[0], "source"), "admin")
		eq(t, path(offs[0], "changes", 0, "attribute"), "active")
		sums := asList(h.do(http.MethodGet, admin+"/audit?action=provisioning.finalize", tn.AdminToken, nil).want(200).json()["events"])
		eq(t, len(sums), 2)
		eq(t, path(sums, 0, "targetId"), tn.ID)
		eq(t, path(sums, 0, "actor", "name"), "tenant-admin")

		// Twice is safe: nothing is left to deactivate.
		fin = h.do(http.MethodPost, admin+"/provisioning/finalize", tn.AdminToken, nil).want(200).json()
		eq(t, fin["deactivated"], 0.0)
		eq(t, seats(), 3.0)
		eq(t, len(asList(h.do(http.MethodGet, admin+"/audit?action=user.deactivate", tn.AdminToken, nil).json()["events"])), 5)

		// After the migration, the IdP user Ann is already provisioned.
		after := h.do(http.MethodPost, admin+"/preflight", tn.AdminToken, migrationIdP, "Content-Type", "application/json").want(200).json()
		eq(t, path(after, "counts", "alreadyProvisioned"), 2.0)
		eq(t, path(after, "counts", "links"), 2.0)
	})
}

// TestPreflightRefusals: bad lists are 400 problems naming what is wrong,
// never 500; a type it cannot read is 415.
func TestPreflightRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		pf := adminPath(tn) + "/preflight"
		for _, tc := range []struct {
			name, contentType, token string
			body                     any
			status                   int
			detail                   string
		}{
			{"empty array", "application/json", tn.AdminToken, "[]", 400, "empty"},
			{"empty users", "application/json", tn.AdminToken, `{"users": []}`, 400, "empty"},
			{"empty body", "application/json", tn.AdminToken, "", 400, "body is empty"},
			{"no identifiers", "application/json", tn.AdminToken, `[{"mail": "a@x"}, {"displayName": "Nobody", "mail": " "}]`, 400, "[1]: the user has none of userPrincipalName, mail and employeeId"},
			{"CSV row without identifiers", "text/csv", tn.AdminToken, "userPrincipalName,mail,displayName\na@x,,A\n,,Nobody\n", 400, "line 3: the user has none of"},
			{"unparsable JSON", "application/json", tn.AdminToken, `[{"userPrincipalName": `, 400, "JSON is malformed"},
			{"JSON syntax error", "application/json", tn.AdminToken, `[{"userPrincipalName" "a"}]`, 400, "malformed at byte"},
			{"JSON object without users", "application/json", tn.AdminToken, `{"people": []}`, 400, `"users" array`},
			{"JSON users not an array", "application/json", tn.AdminToken, `{"users": {}}`, 400, `"users" must be an array`},
			{"JSON user not an object", "application/json", tn.AdminToken, `["a@x"]`, 400, "[0]: a user must be a JSON object"},
			{"JSON number for mail", "application/json", tn.AdminToken, `[{"mail": 7}]`, 400, "[0]: mail must be a string"},
			{"JSON trailing data", "application/json", tn.AdminToken, `[{"mail": "a@x"}] []`, 400, "trailing data"},
			{"bad accountEnabled", "application/json", tn.AdminToken, `[{"mail": "a@x", "accountEnabled": "maybe"}]`, 400, `[0]: accountEnabled is "maybe"`},
			{"CSV without known headers", "text/csv", tn.AdminToken, "name,email address\nAnn,a@x\n", 400, "names none of userPrincipalName, mail and employeeId (it has: name, email address)"},
			{"CSV header only", "text/csv", tn.AdminToken, "userPrincipalName,mail\n", 400, "empty"},
			{"CSV broken quotes", "text/csv", tn.AdminToken, "userPrincipalName,mail\n\"a@x,b@x\n", 400, "CSV cannot be read"},
			{"CSV short row", "text/csv", tn.AdminToken, "userPrincipalName,mail\na@x\n", 400, "line 2"},
			{"CSV bad accountEnabled", "text/csv", tn.AdminToken, "userPrincipalName,accountEnabled\na@x,sometimes\n", 400, `line 2: accountEnabled is "sometimes"`},
			{"CSV duplicate column", "text/csv", tn.AdminToken, "mail,Mail\na@x,b@x\n", 400, "names Mail twice"},
			{"UTF-16", "text/csv", tn.AdminToken, []byte{0xff, 0xfe, 'm', 0, 'a', 0}, 400, "UTF-16"},
			{"not UTF-8", "text/csv", tn.AdminToken, []byte("mail\n\xe9@x\n"), 400, "not valid UTF-8"},
			{"other charset", "text/csv; charset=windows-1252", tn.AdminToken, "mail\na@x\n", 415, "UTF-8"},
			{"unknown type", "text/html", tn.AdminToken, "<p>", 415, "application/json or text/csv"},
			{"SCIM token", "application/json", tn.SCIMToken, `[{"mail": "a@x"}]`, 401, ""},
			{"unknown tenant", "application/json", operatorToken, `[{"mail": "a@x"}]`, 404, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				p := pf
				if tc.name == "unknown tenant" {
					p = "/admin/v1/tenants/no-such-tenant/preflight"
				}
				res := h.do(http.MethodPost, p, tc.token, tc.body, "Content-Type", tc.contentType)
				if res.status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
				}
				d, _ := res.json()["detail"].(string)
				if d == "" || !strings.Contains(d, tc.detail) {
					t.Fatalf("detail %q does not contain %q", d, tc.detail)
				}
			})
		}
		h.t = t
		h.do(http.MethodPost, adminPath(tn)+"/provisioning/finalize", tn.SCIMToken, nil).want(401)
		h.do(http.MethodPost, "/admin/v1/tenants/no-such-tenant/provisioning/finalize", operatorToken, nil).want(404)
	})
}

// bigHarness keeps the shared harness's 64 KiB body limit, so a preflight
// of a few thousand users (~140 KiB) proves the preflight's own larger
// limit, and gives requests a minute, for -race on a busy machine.
func bigHarness(t *testing.T, url string) *harness {
	t.Helper()
	return newHarnessConfig(t, url, func(c *server.Config) { c.RequestTimeout = time.Minute })
}

// TestPreflightThousands: a preflight of 3,000 IdP users against 2,000
// manual users, as CSV, answers in one pass; its time is logged, not asserted.
func TestPreflightThousands(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 2,000 users per backend")
	}
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := bigHarness(t, url)
			tn := h.newTenant(10000)
			h.setMode(tn, map[string]any{"mode": "manual"})
			const manual, idp = 2000, 3000
			for i := range manual {
				h.manualUser(tn, map[string]any{"userName": fmt.Sprintf("user%04d@x.test", i), "email": fmt.Sprintf("u%04d@mail.test", i),
					"employeeNumber": fmt.Sprintf("E%04d", i), "givenName": "U", "familyName": fmt.Sprint(i)})
			}
			// IdP users 0-1199 match by userName, 1200-1599 by email only,
			// 1600-1799 by employeeId only, 1800-1899 miss the email by a
			// space; 1900-1999 are not in the list, and 2000-2999 are new.
			var b strings.Builder
			b.WriteString("\ufeffuserPrincipalName,displayName,mail,employeeId,accountEnabled,department\r\n")
			for i := range manual - 100 {
				upn, mail, emp := fmt.Sprintf("user%04d@x.test", i), "", ""
				switch {
				case i >= 1800:
					upn, mail = fmt.Sprintf("idp%04d@corp.test", i), fmt.Sprintf(" u%04d@mail.test", i)
				case i >= 1600:
					upn, emp = fmt.Sprintf("idp%04d@corp.test", i), fmt.Sprintf("E%04d", i)
				case i >= 1200:
					upn, mail = fmt.Sprintf("idp%04d@corp.test", i), fmt.Sprintf("U%04d@MAIL.test", i)
				}
				fmt.Fprintf(&b, "%s,\"User, %d\",%q,%s,True,News\r\n", upn, i, mail, emp)
			}
			for i := manual; i < manual+idp-(manual-100); i++ {
				fmt.Fprintf(&b, "new%04d@corp.test,\"New, %d\",,,%s,Sports\r\n", i, i, map[bool]string{true: "False", false: "True"}[i%10 == 0])
			}
			body := b.String()
			start := time.Now()
			rep := h.do(http.MethodPost, adminPath(tn)+"/preflight", tn.AdminToken, body, "Content-Type", "text/csv").want(200).json()
			t.Logf("preflight of %d IdP users (%d KiB of CSV) against %d manual users: %v", idp, len(body)>>10, manual, time.Since(start))
			want := map[string]any{
				"idpUsers": 3000.0, "enabledIdpUsers": 2890.0, "manualUsers": 2000.0, "links": 1800.0, "creates": 1200.0, "conflicts": 0.0,
				"alreadyProvisioned": 0.0, "nearMisses": 100.0, "unmatchedManualUsers": 200.0, "groupsWithoutGrants": 0.0,
			}
			if d := cmp.Diff(want, rep["counts"]); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
			eq(t, path(rep, "seats", "needed"), 3090.0)

			// The list limit holds whatever the body limit.
			over := "[" + strings.Repeat(`{},`, provision.MaxPreflightUsers) + "{}]"
			res := h.do(http.MethodPost, adminPath(tn)+"/preflight", tn.AdminToken, over, "Content-Type", "application/json").want(400)
			if d, _ := res.json()["detail"].(string); !strings.Contains(d, "at most 200000") {
				t.Errorf("detail %q", d)
			}
		})
	}
}
