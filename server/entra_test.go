package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestEntraProvisioningFlow walks through what Entra ID does to an app, in
// its order, checking stored state after each step.
func TestEntraProvisioningFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		users, groups := tn.Base+"/Users", tn.Base+"/Groups"
		q := func(filter string) string { return "?filter=" + url.QueryEscape(filter) }

		// Test connection: a filter on a random GUID must answer an empty list, never 404.
		res := h.do(http.MethodGet, users+q(`userName eq "6d3f1d3a-1b57-4ab1-9a43-54d0d1b0f0a1"`), tn.SCIMToken, nil).want(200).json()
		if res["totalResults"] != float64(0) || len(res["Resources"].([]any)) != 0 {
			t.Fatalf("test connection: %v", res)
		}
		if got := h.do(http.MethodGet, users+q(`userName eq "x"`)+"&aadOptscim062020", tn.SCIMToken, nil).status; got != 200 {
			t.Fatalf("unknown query parameter: status %d", got)
		}

		// Create after an empty filter.
		created := h.do(http.MethodPost, users, tn.SCIMToken, fixture(t, "01-create-user.POST-Users.request.json")).want(201)
		user := created.json()
		id, _ := user["id"].(string)
		if id == "" || created.header.Get("ETag") == "" || created.header.Get("Location") != "http://scimd.test"+users+"/"+id {
			t.Fatalf("create: id %q etag %q location %q", id, created.header.Get("ETag"), created.header.Get("Location"))
		}
		if ct := created.header.Get("Content-Type"); ct != "application/scim+json" {
			t.Fatalf("content type %q", ct)
		}
		if path(user, "meta", "location") != "http://scimd.test"+users+"/"+id || path(user, "meta", "version") == nil || path(user, "meta", "created") == nil {
			t.Fatalf("meta: %v", user["meta"])
		}
		found := h.do(http.MethodGet, users+q(`userName eq "test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`), tn.SCIMToken, nil).want(200).json()
		if found["totalResults"] != float64(1) || path(found, "Resources", 0, "id") != id {
			t.Fatalf("filter by userName (case-insensitive): %v", found)
		}

		// Attribute update (multi-valued path with a value filter, and a sub-attribute).
		h.do(http.MethodPatch, users+"/"+id, tn.SCIMToken, fixture(t, "05-update-user-multivalued.PATCH-Users.request.json")).want(200)
		got := h.do(http.MethodGet, users+"/"+id, tn.SCIMToken, nil).want(200).json()
		if path(got, "emails", 0, "value") != "updatedEmail@microsoft.com" || path(got, "name", "familyName") != "updatedFamilyName" {
			t.Fatalf("after update: %v", got)
		}

		// Group create (empty), member add, read without members.
		g := h.do(http.MethodPost, groups, tn.SCIMToken, fixture(t, "08-create-group.POST-Groups.request.json")).want(201).json()
		gid, _ := g["id"].(string)
		h.do(http.MethodPatch, groups+"/"+gid, tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", id)).want(204)
		lean := h.do(http.MethodGet, groups+"/"+gid+"?excludedAttributes=members", tn.SCIMToken, nil).want(200).json()
		if _, ok := lean["members"]; ok || lean["displayName"] != "displayName" {
			t.Fatalf("excludedAttributes=members: %v", lean)
		}
		lean = h.do(http.MethodGet, groups+q(`displayName eq "displayName"`)+"&excludedAttributes=members", tn.SCIMToken, nil).want(200).json()
		if lean["totalResults"] != float64(1) || path(lean, "Resources", 0, "members") != nil {
			t.Fatalf("group filter with excludedAttributes=members: %v", lean)
		}

		// userName change: same id, group membership kept.
		h.do(http.MethodPatch, users+"/"+id, tn.SCIMToken, fixture(t, "06-update-user-username.PATCH-Users.request.json")).want(200)
		renamed := h.do(http.MethodGet, users+q(`userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"`), tn.SCIMToken, nil).want(200).json()
		if path(renamed, "Resources", 0, "id") != id {
			t.Fatalf("renamed user not found by its new userName: %v", renamed)
		}
		old := h.do(http.MethodGet, users+q(`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`), tn.SCIMToken, nil).want(200).json()
		if old["totalResults"] != float64(0) {
			t.Fatalf("old userName still indexed: %v", old)
		}
		full := h.do(http.MethodGet, groups+"/"+gid, tn.SCIMToken, nil).want(200).json()
		if path(full, "members", 0, "value") != id {
			t.Fatalf("membership lost after rename: %v", full)
		}
		byMember := h.do(http.MethodGet, groups+q(fmt.Sprintf(`members eq "%s"`, id))+"&excludedAttributes=members", tn.SCIMToken, nil).want(200).json()
		if byMember["totalResults"] != float64(1) {
			t.Fatalf("members eq filter: %v", byMember)
		}

		// Disable.
		h.do(http.MethodPatch, users+"/"+id, tn.SCIMToken, fixture(t, "20-flag-off.disable-user.json")).want(200)
		if got := h.do(http.MethodGet, users+"/"+id, tn.SCIMToken, nil).json(); got["active"] != false {
			t.Fatalf("disable: active = %v", got["active"])
		}

		// Member remove.
		h.do(http.MethodPatch, groups+"/"+gid, tn.SCIMToken, fixtureWith(t, "11-group-remove-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", id)).want(204)
		if got := h.do(http.MethodGet, groups+"/"+gid, tn.SCIMToken, nil).json(); len(asList(got["members"])) != 0 {
			t.Fatalf("member not removed: %v", got["members"])
		}

		// Hard delete: the user leaves every group, and is gone.
		h.do(http.MethodPatch, groups+"/"+gid, tn.SCIMToken, fixtureWith(t, "10-group-add-members.PATCH-Groups.request.json", "f648f8d5ea4e4cd38e9c", id)).want(204)
		h.do(http.MethodDelete, users+"/"+id, tn.SCIMToken, nil).want(204)
		h.do(http.MethodGet, users+"/"+id, tn.SCIMToken, nil).want(404)
		if got := h.do(http.MethodGet, groups+"/"+gid, tn.SCIMToken, nil).json(); len(asList(got["members"])) != 0 {
			t.Fatalf("deleted user still a member: %v", got["members"])
		}
		h.do(http.MethodDelete, groups+"/"+gid, tn.SCIMToken, nil).want(204)
		h.do(http.MethodGet, groups+"/"+gid, tn.SCIMToken, nil).want(404)
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
