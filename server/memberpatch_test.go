package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestMemberPatchTakesOverAppGroup: Entra's member-only PATCH (which skips
// reading the group) on a group made in the app still takes it over, as
// any SCIM write does: managedBy scim, the takeover audited, the member in.
// A member PATCH naming no user, or sent to a missing group, answers as
// before: 400 for the member, 404 for the group first.
func TestMemberPatchTakesOverAppGroup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(100)
		admin := adminPath(tn)
		scimUser := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, userBody("sam@x")).want(201).json()["id"].(string)
		appID := h.do(http.MethodPost, admin+"/groups", tn.AdminToken, map[string]any{"displayName": "Contractors"}).want(201).json()["id"].(string)
		patch := func(group, op, member string) response {
			return h.do(http.MethodPatch, tn.Base+"/Groups/"+group, tn.SCIMToken, fmt.Sprintf(
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":%q,"path":"members","value":[{"value":%q}]}]}`, op, member))
		}
		patch(appID, "Add", scimUser).want(204)
		taken := h.do(http.MethodGet, admin+"/groups/"+appID, tn.AdminToken, nil).want(200).json()
		eq(t, taken["managedBy"], "scim")
		eq(t, fmt.Sprint(taken["members"]), fmt.Sprint([]any{scimUser}))
		last := asList(h.do(http.MethodGet, admin+"/audit?targetId="+appID, tn.AdminToken, nil).want(200).json()["events"])[0]
		if c := fmt.Sprint(path(last, "changes")); !strings.Contains(c, "managedBy") || !strings.Contains(c, scimUser) {
			t.Errorf("the takeover is not audited with its member: %v", last)
		}

		patch(appID, "Remove", scimUser).want(204)
		eq(t, fmt.Sprint(h.do(http.MethodGet, admin+"/groups/"+appID, tn.AdminToken, nil).want(200).json()["members"]), "[]")
		patch(appID, "Add", "no-such-user").want(400)
		patch(appID, "Add", "bad:id").want(400)
		patch("no-such-group", "Add", "bad:id").want(404)
		patch("no-such-group", "Add", scimUser).want(404)
	})
}
