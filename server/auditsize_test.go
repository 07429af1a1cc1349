package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// TestAuditEventSize: an identity provider writing large values cannot make
// the audit log grow by their size (120 events of 1 MB values made a
// 106 MB stream): every stored event is at most MaxAuditEventBytes, and a
// large value is shown as a marker with its SHA-256.
func TestAuditEventSize(t *testing.T) {
	for backend, url := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t, url)
			rdb, err := storage.NewClient(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			st := storage.New(rdb, storage.Options{})
			tn := h.newTenant(10)
			big := func(c string) string { return strings.Repeat(c, 3000) }
			user := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "big@acme.example",
				"displayName": big("d"), "title": big("t"), "nickName": big("n"), "profileUrl": "https://x.example/" + big("p"),
				"name": map[string]any{"givenName": big("g"), "familyName": big("f"), "formatted": big("m")}}
			id := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, user).want(201).json()["id"].(string)
			user["displayName"], user["title"], user["nickName"] = big("D"), big("T"), big("N")
			h.do(http.MethodPut, tn.Base+"/Users/"+id, tn.SCIMToken, user).want(200)

			entries, err := st.ReadAudit(context.Background(), tn.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 2 {
				t.Fatalf("%d events, want 2", len(entries))
			}
			for _, e := range entries {
				if len(e.Event) > provision.MaxAuditEventBytes {
					t.Errorf("event %s is %d bytes, more than %d", e.ID, len(e.Event), provision.MaxAuditEventBytes)
				}
			}
			ev := asList(h.do(http.MethodGet, "/admin/v1/tenants/"+tn.ID+"/audit?action=user.replace", tn.AdminToken, nil).want(200).json()["events"])
			var dn map[string]any
			for _, c := range asList(path(ev, 0, "changes")) {
				if path(c, "attribute") == "displayName" {
					dn = c.(map[string]any)
				}
			}
			sum := sha256.Sum256([]byte(big("D")))
			eq(t, path(dn, "new", "truncated"), true)
			eq(t, path(dn, "new", "sha256"), hex.EncodeToString(sum[:]))
			eq(t, path(dn, "new", "bytes"), float64(3000))
			eq(t, path(dn, "old", "prefix"), strings.Repeat("d", 64))
		})
	}
}
