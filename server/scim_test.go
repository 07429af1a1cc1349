package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func userBody(userName string, extra ...string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + enterprise + `"],"userName":"` + userName + `"` + strings.Join(extra, "") + `}`
}

// TestConcurrentCreateSameUserName: many clients creating one userName at
// once make exactly one user.
func TestConcurrentCreateSameUserName(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(1000)
		const n, rounds = 32, 5
		for round := 0; round < rounds; round++ {
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					name := fmt.Sprintf("Same.Person%d@Example.com", round)
					if i%2 == 0 {
						name = strings.ToLower(name) // uniqueness ignores case
					}
					statuses[i] = h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(name)).status
				}(i)
			}
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[201] != 1 || count[409] != n-1 {
				t.Fatalf("round %d: statuses %v, want one 201 and %d 409", round, count, n-1)
			}
		}
		list := h.do(http.MethodGet, tn.Base+"/Users", tn.SCIMToken, nil).want(200).json()
		eq(t, list["totalResults"], float64(rounds))
	})
}

// TestTenantIsolation: a token works for its tenant alone, and ids of one
// tenant mean nothing through another's URL.
func TestTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		a, b := h.newTenant(10), h.newTenant(10)
		uid := h.do(http.MethodPost, b.Base+"/Users", b.SCIMToken, userBody("bob@b")).want(201).json()["id"].(string)
		gid := h.do(http.MethodPost, b.Base+"/Groups", b.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"B team"}`).want(201).json()["id"].(string)

		for _, tc := range []struct {
			name, method, path, token string
			want                      int
		}{
			{"A's token on B's URL", http.MethodGet, b.Base + "/Users/" + uid, a.SCIMToken, 401},
			{"A's admin token on B's SCIM URL", http.MethodGet, b.Base + "/Users", b.AdminToken, 401},
			{"no token", http.MethodGet, b.Base + "/Users", "", 401},
			{"wrong token", http.MethodGet, b.Base + "/Users", "nope", 401},
			{"unknown tenant", http.MethodGet, "/scim/v2/no-such-tenant/Users", a.SCIMToken, 401},
			{"B's user id through A", http.MethodGet, a.Base + "/Users/" + uid, a.SCIMToken, 404},
			{"B's group id through A", http.MethodGet, a.Base + "/Groups/" + gid, a.SCIMToken, 404},
			{"patch B's user through A", http.MethodPatch, a.Base + "/Users/" + uid, a.SCIMToken, 404},
			{"delete B's user through A", http.MethodDelete, a.Base + "/Users/" + uid, a.SCIMToken, 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				var body any
				if tc.method == http.MethodPatch {
					body = fixture(t, "22-flag-off.add-single-value.json")
				}
				res := h.do(tc.method, tc.path, tc.token, body)
				if res.status != tc.want {
					t.Fatalf("status %d, want %d: %s", res.status, tc.want, res.body)
				}
				if tc.want == 401 && res.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				if m := res.json(); path(m, "schemas", 0) != "urn:ietf:params:scim:api:messages:2.0:Error" {
					t.Fatalf("not a SCIM error: %s", res.body)
				}
			})
		}
		h.t = t
		if got := h.do(http.MethodGet, a.Base+"/Users", a.SCIMToken, nil).json()["totalResults"]; got != float64(0) {
			t.Fatalf("A sees B's users: %v", got)
		}
		// B's data is intact.
		h.do(http.MethodGet, b.Base+"/Users/"+uid, b.SCIMToken, nil).want(200)
	})
}

// TestErrors: every client mistake gets a precise 4xx in SCIM's format.
func TestErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(1)
		uid := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("taken@x", `,"externalId":"ext-1"`)).want(201).json()["id"].(string)
		gid := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Taken"}`).want(201).json()["id"].(string)
		etag := h.do(http.MethodGet, tn.Base+"/Users/"+uid, tn.SCIMToken, nil).header.Get("ETag")

		for _, tc := range []struct {
			name, method, path string
			body               any
			headers            []string
			status             int
			scimType           string
		}{
			{"bad filter", http.MethodGet, "/Users?filter=" + url.QueryEscape(`userName eq`), nil, nil, 400, "invalidFilter"},
			{"filter on unknown attribute", http.MethodGet, "/Users?filter=" + url.QueryEscape(`shoeSize eq "x"`), nil, nil, 400, "invalidFilter"},
			{"value path on unknown attribute", http.MethodGet, "/Users?filter=" + url.QueryEscape(`shoes[type eq "x"]`), nil, nil, 400, "invalidFilter"},
			{"value path a group does not have", http.MethodGet, "/Groups?filter=" + url.QueryEscape(`emails[type eq "work"]`), nil, nil, 400, "invalidFilter"},
			{"value path on a simple attribute", http.MethodGet, "/Users?filter=" + url.QueryEscape(`userName[value eq "x"]`), nil, nil, 400, "invalidFilter"},
			{"value path inside or", http.MethodGet, "/Groups?filter=" + url.QueryEscape(`displayName eq "x" or emails[type eq "work"].value eq "a"`), nil, nil, 400, "invalidFilter"},
			{"unknown user", http.MethodGet, "/Users/nope", nil, nil, 404, ""},
			{"unknown group", http.MethodPatch, "/Groups/nope", fixture(t, "09-update-group-displayname.PATCH-Groups.request.json"), nil, 404, ""},
			{"duplicate userName, other case", http.MethodPost, "/Users", userBody("TAKEN@x"), nil, 409, "uniqueness"},
			{"duplicate group displayName", http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"taken"}`, nil, 409, "uniqueness"},
			{"license limit", http.MethodPost, "/Users", userBody("second@x"), nil, 403, ""},
			{"not JSON", http.MethodPost, "/Users", "{", nil, 400, "invalidSyntax"},
			{"a stray bracket after the body", http.MethodPost, "/Users", userBody("stray@x") + "}", nil, 400, "invalidSyntax"},
			{"a stray bracket after a PUT body", http.MethodPut, "/Users/" + uid, userBody("stray@x") + "]", nil, 400, "invalidSyntax"},
			{"a stray bracket after a patch", http.MethodPatch, "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}}`, nil, 400, "invalidSyntax"},
			{"a stray bracket after a group", http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Stray"}}`, nil, 400, "invalidSyntax"},
			{"a group PUT body that is not an object", http.MethodPut, "/Groups/" + gid, `[{"displayName":"Taken"}]`, nil, 400, "invalidSyntax"},
			{"a group body on a route that takes none", http.MethodPut, "/Groups/.search", `{`, nil, 405, ""},
			{"a group body on a route that takes none, escaped", http.MethodPut, "/Groups/%2Esearch", `{`, nil, 405, ""},
			{"a group body posted to a group", http.MethodPost, "/Groups/" + gid, `{`, nil, 404, ""},
			{"missing userName", http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, nil, 400, "invalidValue"},
			{"wrong type", http.MethodPost, "/Users", userBody("x@x", `,"active":"maybe"`), nil, 400, "invalidValue"},
			{"patch bad path", http.MethodPatch, "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq ].value","value":"9"}]}`, nil, 400, "invalidPath"},
			{"patch remove without path", http.MethodPatch, "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`, nil, 400, "noTarget"},
			{"patch not JSON", http.MethodPatch, "/Users/" + uid, `nope`, nil, 400, "invalidSyntax"},
			{"if-match mismatch on patch", http.MethodPatch, "/Users/" + uid, fixture(t, "22-flag-off.add-single-value.json"), []string{"If-Match", `W/"999"`}, 412, ""},
			{"if-match mismatch on delete", http.MethodDelete, "/Users/" + uid, nil, []string{"If-Match", `W/"999"`}, 412, ""},
			{"unknown endpoint", http.MethodGet, "/Widgets", nil, nil, 404, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h.t = t
				res := h.do(tc.method, tn.Base+tc.path, tn.SCIMToken, tc.body, tc.headers...)
				if res.status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
				}
				m := res.json()
				eq(t, path(m, "schemas", 0), "urn:ietf:params:scim:api:messages:2.0:Error")
				eq(t, m["status"], fmt.Sprint(tc.status))
				if tc.scimType != "" {
					eq(t, m["scimType"], tc.scimType)
				}
				if strings.Contains(strings.ToLower(string(res.body)), "redis") {
					t.Fatalf("error leaks internals: %s", res.body)
				}
			})
		}
		h.t = t
		// A matching If-Match goes through.
		h.do(http.MethodPatch, tn.Base+"/Users/"+uid, tn.SCIMToken, fixture(t, "22-flag-off.add-single-value.json"), "If-Match", etag).want(200)
		// The license refusal says how many seats are used.
		res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("third@x")).want(403).json()
		if d, _ := res["detail"].(string); !strings.Contains(d, "license") || !strings.Contains(d, "1 of 1") {
			t.Fatalf("license detail: %q", d)
		}
		// Deactivating frees the seat.
		h.do(http.MethodPatch, tn.Base+"/Users/"+uid, tn.SCIMToken, fixture(t, "20-flag-off.disable-user.json")).want(200)
		h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("third@x")).want(201)
	})
}

// TestFilters covers the operators and attributes Entra and admins use.
func TestFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		mk := func(userName, ext, email, empNo, display string) string {
			body := userBody(userName, `,"externalId":"`+ext+`","displayName":"`+display+`","emails":[{"type":"work","value":"`+email+`"},{"type":"home","value":"home-`+email+`"}],"`+enterprise+`":{"employeeNumber":"`+empNo+`"}`)
			return h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, body).want(201).json()["id"].(string)
		}
		alice := mk("alice@corp.example", "ext-a", "Alice@Corp.Example", "100", "Alice Archer")
		bob := mk("bob@corp.example", "ext-b", "bob@corp.example", "200", "Bob Baker")
		carol := mk("carol@other.example", "ext-c", "carol@other.example", "300", "")
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`userName eq "ALICE@corp.example"`, []string{alice}},
			{`externalId eq "ext-b"`, []string{bob}},
			{`externalId eq "EXT-B"`, nil},
			{`id eq "` + carol + `"`, []string{carol}},
			{`emails[type eq "work"].value eq "alice@corp.example"`, []string{alice}},
			{`emails[type eq "work" and value eq "bob@corp.example"]`, []string{bob}},
			{`emails.value eq "home-bob@corp.example"`, []string{bob}},
			{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "300"`, []string{carol}},
			{`userName sw "bob"`, []string{bob}},
			{`userName co "corp"`, []string{alice, bob}},
			{`userName ne "alice@corp.example"`, []string{bob, carol}},
			{`displayName pr`, []string{alice, bob}},
			{`userName eq "alice@corp.example" or externalId eq "ext-c"`, []string{alice, carol}},
			{`userName sw "a" and externalId eq "ext-a"`, []string{alice}},
			{`userName sw "b" and externalId eq "ext-a"`, nil},
			{`userName eq "nobody"`, nil},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				h.t = t
				res := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(tc.filter), tn.SCIMToken, nil).want(200).json()
				var got []string
				for _, r := range asList(res["Resources"]) {
					got = append(got, path(r, "id").(string))
				}
				if !sameSet(got, tc.want) || res["totalResults"] != float64(len(tc.want)) {
					t.Fatalf("got %v (total %v), want %v", got, res["totalResults"], tc.want)
				}
			})
		}
	})
}

// TestPagingAndProjection: startIndex/count page in creation order, and
// attributes/excludedAttributes shape each resource.
func TestPagingAndProjection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		var ids []string
		for i := 0; i < 7; i++ {
			ids = append(ids, h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody(fmt.Sprintf("p%d@x", i), `,"displayName":"P"`)).want(201).json()["id"].(string))
		}
		page := h.do(http.MethodGet, tn.Base+"/Users?startIndex=3&count=2", tn.SCIMToken, nil).want(200).json()
		eq(t, page["totalResults"], float64(7))
		eq(t, page["startIndex"], float64(3))
		eq(t, len(asList(page["Resources"])), 2)
		eq(t, path(page, "Resources", 0, "id"), ids[2])
		eq(t, path(page, "Resources", 1, "id"), ids[3])

		filtered := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(`displayName eq "P"`)+"&startIndex=6&count=5", tn.SCIMToken, nil).want(200).json()
		eq(t, filtered["totalResults"], float64(7))
		eq(t, len(asList(filtered["Resources"])), 2)

		only := h.do(http.MethodGet, tn.Base+"/Users/"+ids[0]+"?attributes=userName", tn.SCIMToken, nil).want(200).json()
		eq(t, only["userName"], "p0@x")
		eq(t, only["id"], ids[0])
		if _, ok := only["displayName"]; ok {
			t.Fatalf("attributes=userName kept displayName: %v", only)
		}
		without := h.do(http.MethodGet, tn.Base+"/Users/"+ids[0]+"?excludedAttributes=displayName", tn.SCIMToken, nil).want(200).json()
		if _, ok := without["displayName"]; ok || without["userName"] != "p0@x" {
			t.Fatalf("excludedAttributes=displayName: %v", without)
		}
	})
}

// TestDiscovery: the discovery endpoints tell the truth.
func TestDiscovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(1)
		spc := h.do(http.MethodGet, tn.Base+"/ServiceProviderConfig", tn.SCIMToken, nil).want(200).json()
		eq(t, path(spc, "patch", "supported"), true)
		eq(t, path(spc, "filter", "supported"), true)
		eq(t, path(spc, "etag", "supported"), true)
		eq(t, path(spc, "bulk", "supported"), false)
		eq(t, path(spc, "sort", "supported"), false)
		eq(t, path(spc, "changePassword", "supported"), false)

		rts := h.do(http.MethodGet, tn.Base+"/ResourceTypes", tn.SCIMToken, nil).want(200).json()
		eq(t, rts["totalResults"], float64(2))
		schemas := h.do(http.MethodGet, tn.Base+"/Schemas", tn.SCIMToken, nil).want(200)
		if strings.Contains(string(schemas.body), `"name":"password"`) {
			t.Fatal("the User schema offers password, which is never stored")
		}
		h.do(http.MethodGet, tn.Base+"/Schemas/"+enterprise, tn.SCIMToken, nil).want(200)
	})
}

// TestPasswordNeverStored: a password in a create is dropped, never returned.
func TestPasswordNeverStored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		res := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("pw@x", `,"password":"hunter2"`)).want(201)
		get := h.do(http.MethodGet, tn.Base+"/Users/"+res.json()["id"].(string), tn.SCIMToken, nil).want(200)
		if strings.Contains(string(res.body)+string(get.body), "hunter2") {
			t.Fatal("password returned")
		}
	})
}
