package server_test

import (
	"net/http"
	"net/url"
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
