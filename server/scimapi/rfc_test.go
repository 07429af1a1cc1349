package scimapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWritesByTheRFC states what a POST, PUT or PATCH must answer, from RFC 7643,
// RFC 7644 and Entra's fixtures, where scimd deliberately differs from
// elimity's own handling (dropped attributes, lists, primaries, names
// spelled as the schema spells them) or where elimity is lenient. The
// ...LikeElimity tests prove that the fast paths and elimity's path agree;
// this one proves that what they agree on is right. Every case is asked
// with the fast paths on and off (PUT and a group's POST have elimity's
// path only, so for them both runs take it).
func TestWritesByTheRFC(t *testing.T) {
	const (
		user  = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
		group = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`
		ent   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		// A user as answered, without what the case adds.
		userSchemas = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + ent + `"]`
		patchOps    = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	)
	type want struct {
		status   int
		scimType string // an error's
		doc      string // a success's document, without id and meta; MEMBER is the member's id
	}
	for _, tc := range []struct {
		name, why string
		method    string // POST, or PUT or PATCH over a user or group made by setup
		resource  string
		setup     string // for PUT and PATCH: the resource changed
		body      string
		header    []string // request headers, name and value
		want      want
	}{
		{
			name: "a multi-valued attribute sent as one object is a list of it", why: "RFC 7643 §2.4 makes it a JSON array: taking the object is scimd's leniency, read as a PATCH reads a single value (RFC 7644 §3.5.2.1)",
			method: "POST", resource: "Users",
			body: `{` + user + `,"userName":"one@x","emails":{"type":"work","value":"one@x"},"phoneNumbers":{"Value":"+1 555 0100"}}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"one@x","active":true,
				"emails":[{"type":"work","value":"one@x"}],"phoneNumbers":[{"value":"+1 555 0100"}]}`},
		},
		{
			name: "PUT: a multi-valued attribute sent as one object is a list of it", why: "RFC 7643 §2.4; scimd's leniency",
			method: "PUT", resource: "Users",
			setup: `{` + user + `,"userName":"put@x","emails":[{"type":"work","value":"old@x"}]}`,
			body:  `{` + user + `,"userName":"put@x","active":true,"emails":{"type":"home","value":"home@x","primary":true}}`,
			want: want{status: 200, doc: `{` + userSchemas + `,"userName":"put@x","active":true,
				"emails":[{"type":"home","value":"home@x","primary":true}]}`},
		},
		{
			name: "PUT without active: the user keeps its state", why: "RFC 7644 §3.5.1 (an attribute left out may be taken as not asserted); an omission neither re-enables nor disables a user",
			method: "PUT", resource: "Users",
			setup: `{` + user + `,"userName":"noactive@x","active":false}`,
			body:  `{` + user + `,"userName":"noactive@x","displayName":"N"}`,
			want:  want{status: 200, doc: `{` + userSchemas + `,"userName":"noactive@x","displayName":"N","active":false}`},
		},
		{
			name: "PATCH removing active: the user is active, and its document says so", why: "RFC 7644 §3.5.2.2 (a removed attribute is unassigned); a user is active unless it says otherwise, and the document showed no active while the user counted as active",
			method: "PATCH", resource: "Users",
			setup: `{` + user + `,"userName":"rmactive@x","active":false}`,
			body:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"active"}]}`,
			want:  want{status: 200, doc: `{` + userSchemas + `,"userName":"rmactive@x","active":true}`},
		},
		{
			name: "one object is validated as the same element in a list", why: "RFC 7643 §2.4; Entra's string booleans (fixture 20-flag-off.disable-user.json) read as in a list",
			method: "POST", resource: "Users",
			body: `{` + user + `,"userName":"single@x","emails":{"value":"single@x","primary":"True","Type":"work"}}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"single@x","active":true,"emails":[{"value":"single@x","primary":true,"type":"work"}]}`},
		},
		{
			name: "one object naming a sub-attribute twice is refused as in a list", why: "RFC 7643 §2.1 (names are case-insensitive)",
			method: "POST", resource: "Users",
			body: `{` + user + `,"userName":"twice@x","emails":{"value":"a@x","VALUE":"b@x"}}`,
			want: want{status: 400, scimType: "invalidSyntax"},
		},
		{
			name: "a group member without a value is refused, as one object as in a list", why: "RFC 7643 §4.2 (a member's value is its id)",
			method: "POST", resource: "Groups",
			body: `{` + group + `,"displayName":"empty","members":{}}`,
			want: want{status: 400, scimType: "invalidValue"},
		},
		{
			name: "PUT: an id in the body is not the resource's", why: "RFC 7643 §3.1 (id is readOnly, assigned by the service provider); RFC 7644 §3.5.1 (readOnly values sent are ignored)",
			method: "PUT", resource: "Users",
			setup: `{` + user + `,"userName":"ownid@x"}`,
			body:  `{` + user + `,"id":"another","userName":"ownid@x","displayName":"O"}`,
			want:  want{status: 200, doc: `{` + userSchemas + `,"userName":"ownid@x","displayName":"O","active":true}`},
		},
		{
			name: "PUT with an If-Match that does not match", why: "RFC 7644 §3.14 (412 Precondition Failed)",
			method: "PUT", resource: "Users", header: []string{"If-Match", `W/"99"`},
			setup: `{` + user + `,"userName":"ifmatch@x"}`,
			body:  `{` + user + `,"userName":"ifmatch@x","displayName":"I"}`,
			want:  want{status: 412},
		},
		{
			name: "PATCH adding a primary value makes it the only primary", why: "RFC 7643 §2.4 (primary true no more than once)",
			method: "PATCH", resource: "Users",
			setup: `{` + user + `,"userName":"pprim@x","emails":[{"type":"work","value":"w@x","primary":true}]}`,
			body:  patchOps + `{"op":"add","path":"emails","value":[{"type":"home","value":"h@x","primary":true}]}]}`,
			want: want{status: 200, doc: `{` + userSchemas + `,"userName":"pprim@x","active":true,
				"emails":[{"type":"work","value":"w@x","primary":false},{"type":"home","value":"h@x","primary":true}]}`},
		},
		{
			name: "PATCH replace through a filter that matches nothing adds the element", why: "Entra's fixture 05-update-user-multivalued (its first PATCH of a user without a work email); RFC 7644 §3.5.2.3 would answer 400 noTarget: scimd's leniency, so Entra never fails",
			method: "PATCH", resource: "Users",
			setup: `{` + user + `,"userName":"pfilt@x","name":{"familyName":"F"}}`,
			body:  patchOps + `{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@x"},{"op":"Replace","path":"name.familyName","value":"G"}]}`,
			want:  want{status: 200, doc: `{` + userSchemas + `,"userName":"pfilt@x","active":true,"name":{"familyName":"G"},"emails":[{"type":"work","value":"w@x"}]}`},
		},
		{
			name: "PATCH of an attribute no schema defines is dropped, the rest applies", why: "RFC 7644 §3.5.2 would allow 400 invalidPath; scimd drops it and names it in the audit (README), as POST and PUT drop unknown attributes",
			method: "PATCH", resource: "Users",
			setup: `{` + user + `,"userName":"punk@x"}`,
			body:  patchOps + `{"op":"replace","path":"shoeSize","value":"9"},{"op":"replace","path":"displayName","value":"D"}]}`,
			want:  want{status: 200, doc: `{` + userSchemas + `,"userName":"punk@x","active":true,"displayName":"D"}`},
		},
		{
			name: "PATCH Entra's string boolean", why: "fixture 20-flag-off.disable-user.json",
			method: "PATCH", resource: "Users",
			setup: `{` + user + `,"userName":"pstr@x"}`,
			body:  patchOps + `{"op":"Replace","path":"active","value":"False"}]}`,
			want:  want{status: 200, doc: `{` + userSchemas + `,"userName":"pstr@x","active":false}`},
		},
		{
			name: "PATCH remove without a path, after a good operation", why: "RFC 7644 §3.5.2.2 (400 noTarget); §3.5.2 (a PATCH is atomic: nothing applies)",
			method: "PATCH", resource: "Users", setup: `{` + user + `,"userName":"pnopath@x"}`,
			body: patchOps + `{"op":"replace","path":"displayName","value":"D"},{"op":"remove"}]}`,
			want: want{status: 400, scimType: "noTarget"},
		},
		{
			name: "PATCH with a path that does not parse, after a good operation", why: "RFC 7644 §3.5.2 (400 invalidPath; atomic)",
			method: "PATCH", resource: "Users", setup: `{` + user + `,"userName":"pbadpath@x"}`,
			body: patchOps + `{"op":"replace","path":"displayName","value":"D"},{"op":"replace","path":"emails[type eq ].value","value":"x"}]}`,
			want: want{status: 400, scimType: "invalidPath"},
		},
		{
			name: "PATCH with a value of the wrong type, after a good operation", why: "RFC 7644 §3.12 invalidValue; §3.5.2 (atomic)",
			method: "PATCH", resource: "Users", setup: `{` + user + `,"userName":"pbadval@x"}`,
			body: patchOps + `{"op":"replace","path":"displayName","value":"D"},{"op":"replace","path":"active","value":"maybe"}]}`,
			want: want{status: 400, scimType: "invalidValue"},
		},
		{
			name: "a group's one member sent as an object is its member", why: "RFC 7643 §2.4 and §4.2; scimd's leniency (it was dropped with a 201)",
			method: "POST", resource: "Groups",
			body: `{` + group + `,"displayName":"solo","members":{"value":"MEMBER"}}`,
			want: want{status: 201, doc: `{` + group + `,"displayName":"solo",
				"members":[{"value":"MEMBER","type":"User","$ref":"https://scim.example/scim/v2/TENANT/Users/MEMBER"}]}`},
		},
		{
			name: "PUT: a group's one member sent as an object is its member", why: "RFC 7643 §2.4 and §4.2; scimd's leniency",
			method: "PUT", resource: "Groups",
			setup: `{` + group + `,"displayName":"put group"}`,
			body:  `{` + group + `,"displayName":"put group","members":{"value":"MEMBER"}}`,
			want: want{status: 200, doc: `{` + group + `,"displayName":"put group",
				"members":[{"value":"MEMBER","type":"User","$ref":"https://scim.example/scim/v2/TENANT/Users/MEMBER"}]}`},
		},
		{
			name: "attribute names are case-insensitive, answered as the schema spells them", why: "RFC 7643 §2.1",
			method: "POST", resource: "Users",
			body: `{` + user + `,"UserName":"case@x","EMAILS":[{"Type":"work","VALUE":"case@x"}],"Name":{"GivenName":"C"}}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"case@x","active":true,
				"emails":[{"type":"work","value":"case@x"}],"name":{"givenName":"C"}}`},
		},
		{
			name: "at most one primary, the last one sent; a repeated element once", why: "RFC 7643 §2.4 (primary true no more than once); issue 10 item 3",
			method: "POST", resource: "Users",
			body: `{` + user + `,"userName":"prim@x","emails":[{"type":"work","value":"w@x","primary":true},{"type":"home","value":"h@x","primary":true},{"type":"WORK","value":"w@x"}]}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"prim@x","active":true,
				"emails":[{"type":"work","value":"w@x","primary":false},{"type":"home","value":"h@x","primary":true}]}`},
		},
		{
			name: "password is never returned; unknown attributes are not kept", why: "RFC 7643 §4.1.1 (password returned never); the FAQ: no password or unmapped-attribute sync",
			method: "POST", resource: "Users",
			body: `{` + user + `,"userName":"pw@x","password":"Secret-1","shoeSize":44,"urn:example:custom:2.0:User":{"x":1}}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"pw@x","active":true}`},
		},
		{
			name: "read-only attributes sent are ignored", why: "RFC 7643 §2.2 (readOnly SHALL NOT be modified), §3.1 (id, meta), §4.1.2 (groups)",
			method: "POST", resource: "Users",
			body: `{` + user + `,"userName":"ro@x","id":"chosen","meta":{"created":"2000-01-01T00:00:00Z"},"groups":[{"value":"g"}]}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"ro@x","active":true}`},
		},
		{
			name: "Entra's string boolean and string manager", why: "fixtures 20-flag-off.disable-user.json and 40-manager.add-as-string.PATCH.json; a POST reads them as a PATCH does",
			method: "POST", resource: "Users",
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + ent + `"],"userName":"entra@x","active":"False",
				"` + ent + `":{"employeeNumber":"7","manager":"boss-id"}}`,
			want: want{status: 201, doc: `{` + userSchemas + `,"userName":"entra@x","active":false,
				"` + ent + `":{"employeeNumber":"7","manager":{"value":"boss-id"}}}`},
		},
		{
			name: "userName is required", why: "RFC 7643 §4.1.1; RFC 7644 §3.12 invalidValue (a required value was missing)",
			method: "POST", resource: "Users", body: `{` + user + `,"displayName":"No Name"}`,
			want: want{status: 400, scimType: "invalidValue"},
		},
		{
			name: "a value of the wrong type", why: "RFC 7644 §3.12 invalidValue (not compatible with the attribute type)",
			method: "POST", resource: "Users", body: `{` + user + `,"userName":5}`,
			want: want{status: 400, scimType: "invalidValue"},
		},
		{
			name: "a multi-valued attribute that is neither list nor object", why: "RFC 7643 §2.4; RFC 7644 §3.12 would allow invalidValue too: invalidSyntax is elimity's answer, kept",
			method: "POST", resource: "Users", body: `{` + user + `,"userName":"str@x","emails":"str@x"}`,
			want: want{status: 400, scimType: "invalidSyntax"},
		},
		{
			name: "one attribute named twice", why: "RFC 7643 §2.1 (names are case-insensitive, so this names userName twice)",
			method: "POST", resource: "Users", body: `{` + user + `,"userName":"a@x","USERNAME":"b@x"}`,
			want: want{status: 400, scimType: "invalidSyntax"},
		},
		{
			name: "a body without schemas", why: "RFC 7643 §3 (schemas is required); RFC 7644 §3.12 (the body does not conform to the request schema; invalidValue would do too: elimity's answer, kept)",
			method: "POST", resource: "Users", body: `{"userName":"noschemas@x"}`,
			want: want{status: 400, scimType: "invalidSyntax"},
		},
		{
			name: "a body that is not one JSON object", why: "RFC 7644 §3.12 invalidSyntax",
			method: "POST", resource: "Users", body: `{` + user + `,"userName":"x@x"}}`,
			want: want{status: 400, scimType: "invalidSyntax"},
		},
		{
			name: "a userName taken, in another case", why: "RFC 7644 §3.3 (409 uniqueness); RFC 7643 §4.1.1 (userName is not case-exact)",
			method: "POST", resource: "Users", body: `{` + user + `,"userName":"TAKEN@X"}`,
			want: want{status: 409, scimType: "uniqueness"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTwoPaths(t, "rfc")
			for _, elimity := range []bool{false, true} {
				p.t = t
				tenant := p.tenants[elimity]
				member := p.create(elimity, "Users", `{`+user+`,"userName":"member@x"}`)
				p.create(elimity, "Users", `{`+user+`,"userName":"taken@x"}`)
				path, setupID := tc.resource, ""
				if tc.method != http.MethodPost {
					setupID = p.create(elimity, tc.resource, tc.setup)
					path += "/" + setupID
				}
				body := strings.ReplaceAll(tc.body, "MEMBER", member)
				status, header, got := p.do(elimity, tc.method, path, body, tc.header...)
				if status != tc.want.status {
					t.Fatalf("elimity's path %t: status %d, want %d (%s): %v", elimity, status, tc.want.status, tc.why, got)
				}
				if ct := header.Get("Content-Type"); ct != "application/scim+json" {
					t.Errorf("elimity's path %t: Content-Type %q (RFC 7644 §3.1)", elimity, ct)
				}
				if status >= 400 {
					if scimType, _ := got["scimType"].(string); scimType != tc.want.scimType || got["status"] != strconv.Itoa(status) {
						t.Errorf("elimity's path %t: error %v, want scimType %q and status %q (RFC 7644 §3.12; %s)", elimity, got, tc.want.scimType, strconv.Itoa(status), tc.why)
					}
					if setupID != "" { // a refused change changes nothing
						if _, h, _ := p.do(elimity, http.MethodGet, path, ""); h.Get("ETag") != `W/"1"` {
							t.Errorf("elimity's path %t: ETag %q after a refused change, want W/\"1\"", elimity, h.Get("ETag"))
						}
					}
					continue
				}
				id, _ := got["id"].(string)
				meta, _ := got["meta"].(map[string]any)
				location := "https://scim.example/scim/v2/" + tenant + "/" + tc.resource + "/" + id
				if id == "" || id == "chosen" || setupID != "" && id != setupID || meta["location"] != location || meta["version"] != header.Get("ETag") {
					t.Errorf("elimity's path %t: id %q, meta %v, ETag %q: want a new id, its location and the ETag (RFC 7644 §3.3, §3.14)", elimity, id, meta, header.Get("ETag"))
				}
				if tc.method == http.MethodPost && header.Get("Location") != location {
					t.Errorf("elimity's path %t: Location %q, want %q (RFC 7644 §3.3)", elimity, header.Get("Location"), location)
				}
				delete(got, "id")
				delete(got, "meta")
				var want map[string]any
				doc := strings.ReplaceAll(strings.ReplaceAll(tc.want.doc, "MEMBER", member), "TENANT", tenant)
				if err := json.Unmarshal([]byte(doc), &want); err != nil {
					t.Fatalf("want: %v", err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("elimity's path %t (%s), answer (-want +got):\n%s", elimity, tc.why, d)
				}
				// What is stored is what was answered.
				_, _, stored := p.do(elimity, http.MethodGet, tc.resource+"/"+id, "")
				delete(stored, "id")
				delete(stored, "meta")
				if d := cmp.Diff(want, stored); d != "" {
					t.Errorf("elimity's path %t (%s), read back (-want +got):\n%s", elimity, tc.why, d)
				}
			}
		})
	}
}
