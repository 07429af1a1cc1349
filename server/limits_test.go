package server_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestBodyLimit sends an oversized body over a real connection (Fiber's
// in-memory test transport cannot carry the 413) and expects a SCIM 413.
func TestBodyLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(5)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = h.app.Listener(ln) }()
		t.Cleanup(func() { _ = h.app.Shutdown() })

		body := userBody("big@x", `,"displayName":"`+strings.Repeat("x", 70<<10)+`"`)
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+tn.Base+"/Users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tn.SCIMToken)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
		var e map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("413 body is not JSON: %v", err)
		}
		eq(t, path(e, "schemas", 0), "urn:ietf:params:scim:api:messages:2.0:Error")
		eq(t, e["status"], "413")
	})
}
