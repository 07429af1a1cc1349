package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestIfNoneMatch: a GET of a user or group whose ETag the client already
// holds answers 304 with the ETag and no body; any other tag, or a
// changed resource, answers 200 with the resource.
func TestIfNoneMatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn, uids, gids := queryDirectory(h, 1, 1)
		for _, res := range []string{"/Users/" + uids[0], "/Groups/" + gids[0]} {
			first := h.do(http.MethodGet, tn.Base+res, tn.SCIMToken, nil).want(200)
			etag := first.header.Get("ETag")
			if !strings.HasPrefix(etag, `W/"`) {
				t.Fatalf("%s: ETag %q", res, etag)
			}
			strong := strings.TrimPrefix(etag, "W/")
			for _, tc := range []struct {
				inm  string
				want int
			}{
				{etag, 304},
				{strong, 304}, // If-None-Match compares weakly
				{`W/"nope", ` + etag, 304},
				{"*", 304},
				{`W/"nope"`, 200},
				{`W/"1` + strings.TrimPrefix(etag, `W/"`), 200},
			} {
				t.Run(res+" "+tc.inm, func(t *testing.T) {
					r := h.do(http.MethodGet, tn.Base+res+"?excludedAttributes=members", tn.SCIMToken, nil, "If-None-Match", tc.inm).want(tc.want)
					if tc.want == 304 {
						eq(t, len(r.body), 0)
						eq(t, r.header.Get("ETag"), etag)
					} else {
						eq(t, r.json()["id"], path(first.json(), "id"))
					}
				})
			}
			patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "replace", "path": "displayName", "value": "Changed " + res}}}
			h.do(http.MethodPatch, tn.Base+res, tn.SCIMToken, patch)
			r := h.do(http.MethodGet, tn.Base+res, tn.SCIMToken, nil, "If-None-Match", etag).want(200)
			eq(t, r.json()["displayName"], "Changed "+res)
		}
		h.do(http.MethodGet, tn.Base+"/Users/0000000000000000000000", tn.SCIMToken, nil, "If-None-Match", "*").want(404)
	})
}
