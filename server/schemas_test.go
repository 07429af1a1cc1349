package server_test

import (
	"net/http"
	"testing"
)

// TestDiscoveryAnswersOnlyGet: every method but GET on the discovery
// endpoints answers 405 with Allow: GET (elimity answered a POST or PUT on
// ServiceProviderConfig with its own default configuration).
func TestDiscoveryAnswersOnlyGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		for _, p := range []string{"/ServiceProviderConfig", "/Schemas", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "/ResourceTypes", "/ResourceTypes/User"} {
			h.do(http.MethodGet, tn.Base+p, tn.SCIMToken, nil).want(200)
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				t.Run(m+" "+p, func(t *testing.T) {
					r := h.do(m, tn.Base+p, tn.SCIMToken, map[string]any{"schemas": []string{"x"}}).want(405)
					eq(t, r.header.Get("Allow"), "GET")
					eq(t, r.json()["status"], "405")
				})
			}
		}
		h.do(http.MethodPost, tn.Base+"/ServiceProviderConfig", "", nil).want(401)
	})
}

// TestPatchWithAttributes: a PATCH asking for attributes answers 200 with
// them (RFC 7644 §3.5.2), groups included; a plain group PATCH stays 204,
// as Entra expects.
func TestPatchWithAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, uids, gids := queryDirectory(h, 1, 1)
		op := func(v string) map[string]any {
			return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "replace", "path": "displayName", "value": v}}}
		}
		h.do(http.MethodPatch, tn.Base+"/Groups/"+gids[0], tn.SCIMToken, op("Plain")).want(204)
		add := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []map[string]any{{"op": "add", "path": "members", "value": []map[string]any{{"value": uids[0]}}}}}
		h.do(http.MethodPatch, tn.Base+"/Groups/"+gids[0], tn.SCIMToken, add).want(204)

		r := h.do(http.MethodPatch, tn.Base+"/Groups/"+gids[0]+"?attributes=displayName", tn.SCIMToken, op("Asked")).want(200)
		m := r.json()
		eq(t, m["displayName"], "Asked")
		eq(t, m["id"], gids[0])
		eq(t, m["members"], nil)
		if r.header.Get("ETag") == "" {
			t.Error("200 PATCH without ETag")
		}
		m = h.do(http.MethodPatch, tn.Base+"/Groups/"+gids[0]+"?attributes=members", tn.SCIMToken, op("With members")).want(200).json()
		eq(t, path(m, "members", 0, "value"), uids[0])
		eq(t, m["displayName"], nil)
		m = h.do(http.MethodPatch, tn.Base+"/Users/"+uids[0]+"?attributes=displayName", tn.SCIMToken, op("User asked")).want(200).json()
		eq(t, m["displayName"], "User asked")
		eq(t, m["userName"], nil)
	})
}
