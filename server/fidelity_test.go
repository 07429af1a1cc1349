package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// filterIDs runs a user filter and returns the ids found, checking that
// totalResults agrees.
func filterIDs(t *testing.T, h *harness, tn tenant, filter string) []string {
	t.Helper()
	res := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(filter), tn.SCIMToken, nil).want(200).json()
	var got []string
	for _, r := range asList(res["Resources"]) {
		got = append(got, path(r, "id").(string))
	}
	if res["totalResults"] != float64(len(got)) {
		t.Fatalf("filter %s: totalResults %v for %d resources", filter, res["totalResults"], len(got))
	}
	return got
}

// TestUserExternalIDNotUnique (issue 10 item 2): Entra maps externalId from
// mailNickname, which repeats across a directory's domains: a second user
// with the same externalId is created (and updated to it), and the
// externalId filter finds every holder.
func TestUserExternalIDNotUnique(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		a := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("jo@a.example", `,"externalId":"jo"`)).want(201).json()["id"].(string)
		b := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("jo@b.example", `,"externalId":"jo"`)).want(201).json()["id"].(string)
		c := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("jo@c.example", `,"externalId":"joe"`)).want(201).json()["id"].(string)
		if got := filterIDs(t, h, tn, `externalId eq "jo"`); !sameSet(got, []string{a, b}) {
			t.Errorf("externalId eq jo: %v, want %v", got, []string{a, b})
		}
		h.do(http.MethodPatch, tn.Base+"/Users/"+c, tn.SCIMToken,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"externalId","value":"jo"}]}`).want(200)
		h.do(http.MethodPut, tn.Base+"/Users/"+b, tn.SCIMToken, userBody("jo@b.example", `,"externalId":"jo","displayName":"Jo B"`)).want(200)
		if got := filterIDs(t, h, tn, `externalId eq "jo"`); !sameSet(got, []string{a, b, c}) {
			t.Errorf("externalId eq jo after the updates: %v", got)
		}
		if got := filterIDs(t, h, tn, `externalId eq "joe"`); len(got) != 0 {
			t.Errorf("externalId eq joe after the move: %v", got)
		}
		h.do(http.MethodDelete, tn.Base+"/Users/"+a, tn.SCIMToken, nil).want(204)
		if got := filterIDs(t, h, tn, `externalId eq "jo"`); !sameSet(got, []string{b, c}) {
			t.Errorf("externalId eq jo after delete: %v", got)
		}
	})
}

// TestUserNameLookalikes (issue 11 item 13): userNames that differ only by
// case, compatibility forms, zero-width characters or surrounding spaces
// collide; the stored userName is what was sent, and Entra's lookup by a
// lookalike finds the user a create would collide with.
func TestUserNameLookalikes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		id := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("ren@corp.example")).want(201).json()["id"].(string)
		for _, name := range []string{
			`\uff32en@corp.example`,    // fullwidth R
			`ren\u200b@corp.example`,   // zero-width space
			` ren@corp.example `,       // surrounding spaces
			`\ufeffREN@CORP.EXAMPLE`,   // BOM, other case
			`ren@corp.example\u00a0`,   // no-break space
			`re\u00adn@corp.example`,   // soft hyphen
			`ren@corp\uff0eexample`,    // fullwidth full stop
			`\u2060ren@corp.example`,   // word joiner
			`ren@corp.example\u3000 `,  // ideographic space
			`r\u200den@corp.example\t`, // zero-width joiner, tab
		} {
			t.Run(name, func(t *testing.T) {
				h.t = t
				res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(name)).want(409).json()
				eq(t, res["scimType"], "uniqueness")
				var decoded string
				if err := json.Unmarshal([]byte(`"`+name+`"`), &decoded); err != nil {
					t.Fatal(err)
				}
				if got := filterIDs(t, h, tn, `userName eq "`+strings.TrimSpace(name)+`"`); !sameSet(got, []string{id}) {
					t.Errorf("userName eq %q finds %v, want %s", decoded, got, id)
				}
			})
		}
		h.t = t
		odd := `\uff2bim\u200b@corp.example `
		kid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(odd)).want(201).json()["id"].(string)
		got := h.do(http.MethodGet, tn.Base+"/Users/"+kid, tn.SCIMToken, nil).want(200).json()
		eq(t, got["userName"], "\uff2bim\u200b@corp.example ")
		// A rename onto a lookalike of another user is refused too.
		h.do(http.MethodPatch, tn.Base+"/Users/"+kid, tn.SCIMToken,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"REN@corp.example\u200b"}]}`).want(409)
	})
}

// TestInvalidUTF8 (issue 11 item 13): a body that is not valid UTF-8 is a
// 400, on the SCIM API and the admin API, and nothing is stored.
func TestInvalidUTF8(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		bad := []byte(userBody("bad\xff\xfe@corp.example"))
		res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, bad).want(400).json()
		eq(t, res["scimType"], "invalidSyntax")
		list := h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200).json()
		eq(t, list["totalResults"], float64(0))

		id := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("ok@corp.example")).want(201).json()["id"].(string)
		h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken,
			[]byte("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"x\xc3\"}]}")).want(400)
		h.do(http.MethodPut, tn.Base+"/Users/"+id, tn.SCIMToken, []byte(userBody("ok@corp.example", ",\"displayName\":\"\xed\xa0\x80\""))).want(400)
		h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, []byte("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"g\x80\"}")).want(400)
		got := h.do(http.MethodGet, tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200).json()
		if _, ok := got["displayName"]; ok {
			t.Errorf("a refused body changed the user: %v", got)
		}

		h.do(http.MethodPatch, "/admin/v1/tenants/"+tn.ID, operatorToken, []byte("{\"name\":\"Acme\xff\"}")).want(400)
		h.do(http.MethodPost, "/admin/v1/tenants", operatorToken, []byte("{\"id\":\"utf8-x\",\"name\":\"N\xc0\xaf\",\"licenseLimit\":1}")).want(400)
	})
}

// TestPatchDropsUnknownAttributes (issue 10 item 1): a PATCH naming what
// scimd does not keep (password, an unknown core attribute or
// sub-attribute, an undefined extension) applies the rest and answers 200,
// with the names in the audit event, by path, value path and path-less
// value alike; only malformed operations are 400.
func TestPatchDropsUnknownAttributes(t *testing.T) {
	const custom = "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User"
	patch := func(ops string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
	}
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		id := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("pat@corp.example")).want(201).json()["id"].(string)
		for _, tc := range []struct {
			name    string
			ops     string
			attr    []any // path to the attribute the kept operation sets
			want    any
			dropped []string
		}{
			{"paths", `{"op":"Replace","path":"password","value":"hunter2"},
				{"op":"Add","path":"` + custom + `:costCenter","value":"42"},
				{"op":"Replace","path":"shoeSize","value":"9"},
				{"op":"Replace","path":"name.nickname","value":"P"},
				{"op":"Replace","path":"displayName","value":"Pat One"}`,
				[]any{"displayName"}, "Pat One",
				[]string{"name.nickname", "password", "shoeSize", custom + ":costCenter"}},
			{"value paths", `{"op":"Add","path":"shoes[type eq \"work\"].size","value":"9"},
				{"op":"Replace","path":"addresses[type eq \"work\"].planet","value":"Mars"},
				{"op":"Replace","path":"emails[type eq \"work\"].value","value":"pat@corp.example"}`,
				[]any{"emails", 0, "value"}, "pat@corp.example",
				[]string{`addresses[type eq "work"].planet`, `shoes[type eq "work"].size`}},
			{"path-less", `{"op":"replace","value":{"displayName":"Pat Two","password":"hunter2","shoeSize":"9",
				"` + custom + `:costCenter":"42","` + custom + `":{"costCenter":"42"},
				"` + enterprise + `":{"department":"Sales","favouriteColour":"blue"}}}`,
				[]any{enterprise, "department"}, "Sales",
				[]string{"password", "shoeSize", custom, custom + ":costCenter", enterprise + ":favouriteColour"}},
			{"nothing kept", `{"op":"Replace","path":"password","value":"hunter2"}`,
				[]any{"displayName"}, "Pat Two", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken, patch(tc.ops)).want(200).json()
				eq(t, path(res, tc.attr...), tc.want)
				eq(t, path(h.do(http.MethodGet, tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200).json(), tc.attr...), tc.want)
				if tc.dropped == nil {
					return
				}
				audit := h.do(http.MethodGet, "/admin/v1/tenants/"+tn.ID+"/audit?action=user.update&targetId="+id, tn.AdminToken, nil).want(200)
				if strings.Contains(audit.text(), "hunter2") {
					t.Fatal("a password reached the audit stream")
				}
				var got []string
				for _, d := range asList(path(audit.json(), "events", 0, "droppedAttributes")) {
					got = append(got, d.(string))
				}
				if strings.Join(got, "|") != strings.Join(tc.dropped, "|") {
					t.Errorf("droppedAttributes %q, want %q", got, tc.dropped)
				}
			})
		}
		h.t = t
		for _, bad := range []string{
			`{"op":"Replace","path":"emails[type eq ].value","value":"x"},{"op":"Replace","path":"displayName","value":"No"}`,
			`{"op":"Move","path":"displayName","value":"No"}`,
			`{"op":"Replace","path":"active","value":"maybe"}`,
			`{"op":"Remove"}`,
		} {
			h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken, patch(bad)).want(400)
		}
		eq(t, h.do(http.MethodGet, tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200).json()["displayName"], "Pat Two")
	})
}

// TestMultiValuedOnPostAndPut (issue 10 item 3, RFC 7643 §2.4): a POST or
// PUT stores at most one primary per multi-valued attribute (the last one
// sent, as PATCH does), and an element repeated with the same type and
// value once.
func TestMultiValuedOnPostAndPut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		emails := `,"emails":[{"type":"work","value":"mo@corp.example","primary":true},{"type":"home","value":"mo@home.example","primary":"True"},{"type":"work","value":"mo@corp.example"}]`
		phones := `,"phoneNumbers":[{"type":"work","value":"+1 555 0100","primary":true},{"type":"mobile","value":"+1 555 0199"},{"type":"mobile","value":"+1 555 0199","primary":true}]`
		want := func(t *testing.T, u map[string]any) {
			t.Helper()
			got, _ := json.Marshal([]any{u["emails"], u["phoneNumbers"]})
			const w = `[[{"primary":false,"type":"work","value":"mo@corp.example"},{"primary":true,"type":"home","value":"mo@home.example"}],` +
				`[{"primary":false,"type":"work","value":"+1 555 0100"},{"primary":true,"type":"mobile","value":"+1 555 0199"}]]`
			if string(got) != w {
				t.Errorf("stored\n%s\nwant\n%s", got, w)
			}
		}
		id := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("mo@corp.example", emails, phones)).want(201).json()["id"].(string)
		want(t, h.do(http.MethodGet, tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200).json())
		h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails","value":[{"type":"work","value":"x@corp.example","primary":true}]},{"op":"remove","path":"phoneNumbers"}]}`).want(200)
		want(t, h.do(http.MethodPut, tn.Base+"/Users/"+id, tn.SCIMToken, userBody("mo@corp.example", emails, phones)).want(200).json())
		want(t, h.do(http.MethodGet, tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200).json())
	})
}

// TestTakeoverByPatchIsALink (issue 10 item 15): Entra's own matching (a
// userName eq lookup that finds a manual user, then a PATCH) turns the
// manual user into a SCIM one; that is audited as user.link, managedBy
// manual -> scim, as a link on POST is.
func TestTakeoverByPatchIsALink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		h.setMode(tn, map[string]any{"mode": "manual"})
		id := h.manualUser(tn, map[string]any{"userName": "kai@corp.example", "givenName": "Kai"})["id"].(string)
		if got := filterIDs(t, h, tn, `userName eq "kai@corp.example"`); !sameSet(got, []string{id}) {
			t.Fatalf("Entra's lookup found %v", got)
		}
		h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Kai K"}]}`).want(200)
		eq(t, h.do(http.MethodGet, adminPath(tn)+"/users/"+id, tn.AdminToken, nil).want(200).json()["managedBy"], "scim")
		events := asList(h.do(http.MethodGet, adminPath(tn)+"/audit?targetId="+id, tn.AdminToken, nil).want(200).json()["events"])
		eq(t, path(events, 0, "action"), "user.link")
		var managed bool
		for _, c := range asList(path(events, 0, "changes")) {
			if path(c, "attribute") == "managedBy" {
				managed = true
				eq(t, path(c, "old"), "manual")
				eq(t, path(c, "new"), "scim")
			}
		}
		if !managed {
			t.Errorf("link event without managedBy: %v", events[0])
		}
		// The next change is an ordinary update.
		h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Kai L"}]}`).want(200)
		events = asList(h.do(http.MethodGet, adminPath(tn)+"/audit?targetId="+id, tn.AdminToken, nil).want(200).json()["events"])
		eq(t, path(events, 0, "action"), "user.update")
		// A PUT takes a manual user over alike.
		other := h.manualUser(tn, map[string]any{"userName": "lu@corp.example"})["id"].(string)
		h.do(http.MethodPut, tn.Base+"/Users/"+other, tn.SCIMToken, userBody("lu@corp.example")).want(200)
		events = asList(h.do(http.MethodGet, adminPath(tn)+"/audit?targetId="+other, tn.AdminToken, nil).want(200).json()["events"])
		eq(t, path(events, 0, "action"), "user.link")
	})
}

// TestLinkByRepeatedIdentifier (issue 10 item 16): work email and
// employeeNumber may repeat, but a SCIM create whose identifier has more
// than one holder, one of them manual, does not guess: 409 naming them.
func TestLinkByRepeatedIdentifier(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		h.setMode(tn, map[string]any{"mode": "manual"})
		scim := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("desk2@corp.example",
			`,"emails":[{"type":"work","value":"DESK@corp.example"}],"`+enterprise+`":{"employeeNumber":"E7"}`)).want(201).json()["id"].(string)
		manual := h.manualUser(tn, map[string]any{"userName": "desk1@corp.example", "email": "desk@corp.example", "employeeNumber": "E7"})["id"].(string)
		for _, tc := range []struct{ name, extra, attr string }{
			{"email", `,"emails":[{"type":"work","value":"desk@corp.example"}]`, "email"},
			{"employeeNumber", `,"` + enterprise + `":{"employeeNumber":"E7"}`, "employeeNumber"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("desk3@corp.example", tc.extra)).want(409).json()
				eq(t, res["scimType"], "uniqueness")
				d, _ := res["detail"].(string)
				if !strings.Contains(d, manual) || !strings.Contains(d, scim) || !strings.Contains(d, tc.attr) {
					t.Errorf("detail %q does not name %s and %s", d, manual, scim)
				}
			})
		}
		h.t = t
		// Nothing was linked: the manual user is still manual.
		eq(t, h.do(http.MethodGet, adminPath(tn)+"/users/"+manual, tn.AdminToken, nil).want(200).json()["managedBy"], "manual")
		// Repeats among SCIM users alone are no conflict: nobody to link.
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("desk4@corp.example", `,"emails":[{"type":"work","value":"shared@corp.example"}]`)).want(201)
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("desk5@corp.example", `,"emails":[{"type":"work","value":"shared@corp.example"}]`)).want(201)
	})
}
