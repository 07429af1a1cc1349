package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		for _, tc := range []struct {
			query string
			want  int
		}{
			{"/Schemas", 6}, // User, enterprise User, Group and the three discovery schemas
			{"/Schemas?count=1", 1},
			{"/ResourceTypes", 2},
			{"/ResourceTypes?startIndex=2", 1},
		} {
			t.Run(tc.query, func(t *testing.T) {
				m := h.do(http.MethodGet, tn.Base+tc.query, tn.SCIMToken, nil).want(200).json()
				eq(t, len(asList(m["Resources"])), tc.want)
				eq(t, m["itemsPerPage"], float64(tc.want))
			})
		}
	})
}

// TestSearchAnswersLikeGet: POST /Users/.search and /Groups/.search (RFC
// 7644 §3.4.3) answer what the GET form with the same parameters answers.
func TestSearchAnswersLikeGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, _, gids := queryDirectory(h, 3, 2)
		for _, tc := range []struct {
			name, get string
			search    map[string]any
		}{
			{"Users all", "/Users", map[string]any{}},
			{"Users eq", "/Users?filter=" + url.QueryEscape(`userName eq "q1@example.com"`),
				map[string]any{"filter": `userName eq "q1@example.com"`}},
			{"Users scan paged", "/Users?filter=" + url.QueryEscape(`userName co "example"`) + "&count=1&startIndex=2&attributes=userName",
				map[string]any{"filter": `userName co "example"`, "count": 1, "startIndex": 2, "attributes": []string{"userName"}}},
			{"Users excluded", "/Users?excludedAttributes=title,displayName",
				map[string]any{"excludedAttributes": []string{"title", "displayName"}}},
			{"Groups id", "/Groups?filter=" + url.QueryEscape(`id eq "`+gids[1]+`"`) + "&excludedAttributes=members",
				map[string]any{"filter": `id eq "` + gids[1] + `"`, "excludedAttributes": []string{"members"}}},
			{"Groups none", "/Groups?filter=" + url.QueryEscape(`displayName eq "nothing"`),
				map[string]any{"filter": `displayName eq "nothing"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := h.do(http.MethodGet, tn.Base+tc.get, tn.SCIMToken, nil).want(200).json()
				endpoint, _, _ := strings.Cut(tc.get, "?")
				tc.search["schemas"] = []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}
				got := h.do(http.MethodPost, tn.Base+endpoint+"/.search", tn.SCIMToken, tc.search).want(200).json()
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("POST .search differs from GET (-get +search):\n%s", d)
				}
			})
		}
		for _, tc := range []struct {
			name string
			body any
			want string
		}{
			{"not JSON", "{", "invalidSyntax"},
			{"no schemas", map[string]any{"filter": `userName eq "x"`}, "invalidValue"},
			{"bad filter", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `userName eq`}, "invalidFilter"},
			{"filter too long", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `userName eq "` + strings.Repeat("x", 3000) + `"`}, "invalidFilter"},
			{"unknown attribute", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `shoeSize eq "9"`}, "invalidFilter"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := h.do(http.MethodPost, tn.Base+"/Users/.search", tn.SCIMToken, tc.body).want(400).json()
				eq(t, m["scimType"], tc.want)
			})
		}
	})
}

// TestRootQuery: GET /scim/v2/{t}/?filter= and POST /.search query Users
// and Groups together; a filter on an attribute one type lacks matches
// nothing of that type; pages run Users then Groups, each in creation order.
func TestRootQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, uids, gids := queryDirectory(h, 3, 2)
		all := append(append([]string{}, uids...), gids...)
		for _, tc := range []struct {
			name, filter string
			count, start int
			want         []string
			total        int
		}{
			{"everything", "", 0, 0, all, 5},
			{"users only attribute", `userName sw "q"`, 0, 0, uids, 3},
			{"groups only attribute", `displayName sw "Group"`, 0, 0, gids, 2},
			{"both types", `displayName co "1"`, 0, 0, []string{uids[1], gids[1]}, 2},
			{"page across the boundary", "", 2, 3, []string{uids[2], gids[0]}, 5},
			{"page in the groups", "", 5, 5, []string{gids[1]}, 5},
			{"page past the end", "", 5, 9, nil, 5},
			{"count 0", "", -1, 0, nil, 5},
			{"matches nothing", `displayName eq "nobody"`, 0, 0, nil, 0},
			{"members filter", `members.value eq "` + uids[0] + `"`, 0, 0, nil, 0},
		} {
			q := url.Values{}
			search := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}}
			if tc.filter != "" {
				q.Set("filter", tc.filter)
				search["filter"] = tc.filter
			}
			if tc.count != 0 {
				n := max(tc.count, 0)
				q.Set("count", fmt.Sprint(n))
				search["count"] = n
			}
			if tc.start != 0 {
				q.Set("startIndex", fmt.Sprint(tc.start))
				search["startIndex"] = tc.start
			}
			check := func(t *testing.T, m map[string]any) {
				t.Helper()
				if d := cmp.Diff(tc.want, ids(m)); d != "" {
					t.Errorf("ids (-want +got):\n%s", d)
				}
				eq(t, m["totalResults"], float64(tc.total))
				eq(t, m["itemsPerPage"], float64(len(tc.want)))
				for _, r := range asList(m["Resources"]) {
					typ, _ := path(r, "meta", "resourceType").(string)
					loc, _ := path(r, "meta", "location").(string)
					if !strings.HasSuffix(loc, "/"+typ+"s/"+path(r, "id").(string)) {
						t.Errorf("%s resource at %q", typ, loc)
					}
				}
			}
			t.Run(tc.name+"/GET", func(t *testing.T) {
				check(t, h.do(http.MethodGet, tn.Base+"/?"+q.Encode(), tn.SCIMToken, nil).want(200).json())
			})
			t.Run(tc.name+"/POST", func(t *testing.T) {
				check(t, h.do(http.MethodPost, tn.Base+"/.search", tn.SCIMToken, search).want(200).json())
			})
		}
		m := h.do(http.MethodGet, tn.Base+"/?filter="+url.QueryEscape(`shoeSize eq "9"`), tn.SCIMToken, nil).want(400).json()
		eq(t, m["scimType"], "invalidFilter")
		g := h.do(http.MethodGet, tn.Base+"?filter="+url.QueryEscape(`displayName eq "Group 0"`), tn.SCIMToken, nil).want(200).json()
		eq(t, fmt.Sprint(ids(g)), fmt.Sprint([]string{gids[0]}))
	})
}

// ids lists the ids of a ListResponse's resources, in order.
func ids(m map[string]any) []string {
	var out []string
	for _, r := range asList(m["Resources"]) {
		id, _ := path(r, "id").(string)
		out = append(out, id)
	}
	return out
}
