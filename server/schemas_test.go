package server_test

import (
	"fmt"
	"net/http"
	"net/url"
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

// subAttrs indexes a published attribute's sub-attributes by name.
func subAttrs(t *testing.T, schemaDoc map[string]any, attr string) map[string]map[string]any {
	t.Helper()
	for _, a := range asList(schemaDoc["attributes"]) {
		if path(a, "name") == attr {
			out := map[string]map[string]any{}
			for _, s := range asList(path(a, "subAttributes")) {
				m, _ := s.(map[string]any)
				out[m["name"].(string)] = m
			}
			return out
		}
	}
	t.Fatalf("schema %v has no %q", schemaDoc["id"], attr)
	return nil
}

// TestGroupSchemaTellsTheTruth: Group members are users only (nested
// groups are refused), and a member's display, which scimd does not keep,
// is not published; a client sending it is still served.
func TestGroupSchemaTellsTheTruth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, uids, _ := queryDirectory(h, 1, 0)
		doc := h.do(http.MethodGet, tn.Base+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", tn.SCIMToken, nil).want(200).json()
		members := subAttrs(t, doc, "members")
		if _, ok := members["display"]; ok {
			t.Error("members.display is published but never kept")
		}
		eq(t, fmt.Sprint(members["type"]["canonicalValues"]), "[User]")
		eq(t, fmt.Sprint(members["$ref"]["referenceTypes"]), "[User]")

		g := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Shown",
			"members": []map[string]any{{"value": uids[0], "display": "Somebody", "type": "User"}},
		}).want(201).json()
		eq(t, path(g, "members", 0, "value"), uids[0])
		eq(t, path(g, "members", 0, "display"), nil)
		got := h.do(http.MethodGet, tn.Base+"/Groups/"+g["id"].(string), tn.SCIMToken, nil).want(200).json()
		eq(t, path(got, "members", 0, "type"), "User")
		eq(t, path(got, "members", 0, "display"), nil)
		m := h.do(http.MethodGet, tn.Base+"/Groups?filter="+url.QueryEscape(`members.display eq "Somebody"`), tn.SCIMToken, nil).want(400).json()
		eq(t, m["scimType"], "invalidFilter")
	})
}

// TestUserGroups: User.groups is published returned-on-request and served
// from the reverse member index with ?attributes=groups (a plain GET has
// none); filter=groups.value eq "<id>" finds the group's members.
func TestUserGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, uids, gids := queryDirectory(h, 3, 2)
		doc := h.do(http.MethodGet, tn.Base+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", tn.SCIMToken, nil).want(200).json()
		for _, a := range asList(doc["attributes"]) {
			if path(a, "name") == "groups" {
				eq(t, path(a, "returned"), "request")
			}
		}
		groups := subAttrs(t, doc, "groups")
		eq(t, fmt.Sprint(groups["$ref"]["referenceTypes"]), "[Group]")
		eq(t, fmt.Sprint(groups["type"]["canonicalValues"]), "[direct]")

		add := func(gid string, users ...string) {
			var vals []map[string]any
			for _, u := range users {
				vals = append(vals, map[string]any{"value": u})
			}
			h.do(http.MethodPatch, tn.Base+"/Groups/"+gid, tn.SCIMToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "add", "path": "members", "value": vals}}}).want(204)
		}
		add(gids[0], uids[0], uids[1])
		add(gids[1], uids[1])

		plain := h.do(http.MethodGet, tn.Base+"/Users/"+uids[1], tn.SCIMToken, nil).want(200).json()
		eq(t, plain["groups"], nil)
		got := h.do(http.MethodGet, tn.Base+"/Users/"+uids[1]+"?attributes=userName,groups", tn.SCIMToken, nil).want(200).json()
		eq(t, got["userName"], "q1@example.com")
		eq(t, len(asList(got["groups"])), 2)
		eq(t, path(got, "groups", 0, "value"), gids[0]) // by name: Group 0, Group 1
		eq(t, path(got, "groups", 0, "display"), "Group 0")
		eq(t, path(got, "groups", 0, "type"), "direct")
		eq(t, path(got, "groups", 0, "$ref"), "http://scimd.test"+tn.Base+"/Groups/"+gids[0])
		none := h.do(http.MethodGet, tn.Base+"/Users/"+uids[2]+"?attributes=groups", tn.SCIMToken, nil).want(200).json()
		eq(t, len(asList(none["groups"])), 0)
		fast := h.do(http.MethodGet, tn.Base+"/Users?attributes=groups&filter="+url.QueryEscape(`userName eq "q0@example.com"`), tn.SCIMToken, nil).want(200).json()
		eq(t, path(fast, "Resources", 0, "groups", 0, "value"), gids[0])
		list := h.do(http.MethodGet, tn.Base+"/Users?attributes=groups", tn.SCIMToken, nil).want(200).json()
		eq(t, len(asList(path(list, "Resources", 1, "groups"))), 2)

		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`groups.value eq "` + gids[0] + `"`, []string{uids[0], uids[1]}},
			{`groups eq "` + gids[1] + `"`, []string{uids[1]}},
			{`groups[value eq "` + gids[1] + `"]`, []string{uids[1]}},
			{`groups.value eq "` + gids[0] + `" and userName eq "q0@example.com"`, []string{uids[0]}},
			{`groups.value eq "nosuchgroup"`, nil},
			{`not (groups.value eq "` + gids[0] + `")`, []string{uids[2]}},
			{`groups pr`, []string{uids[0], uids[1]}},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				m := h.do(http.MethodGet, tn.Base+"/Users?filter="+url.QueryEscape(tc.filter), tn.SCIMToken, nil).want(200).json()
				eq(t, fmt.Sprint(ids(m)), fmt.Sprint(tc.want))
			})
		}
	})
}
