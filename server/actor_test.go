package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
)

// TestAuditActorForgery: an admin token cannot be named like the operator
// (or any other kind, or with characters that hide what it says), and
// whoever acts, the audit actor's kind is structural: operator, admin by
// name, or null for SCIM. Before, a token named "operator" made events
// identical to the operator's.
func TestAuditActorForgery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		tn := h.newTenant(10)
		admin := "/admin/v1/tenants/" + tn.ID
		for _, name := range []string{"operator", "Operator", "OPERATOR", "scim", "System", "legacy", "admin", "",
			" operator", "operator ", "ines\nops", "ines\r\n", "tab\tname", "\u202eotarepo", "ines\u2066x", "zero\u200bwidth",
			"ope\u200drator", "\ufeffoperator", "nul\x00", strings.Repeat("a", 101)} {
			res := h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": name})
			if res.status != http.StatusBadRequest {
				t.Errorf("admin token named %q: status %d, want 400; body: %s", name, res.status, res.body)
			}
		}
		h.do(http.MethodPost, "/admin/v1/tenants", operatorToken, map[string]any{"id": tn.ID + "-x", "name": "X", "licenseLimit": 1, "adminName": "operator"}).want(400)

		ines := h.do(http.MethodPost, admin+"/admin-tokens", tn.AdminToken, map[string]any{"name": "Inès Müller <ines@acme.example>"}).want(201).json()["token"].(string)
		h.do(http.MethodPut, admin+"/accounts/by-operator", operatorToken, map[string]any{"name": "A"}).want(201)
		h.do(http.MethodPut, admin+"/accounts/by-ines", ines, map[string]any{"name": "B"}).want(201)
		user := h.do(http.MethodPost, tn.Base+"/Users", tn.SCIMToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "scim@acme.example"}).want(201).json()["id"].(string)

		actors := actorsByTarget(t, h, admin, tn.AdminToken)
		eq(t, actors["by-operator"], `{"kind":"operator"}`)
		eq(t, actors["by-ines"], `{"kind":"admin","name":"Inès Müller \u003cines@acme.example\u003e"}`)
		eq(t, actors[user], `null`)

		// The actor filter: the operator by the reserved word, an admin
		// by name; SCIM events have no actor to match.
		for filter, want := range map[string]string{"operator": "by-operator", "Inès Müller <ines@acme.example>": "by-ines"} {
			got := filteredTargets(t, h, admin+"/audit?count=200&actor="+url.QueryEscape(filter), tn.AdminToken)
			if !slices.Contains(got, want) || slices.Contains(got, user) || slices.Contains(got, map[string]string{"by-operator": "by-ines", "by-ines": "by-operator"}[want]) {
				t.Errorf("actor=%q: targets %q, want %q among them and not the others", filter, got, want)
			}
		}
	})
}

// filteredTargets reads an audit query and returns its events' targets.
func filteredTargets(t *testing.T, h *harness, path, token string) []string {
	t.Helper()
	var page struct {
		Events []struct {
			TargetID string `json:"targetId"`
		}
	}
	h.do(http.MethodGet, path, token, nil).want(200).decode(&page)
	var out []string
	for _, e := range page.Events {
		out = append(out, e.TargetID)
	}
	return out
}

// TestAuditActorLegacy: data written the old way reads as what it is. An
// event whose actor is a bare string (every event before actor kinds) shows
// as {"kind":"legacy","name":...}, never as the operator; a token an older
// scimd minted under a reserved name still works, acts as an admin of that
// name, and is flagged in the listing.
func TestAuditActorLegacy(t *testing.T) {
	for backend, url := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t, url)
			rdb, err := storage.NewClient(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			st := storage.New(rdb, storage.Options{})
			ctx := context.Background()
			tn := h.newTenant(10)
			admin := "/admin/v1/tenants/" + tn.ID

			// As the previous release wrote them.
			for _, ev := range []string{
				`{"time":"2026-12-01T10:00:00Z","source":"admin","actor":"operator","ip":"192.0.2.1","action":"account.put","targetType":"Account","targetId":"old-operator"}`,
				`{"time":"2026-12-01T10:00:01Z","source":"admin","actor":"ines@acme.example","ip":"192.0.2.1","action":"account.put","targetType":"Account","targetId":"old-ines"}`,
				`{"time":"2026-12-01T10:00:02Z","source":"scim","actor":null,"ip":null,"action":"user.create","targetType":"User","targetId":"old-scim"}`,
			} {
				if err := st.AppendAudit(ctx, tn.ID, []byte(ev)); err != nil {
					t.Fatal(err)
				}
			}
			forged := "scimd_adm_minted-by-an-older-release"
			sum := sha256.Sum256([]byte(forged))
			if err := st.PutAdminToken(ctx, tn.ID, hex.EncodeToString(sum[:]), "operator", nil); err != nil {
				t.Fatal(err)
			}
			h.do(http.MethodPut, admin+"/accounts/by-forged", forged, map[string]any{"name": "F"}).want(201)

			actors := actorsByTarget(t, h, admin, tn.AdminToken)
			eq(t, actors["old-operator"], `{"kind":"legacy","name":"operator"}`)
			eq(t, actors["old-ines"], `{"kind":"legacy","name":"ines@acme.example"}`)
			eq(t, actors["old-scim"], `null`)
			eq(t, actors["by-forged"], `{"kind":"admin","name":"operator"}`)
			// Neither a legacy bare "operator" nor a token so named is the
			// operator to the actor filter.
			if got := filteredTargets(t, h, admin+"/audit?count=200&actor=operator", tn.AdminToken); slices.Contains(got, "old-operator") || slices.Contains(got, "by-forged") {
				t.Errorf("actor=operator: targets %q hold events that are not the operator's", got)
			}

			var list struct {
				AdminTokens []struct{ Name, Warning string }
			}
			h.do(http.MethodGet, admin+"/admin-tokens", tn.AdminToken, nil).want(200).decode(&list)
			flagged := map[string]bool{}
			for _, n := range list.AdminTokens {
				flagged[n.Name] = n.Warning != ""
			}
			eq(t, flagged["operator"], true)
			eq(t, flagged["tenant-admin"], false)
			// Revocable by its name, like any other.
			h.do(http.MethodDelete, admin+"/admin-tokens/operator", tn.AdminToken, nil).want(200)
			h.do(http.MethodGet, admin+"/accounts", forged, nil).want(401)
		})
	}
}

// actorsByTarget reads the tenant's audit log and returns each target's
// actor as raw JSON (the newest event of each target).
func actorsByTarget(t *testing.T, h *harness, admin, token string) map[string]string {
	t.Helper()
	var page struct {
		Events []struct {
			TargetID string          `json:"targetId"`
			Actor    json.RawMessage `json:"actor"`
		}
	}
	h.do(http.MethodGet, admin+"/audit?count=200", token, nil).want(200).decode(&page)
	out := map[string]string{}
	for _, e := range page.Events {
		if _, seen := out[e.TargetID]; !seen {
			out[e.TargetID] = string(e.Actor)
		}
	}
	return out
}
