package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// queryDirectory makes a tenant with users u0..u(n-1) (userName
// "qN@example.com", title "T") and groups g0..g(m-1), in that creation
// order, and returns their ids.
func queryDirectory(h *harness, users, groups int) (tenant, []string, []string) {
	h.t.Helper()
	tn := h.newTenant(users + 5)
	var uids, gids []string
	for i := range users {
		u := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": fmt.Sprintf("q%d@example.com", i), "title": "T", "displayName": fmt.Sprintf("Person %d", i),
		}).want(201).json()
		uids = append(uids, u["id"].(string))
	}
	for i := range groups {
		g := h.do(http.MethodPost, tn.Base+"/Groups", tn.SCIMToken, map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": fmt.Sprintf("Group %d", i),
		}).want(201).json()
		gids = append(gids, g["id"].(string))
	}
	return tn, uids, gids
}

// TestItemsPerPageCountsThePage: itemsPerPage is the number of resources in
// the page (RFC 7644 §3.4.2), whatever count asked for and whichever path
// (index lookup, plain listing, filter evaluation) answered.
func TestItemsPerPageCountsThePage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, _, _ := queryDirectory(h, 3, 2)
		for _, tc := range []struct {
			query     string
			wantItems int
			wantTotal int
		}{
			{"/Users", 3, 3},
			{"/Users?count=2", 2, 3},
			{"/Users?count=2&startIndex=3", 1, 3},
			{"/Users?startIndex=9", 0, 3},
			{"/Users?filter=" + url.QueryEscape(`userName eq "q1@example.com"`), 1, 1},
			{"/Users?filter=" + url.QueryEscape(`userName eq "nobody"`) + "&count=10", 0, 0},
			{"/Users?filter=" + url.QueryEscape(`title eq "T"`) + "&count=50", 3, 3},
			{"/Users?filter=" + url.QueryEscape(`userName co "example"`) + "&count=1", 1, 3},
			{"/Groups?count=100", 2, 2},
			{"/Groups?filter=" + url.QueryEscape(`displayName eq "Group 1"`), 1, 1},
			{"/Groups?filter=" + url.QueryEscape(`displayName sw "Group"`) + "&startIndex=2", 1, 2},
		} {
			t.Run(tc.query, func(t *testing.T) {
				m := h.do(http.MethodGet, tn.Base+tc.query, tn.SCIMToken, nil).want(200).json()
				eq(t, m["itemsPerPage"], float64(tc.wantItems))
				eq(t, m["totalResults"], float64(tc.wantTotal))
				eq(t, len(asList(m["Resources"])), tc.wantItems)
			})
		}
	})
}
