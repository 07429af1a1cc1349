package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestFixturesMatchShared keeps testdata/entra identical to the team's
// shared fixtures when those sit beside the repository (as in CI).
func TestFixturesMatchShared(t *testing.T) {
	shared := filepath.Join("..", "..", "shared", "entra-fixtures")
	entries, err := os.ReadDir(shared)
	if err != nil {
		t.Skipf("no shared fixtures beside the repository: %v", err)
	}
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(shared, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("testdata", "entra", e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/entra/%s differs from shared/entra-fixtures (copy it again)", e.Name())
		}
	}
}

// TestUserFixtures replays every user PATCH Entra sends on a user made from
// fixture 01, and checks what was stored by reading the user back.
func TestUserFixtures(t *testing.T) {
	cases := []struct {
		fixture string
		check   func(t *testing.T, u map[string]any)
	}{
		{"05-update-user-multivalued.PATCH-Users.request.json", func(t *testing.T, u map[string]any) {
			eq(t, path(u, "emails", 0, "value"), "updatedEmail@microsoft.com")
			eq(t, path(u, "emails", 0, "type"), "work")
			eq(t, path(u, "name", "familyName"), "updatedFamilyName")
			eq(t, path(u, "name", "givenName"), "givenName")
		}},
		{"06-update-user-username.PATCH-Users.request.json", func(t *testing.T, u map[string]any) {
			eq(t, u["userName"], "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com")
		}},
		{"07-disable-user.PATCH-Users.request.json", func(t *testing.T, u map[string]any) { eq(t, u["active"], false) }},
		{"20-flag-off.disable-user.json", func(t *testing.T, u map[string]any) { eq(t, u["active"], false) }},
		{"21-flag-on.disable-user.json", func(t *testing.T, u map[string]any) { eq(t, u["active"], false) }},
		{"22-flag-off.add-single-value.json", func(t *testing.T, u map[string]any) { eq(t, u["nickName"], "Babs") }},
		{"23-flag-on.add-single-value.json", func(t *testing.T, u map[string]any) { eq(t, u["nickName"], "Babs") }},
		{"24-flag-off.replace-multiple.json", func(t *testing.T, u map[string]any) {
			eq(t, u["displayName"], "Pvlo")
			eq(t, path(u, "emails", 0, "value"), "TestBcwqnm@test.microsoft.com")
			eq(t, path(u, "name", "givenName"), "Gtfd")
			eq(t, path(u, "name", "familyName"), "Pkqf")
			eq(t, u["externalId"], "Eqpj")
			eq(t, path(u, enterprise, "employeeNumber"), "Eqpj")
		}},
		{"25-flag-on.replace-multiple.json", func(t *testing.T, u map[string]any) {
			eq(t, path(u, "emails", 0, "value"), "TestMhvaes@test.microsoft.com")
			eq(t, u["displayName"], "Bjfe")
			eq(t, path(u, "name", "givenName"), "Kkom")
			eq(t, path(u, "name", "familyName"), "Unua")
			eq(t, path(u, enterprise, "employeeNumber"), "Aklq")
		}},
		{"31-roles.SingleAppRoleAssignment.PATCH.json", func(t *testing.T, u map[string]any) {
			eq(t, len(asList(u["roles"])), 1)
		}},
		{"32-roles.AppRoleAssignmentsComplex.PATCH.json", func(t *testing.T, u map[string]any) {
			eq(t, len(asList(u["roles"])), 2)
		}},
		{"33-roles.AssertiveAppRoleAssignmentsComplex.PATCH.json", func(t *testing.T, u map[string]any) {
			eq(t, len(asList(u["roles"])), 2)
			eq(t, path(u, "roles", 0, "value"), "User")
		}},
		{"40-manager.add-as-string.PATCH.json", func(t *testing.T, u map[string]any) {
			eq(t, path(u, enterprise, "manager", "value"), "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2")
		}},
		{"41-manager.legacy-doc-example5.PATCH.json", func(t *testing.T, u map[string]any) {
			eq(t, path(u, enterprise, "manager", "value"), "00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
		}},
		{"42-manager.validator-remove-via-empty.PATCH.json", func(t *testing.T, u map[string]any) {
			eq(t, path(u, enterprise, "manager"), nil)
		}},
	}
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		for _, tc := range cases {
			t.Run(tc.fixture, func(t *testing.T) {
				h.t = t
				body := []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + enterprise + `"],
					"userName":"u-` + tc.fixture[:2] + `@example.com","externalId":"ext-` + tc.fixture[:2] + `","active":true,
					"name":{"givenName":"givenName","familyName":"familyName"},
					"emails":[{"type":"work","value":"u-` + tc.fixture[:2] + `@example.com","primary":true}],
					"` + enterprise + `":{"employeeNumber":"E1","manager":{"value":"m-1"}}}`)
				u := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, body).want(201).json()
				id := u["id"].(string)
				res := h.do(http.MethodPatch, tn.Base+"/Users/"+id, tn.SCIMToken, fixture(t, tc.fixture))
				if res.status != 200 && res.status != 204 {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				tc.check(t, h.do(http.MethodGet, tn.Base+"/Users/"+id, tn.SCIMToken, nil).want(200).json())
			})
		}
	})
}

// TestUserCreateFixtures posts Entra's user bodies and reads them back.
func TestUserCreateFixtures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		for _, tc := range []struct {
			fixture string
			check   func(t *testing.T, u map[string]any)
		}{
			{"01-create-user.POST-Users.request.json", func(t *testing.T, u map[string]any) {
				eq(t, u["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
				eq(t, path(u, "name", "formatted"), "givenName familyName")
				eq(t, path(u, "emails", 0, "primary"), true)
				eq(t, u["active"], true)
			}},
			{"30-roles.SingleAppRoleAssignment.POST.json", func(t *testing.T, u map[string]any) {
				eq(t, u["userName"], "alias@contoso.OnMicrosoft.com")
				eq(t, path(u, "roles", 0, "value"), "Admin")
			}},
			{"43-legacy-doc-example2.POST-Users.json", func(t *testing.T, u map[string]any) {
				eq(t, u["userName"], "jyoung@testuser.com")
				eq(t, u["displayName"], "Joy Young")
				eq(t, path(u, "emails", 0, "value"), "jyoung@Contoso.com")
			}},
		} {
			t.Run(tc.fixture, func(t *testing.T) {
				h.t = t
				u := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, fixture(t, tc.fixture)).want(201).json()
				tc.check(t, u)
				tc.check(t, h.do(http.MethodGet, tn.Base+"/Users/"+u["id"].(string), tn.SCIMToken, nil).want(200).json())
			})
		}
	})
}

// TestGroupFixtures replays Entra's (and its validator's) group PATCHes.
func TestGroupFixtures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		newUser := func(name string) string {
			body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `"}`
			return h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, body).want(201).json()["id"].(string)
		}
		a, b, c := newUser("a@x"), newUser("b@x"), newUser("c@x")
		members := func(gid string) []string {
			var out []string
			for _, m := range asList(h.do(http.MethodGet, tn.Base+"/Groups/"+gid, tn.SCIMToken, nil).want(200).json()["members"]) {
				out = append(out, path(m, "value").(string))
			}
			return out
		}
		for _, tc := range []struct {
			fixture     string
			start       []string
			replace     []string
			wantMembers []string
			wantName    string
		}{
			{"09-update-group-displayname.PATCH-Groups.request.json", nil, nil, nil, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"},
			{"10-group-add-members.PATCH-Groups.request.json", []string{b}, []string{"f648f8d5ea4e4cd38e9c", a}, []string{a, b}, ""},
			{"11-group-remove-members.PATCH-Groups.request.json", []string{a, b}, []string{"f648f8d5ea4e4cd38e9c", a}, []string{b}, ""},
			{"26-flag-off.remove-group-member.json", []string{a, c}, []string{"u1091", c}, []string{a}, ""},
			{"27-flag-on.remove-group-member.json", []string{a, b}, []string{"7f4bc1a3-285e-48ae-8202-5accb43efb0e", a}, []string{b}, ""},
			{"50-validator.group-patch-replace-novalue-path.json", nil, nil, nil, "WUZPWMBDDCGI"},
			{"51-validator.group-replace-members.json", []string{a}, []string{"ee90548a-11dd-4795-b3ac-9cfcd99232bc", b, "35ddd382-61d2-48ec-a366-11d37d83d765", c}, []string{b, c}, ""},
			{"52-validator.group-add-then-remove-same-member.json", []string{b}, []string{"761ac150-9d77-49b2-8f3f-8ec2eacf99da", a}, []string{b}, ""},
		} {
			t.Run(tc.fixture, func(t *testing.T) {
				h.t = t
				var ms []map[string]string
				for _, m := range tc.start {
					ms = append(ms, map[string]string{"value": m})
				}
				g := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
					"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "g-" + tc.fixture[:2], "members": ms,
				}).want(201).json()
				gid := g["id"].(string)
				h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, fixtureWith(t, tc.fixture, tc.replace...)).want(204)
				if tc.wantName != "" {
					eq(t, h.do(http.MethodGet, tn.Base+"/Groups/"+gid, tn.SCIMToken, nil).json()["displayName"], tc.wantName)
				}
				if tc.replace != nil || tc.start != nil {
					got := members(gid)
					if !sameSet(got, tc.wantMembers) {
						t.Fatalf("members %v, want %v", got, tc.wantMembers)
					}
				}
			})
		}
	})
}

// TestResponseFixtures checks our answers have the shape of Entra's examples.
func TestResponseFixtures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		zero := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(`userName eq "non-existent user"`), tn.SCIMToken, nil).want(200).json()
		var want map[string]any
		response{t: t, body: fixture(t, "03-get-user-by-query-zero.response-200.json")}.decode(&want)
		for _, k := range []string{"schemas", "totalResults", "Resources", "startIndex"} {
			if _, ok := zero[k]; !ok {
				t.Errorf("list response lacks %q: %v", k, zero)
			}
		}
		eq(t, zero["totalResults"], want["totalResults"])
		eq(t, len(asList(zero["Resources"])), 0)

		nf := h.do(http.MethodGet, tn.Base+"/Users/5171a35d82074e068ce2", tn.SCIMToken, nil).want(404).json()
		eq(t, path(nf, "schemas", 0), "urn:ietf:params:scim:api:messages:2.0:Error")
		eq(t, nf["status"], "404")

		g := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, fixture(t, "08-create-group.POST-Groups.request.json")).want(201).json()
		eq(t, g["displayName"], "displayName")
		eq(t, g["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
		eq(t, path(g, "meta", "resourceType"), "Group")
	})
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
