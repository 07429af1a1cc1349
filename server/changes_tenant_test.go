package server_test

import (
	"net/http"
	"testing"
)

// TestChangesUnknownTenant: a platform decision token asking for the feed
// of a tenant that does not exist gets 404, as from the decision routes,
// not an empty feed; the feed of a tenant that does exist answers 200.
func TestChangesUnknownTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(1)
		tok := h.platformToken("feed-" + tn.ID)
		h.do(http.MethodGet, changesPath(tn.ID, "?timeout=0"), tok, nil).want(200)
		h.do(http.MethodGet, changesPath("no-such-"+tn.ID, "?timeout=0"), tok, nil).want(404)
		h.do(http.MethodGet, changesPath("no-such-"+tn.ID, ""), tok, nil, "Accept", "text/event-stream").want(404)
		h.do(http.MethodGet, accessPath(tenant{ID: "no-such-" + tn.ID})+"/users/u1", tok, nil).want(404)
	})
}
