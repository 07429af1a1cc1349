package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// adminPath is a tenant's admin API root.
func adminPath(tn tenant) string { return "/admin/v1/tenants/" + tn.ID }

func (h *harness) setMode(tn tenant, body map[string]any) {
	h.t.Helper()
	h.do(http.MethodPut, adminPath(tn)+"/provisioning", tn.AdminToken, body).want(200)
}

func (h *harness) manualUser(tn tenant, fields map[string]any) map[string]any {
	h.t.Helper()
	return h.do(http.MethodPost, adminPath(tn)+"/users", tn.AdminToken, fields).want(201).json()
}

// TestManualUsersAndModes: the edit-lock policy decides every manual change,
// in both provisioning modes; SCIM keeps being applied in both.
func TestManualUsersAndModes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)

		// Mode idp (the default): creating users by hand is refused with the policy's reason.
		res := h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "hand@x"}).want(403).json()
		if d, _ := res["detail"].(string); d == "" {
			t.Fatalf("refusal without the policy's reason: %v", res)
		}
		got := h.do(http.MethodGet, admin+"/provisioning", tn.AdminToken, nil).want(200).json()
		eq(t, got["mode"], "idp")
		eq(t, got["unmatchedUsers"], "keep")

		scimID := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("sam@x", `,"name":{"givenName":"Sam"}`)).want(201).json()["id"].(string)
		// A SCIM-managed user's identity attributes are locked in idp mode...
		res = h.do(http.MethodPatch, admin+"/users/"+scimID, tn.AdminToken, map[string]any{"givenName": "Samuel"}).want(403).json()
		if d, _ := res["detail"].(string); !strings.Contains(d, "name") {
			t.Fatalf("refusal does not name the locked attribute: %q", d)
		}
		h.do(http.MethodPost, admin+"/users/"+scimID+"/deactivate", tn.AdminToken, nil).want(403)
		// ...and so is every other attribute SCIM manages, the enterprise
		// extension's included (the FAQ's linking identifier employeeNumber).
		for field, value := range map[string]string{"displayName": "Sammy", "employeeNumber": "E9", "department": "Newsroom"} {
			res = h.do(http.MethodPatch, admin+"/users/"+scimID, tn.AdminToken, map[string]any{field: value}).want(403).json()
			if d, _ := res["detail"].(string); !strings.Contains(d, field+" can only be changed there") {
				t.Fatalf("refusal of %s does not name it: %q", field, d)
			}
		}
		kept := h.do(http.MethodGet, admin+"/users/"+scimID, tn.AdminToken, nil).want(200).json()
		eq(t, kept["department"], nil)
		eq(t, kept["managedBy"], "scim")

		// Mode manual: manual adds and edits are allowed again, with a warning on SCIM users.
		h.setMode(tn, map[string]any{"mode": "manual"})
		manual := h.manualUser(tn, map[string]any{"userName": "hand@x", "givenName": "Hand", "email": "hand@x", "employeeNumber": "M1"})
		eq(t, manual["managedBy"], "manual")
		eq(t, manual["active"], true)
		edited := h.do(http.MethodPatch, admin+"/users/"+scimID, tn.AdminToken, map[string]any{"givenName": "Samuel"}).want(200).json()
		eq(t, edited["givenName"], "Samuel")
		eq(t, edited["managedBy"], "scim")
		if len(asList(edited["warnings"])) == 0 {
			t.Fatalf("an edit of a SCIM user in manual mode carries no warning: %v", edited)
		}
		// SCIM is applied in manual mode too.
		h.do(http.MethodPatch, tn.Base+"/Users/"+scimID, tn.SCIMToken, fixture(t, "22-flag-off.add-single-value.json")).want(200)

		// Back to idp: manual users stay editable, and can be deactivated.
		h.setMode(tn, map[string]any{"mode": "idp"})
		mid := manual["id"].(string)
		h.do(http.MethodPatch, admin+"/users/"+mid, tn.AdminToken, map[string]any{"familyName": "Made"}).want(200)
		off := h.do(http.MethodPost, admin+"/users/"+mid+"/deactivate", tn.AdminToken, nil).want(200).json()
		eq(t, off["active"], false)
		one := h.do(http.MethodGet, admin+"/users/"+mid, tn.AdminToken, nil).want(200).json()
		eq(t, one["familyName"], "Made")
		eq(t, one["email"], "hand@x")
		list := h.do(http.MethodGet, admin+"/users?managedBy=manual", tn.AdminToken, nil).want(200).json()
		eq(t, list["totalResults"], float64(1))

		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
		}{
			{"unknown field", http.MethodPost, "/users", map[string]any{"userName": "x@x", "shoeSize": 9}, 400},
			{"bad mode", http.MethodPut, "/provisioning", map[string]any{"mode": "auto"}, 400},
			{"bad matchBy", http.MethodPut, "/provisioning", map[string]any{"matchBy": []string{"phone"}}, 400},
			{"bad unmatched", http.MethodPut, "/provisioning", map[string]any{"unmatchedUsers": "delete"}, 400},
			{"unknown user", http.MethodPatch, "/users/nope", map[string]any{"givenName": "x"}, 404},
			{"bad paging", http.MethodGet, "/users?count=-1", nil, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				h.do(tc.method, admin+tc.path, tn.AdminToken, tc.body).want(tc.status)
			})
		}
	})
}

// TestLinking: a SCIM create takes over the manual user with a matching
// identifier instead of duplicating it.
func TestLinking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)
		h.setMode(tn, map[string]any{"mode": "manual"})
		alice := h.manualUser(tn, map[string]any{"userName": "alice@x", "email": "alice@corp", "employeeNumber": "E1", "givenName": "Al"})
		aid := alice["id"].(string)

		// Her group and its grant stay with her through the link.
		gid := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Editors"}`).want(201).json()["id"].(string)
		h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", aid)).want(204)
		h.do(http.MethodPut, admin+"/accounts/news", tn.AdminToken, map[string]any{"name": "News"}).want(201)
		h.do(http.MethodPut, admin+"/groups/"+gid+"/grants", tn.AdminToken, map[string]any{"grants": []any{map[string]any{"scope": "account", "account": "news", "role": "Editor"}}}).want(200)

		// Entra's own lookup finds the manual user too.
		found := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(`userName eq "alice@x"`), tn.SCIMToken, nil).want(200).json()
		eq(t, path(found, "Resources", 0, "id"), aid)

		linked := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("ALICE@x", `,"active":true,"name":{"givenName":"Alice"},"externalId":"entra-alice"`)).want(201).json()
		eq(t, linked["id"], aid)
		eq(t, linked["active"], true)
		eq(t, path(linked, "name", "givenName"), "Alice")
		after := h.do(http.MethodGet, admin+"/users/"+aid, tn.AdminToken, nil).want(200).json()
		eq(t, after["managedBy"], "scim")
		list := h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200).json()
		eq(t, list["totalResults"], float64(1))
		access := h.do(http.MethodGet, admin+"/users/"+aid+"/access", tn.AdminToken, nil).want(200).json()
		eq(t, path(access, "accounts", "news", "role"), "Editor")
		events := h.do(http.MethodGet, admin+"/audit?action=user.link", tn.AdminToken, nil).want(200).json()
		eq(t, path(events, "events", 0, "targetId"), aid)

		// Two different users matching one request: 409 naming both, nothing changes.
		bob := h.manualUser(tn, map[string]any{"userName": "bob@x"})
		carol := h.manualUser(tn, map[string]any{"userName": "carol@x", "employeeNumber": "E9"})
		res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("bob@x", `,"`+enterprise+`":{"employeeNumber":"E9"}`)).want(409).json()
		d, _ := res["detail"].(string)
		if !strings.Contains(d, bob["id"].(string)) || !strings.Contains(d, carol["id"].(string)) {
			t.Fatalf("conflict does not name both users: %q", d)
		}
		for _, u := range []map[string]any{bob, carol} {
			eq(t, h.do(http.MethodGet, admin+"/users/"+u["id"].(string), tn.AdminToken, nil).json()["managedBy"], "manual")
		}

		// The tenant chooses the identifiers: by email only.
		h.setMode(tn, map[string]any{"matchBy": []string{"email"}})
		dave := h.manualUser(tn, map[string]any{"userName": "dave.local", "email": "Dave@Corp"})
		byEmail := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("dave@entra", `,"emails":[{"type":"work","value":"dave@corp"}]`)).want(201).json()
		eq(t, byEmail["id"], dave["id"])
		eq(t, byEmail["userName"], "dave@entra")
		// userName is no longer an identifier: a manual user with the same userName is a uniqueness conflict, not a link.
		h.manualUser(tn, map[string]any{"userName": "erin@x"})
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("erin@x")).want(409)

		// An empty list links on nothing (it is not the default order).
		h.setMode(tn, map[string]any{"matchBy": []string{}})
		eq(t, fmt.Sprint(h.do(http.MethodGet, admin+"/provisioning", tn.AdminToken, nil).want(200).json()["matchBy"]), "[]")
		h.manualUser(tn, map[string]any{"userName": "frank@x", "email": "frank@corp"})
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("frank@x", `,"emails":[{"type":"work","value":"frank@corp"}]`)).want(409)
	})
}

// TestSettingsConcurrentChanges: two admins changing different settings at
// the same moment both get their change, and each is audited once.
func TestSettingsConcurrentChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		const rounds = 20
		for i := range rounds {
			mode, match := []string{"idp", "manual"}[i%2], [][]string{{"email"}, {"employeeNumber", "userName"}}[i%2]
			var wg sync.WaitGroup
			wg.Go(func() { h.setMode(tn, map[string]any{"mode": mode}) })
			wg.Go(func() { h.setMode(tn, map[string]any{"matchBy": match}) })
			wg.Wait()
			got := h.do(http.MethodGet, adminPath(tn)+"/provisioning", tn.AdminToken, nil).want(200).json()
			if got["mode"] != mode || fmt.Sprint(got["matchBy"]) != fmt.Sprint(match) {
				t.Fatalf("round %d: settings %v, want mode %s and matchBy %v", i, got, mode, match)
			}
		}
		audit := h.do(http.MethodGet, adminPath(tn)+"/audit?action=provisioning.update&count=100", tn.AdminToken, nil).want(200).json()
		if events, _ := audit["events"].([]any); len(events) != 2*rounds {
			t.Fatalf("%d provisioning.update events, want %d", len(events), 2*rounds)
		}
	})
}

// TestIdentifierChanges: renames keep the user, its groups and grants; a
// value held by another user is refused and nothing changes.
func TestIdentifierChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		patch := func(id, path, value string) response {
			body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":%q,"value":%q}]}`, path, value)
			return h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken, body)
		}
		a := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("a@x", `,"emails":[{"type":"work","value":"a@corp"}],"`+enterprise+`":{"employeeNumber":"1"}`)).want(201).json()["id"].(string)
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("b@x", `,"externalId":"ext-b"`)).want(201)
		gid := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G"}`).want(201).json()["id"].(string)
		h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", a)).want(204)

		count := func(filter string) any {
			return h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(filter), tn.SCIMToken, nil).want(200).json()["totalResults"]
		}
		patch(a, `emails[type eq "work"].value`, "a.new@corp").want(200)
		eq(t, count(`emails[type eq "work"].value eq "a.new@corp"`), float64(1))
		eq(t, count(`emails[type eq "work"].value eq "a@corp"`), float64(0))
		patch(a, enterprise+":employeeNumber", "2").want(200)
		eq(t, count(enterprise+`:employeeNumber eq "2"`), float64(1))
		eq(t, count(enterprise+`:employeeNumber eq "1"`), float64(0))

		before := h.do(http.MethodGet, tn.Base+"/Users/"+a, tn.SCIMToken, nil).json()
		res := patch(a, "userName", "B@x").want(409).json()
		eq(t, res["scimType"], "uniqueness")
		afterRefusal := h.do(http.MethodGet, tn.Base+"/Users/"+a, tn.SCIMToken, nil).json()
		eq(t, afterRefusal["userName"], before["userName"])
		eq(t, path(afterRefusal, "meta", "version"), path(before, "meta", "version"))

		patch(a, "userName", "a.renamed@x").want(200)
		eq(t, count(`userName eq "a.renamed@x"`), float64(1))
		// externalId is not unique (issue 10 item 2).
		patch(a, "externalId", "ext-b").want(200)
		eq(t, count(`externalId eq "ext-b"`), float64(2))
		members := asList(h.do(http.MethodGet, tn.Base+"/Groups/"+gid, tn.SCIMToken, nil).json()["members"])
		eq(t, path(members, 0, "value"), a)
	})
}

// TestLicenseLimit: seats are taken atomically, never one over the limit,
// under concurrent creates from both APIs; the report and the operator's
// raise work at once.
func TestLicenseLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(3)
		admin := adminPath(tn)
		h.setMode(tn, map[string]any{"mode": "manual"})
		const n = 12
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if i%2 == 0 {
					statuses[i] = h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(fmt.Sprintf("seat%d@x", i))).status
				} else {
					statuses[i] = h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": fmt.Sprintf("seat%d@x", i)}).status
				}
			}(i)
		}
		wg.Wait()
		got := map[int]int{}
		for _, s := range statuses {
			got[s]++
		}
		if got[201] != 3 || got[403] != n-3 {
			t.Fatalf("statuses %v, want 3 created and %d refused", got, n-3)
		}
		lic := h.do(http.MethodGet, admin+"/license", tn.AdminToken, nil).want(200).json()
		eq(t, lic["limit"], float64(3))
		eq(t, lic["seatsUsed"], float64(3))
		eq(t, lic["refusedAttempts"], float64(n-3))
		if s, _ := lic["lastRefusal"].(string); s == "" {
			t.Fatalf("no last refusal time: %v", lic)
		}
		res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("late@x")).want(403).json()
		if d, _ := res["detail"].(string); !strings.Contains(d, "license limit reached") || !strings.Contains(d, "3 of 3") {
			t.Fatalf("SCIM refusal detail: %q", d)
		}
		prob := h.do(http.MethodPost, admin+"/users", tn.AdminToken, map[string]any{"userName": "late2@x"}).want(403).json()
		if d, _ := prob["detail"].(string); !strings.Contains(d, "license limit reached") {
			t.Fatalf("admin refusal detail: %q", d)
		}

		// The operator raises the limit; provisioning goes on at once.
		h.do(http.MethodPatch, admin, operatorToken, map[string]any{"licenseLimit": 4}).want(200)
		late := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("late@x")).want(201).json()["id"].(string)
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("later@x")).want(403)
		// Deactivating frees a seat; reactivating past the limit is refused.
		h.do(http.MethodPatch, tn.Base+"/Users/"+late, tn.SCIMToken, fixture(t, "07-disable-user.PATCH-Users.request.json")).want(200)
		later := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("later@x")).want(201).json()["id"].(string)
		enable := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`
		h.do(http.MethodPatch, tn.Base+"/Users/"+late, tn.SCIMToken, enable).want(403)
		h.do(http.MethodDelete, tn.Base+"/Users/"+later, tn.SCIMToken, nil).want(204)
		h.do(http.MethodPatch, tn.Base+"/Users/"+late, tn.SCIMToken, enable).want(200)
		eq(t, h.do(http.MethodGet, admin+"/license", tn.AdminToken, nil).json()["seatsUsed"], float64(4))
	})
}

// TestAuditStream: every change, SCIM or manual, is one event with who,
// where from, what and the old and new values; secrets never appear.
func TestAuditStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)
		tok := h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": "ines@acme.example"}).want(201).json()["token"].(string)
		start := time.Now().UTC().Add(-time.Second)

		uid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("audited@x", `,"password":"hunter2","shoeSize":"44","name":{"givenName":"Old"}`)).want(201).json()["id"].(string)
		h.do(http.MethodPatch, tn.Base+"/Users/"+uid, tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"name.givenName","value":"New"}]}`).want(200)
		// Mode manual, so that an admin may edit a SCIM-managed user.
		h.setMode(tn, map[string]any{"mode": "manual"})
		h.do(http.MethodPatch, admin+"/users/"+uid, tok, map[string]any{"department": "Sports"}).want(200)

		all := h.do(http.MethodGet, admin+"/audit?targetId="+uid, tn.AdminToken, nil).want(200)
		if strings.Contains(all.text(), "hunter2") {
			t.Fatal("a password reached the audit stream")
		}
		events := asList(all.json()["events"])
		if len(events) != 3 {
			t.Fatalf("events %d, want 3: %s", len(events), all.body)
		}
		// Newest first: the admin's edit, with its actor and address.
		eq(t, path(events, 0, "source"), "admin")
		eq(t, path(events, 0, "actor", "name"), "ines@acme.example")
		if ip, _ := path(events, 0, "ip").(string); ip == "" {
			t.Fatalf("admin event without an address: %v", events[0])
		}
		// An extension attribute is named by its URN, a colon and its name.
		eq(t, path(events, 0, "changes", 0, "attribute"), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
		eq(t, path(events, 1, "source"), "scim")
		eq(t, path(events, 1, "actor"), nil)
		eq(t, path(events, 1, "ip"), nil)
		var sawGiven bool
		for _, c := range asList(path(events, 1, "changes")) {
			if path(c, "attribute") == "name.givenName" {
				sawGiven = true
				eq(t, path(c, "old"), "Old")
				eq(t, path(c, "new"), "New")
			}
		}
		if !sawGiven {
			t.Fatalf("update event lacks name.givenName old/new: %v", events[1])
		}
		eq(t, path(events, 2, "action"), "user.create")
		dropped := asList(path(events, 2, "droppedAttributes"))
		if len(dropped) != 2 || dropped[0] != "password" || dropped[1] != "shoeSize" {
			t.Fatalf("dropped attributes %v, want [password shoeSize]", dropped)
		}

		// Filters and paging.
		eq(t, len(asList(h.do(http.MethodGet, admin+"/audit?source=admin&targetId="+uid, tn.AdminToken, nil).json()["events"])), 1)
		eq(t, len(asList(h.do(http.MethodGet, admin+"/audit?action=user.update&targetType=User", tn.AdminToken, nil).json()["events"])), 2)
		eq(t, len(asList(h.do(http.MethodGet, admin+"/audit?targetId="+uid+"&since="+url.QueryEscape(start.Format(time.RFC3339)), tn.AdminToken, nil).json()["events"])), 3)
		eq(t, len(asList(h.do(http.MethodGet, admin+"/audit?targetId="+uid+"&until=2000-01-01T00:00:00Z", tn.AdminToken, nil).json()["events"])), 0)
		first := h.do(http.MethodGet, admin+"/audit?targetId="+uid+"&count=2", tn.AdminToken, nil).want(200).json()
		eq(t, len(asList(first["events"])), 2)
		cursor, _ := first["nextCursor"].(string)
		rest := h.do(http.MethodGet, admin+"/audit?targetId="+uid+"&count=2&cursor="+url.QueryEscape(cursor), tn.AdminToken, nil).want(200).json()
		eq(t, len(asList(rest["events"])), 1)
		eq(t, path(rest, "events", 0, "action"), "user.create")
		h.do(http.MethodGet, admin+"/audit?cursor=bogus", tn.AdminToken, nil).want(400)
		h.do(http.MethodGet, admin+"/audit?since=yesterday", tn.AdminToken, nil).want(400)
	})
}
