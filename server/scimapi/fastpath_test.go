package scimapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimapi"
	"github.com/scimd/scimd/storage"
)

// TestFastPathAnswersLikeElimity: every simple filter answered without
// elimity's parser gives byte-for-byte the document elimity gives.
func TestFastPathAnswersLikeElimity(t *testing.T) {
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rdb, err := storage.NewClient(e.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	engine, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(storage.New(rdb, storage.Options{}), engine, provision.Options{})
	limit := int64(100)
	_, creds, err := svc.CreateTenant(t.Context(), provision.NewTenant{ID: "fast", Name: "Fast", LicenseLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	apps := map[bool]*fiber.App{}
	for _, disabled := range []bool{false, true} {
		app := fiber.New()
		scimapi.New(svc, scimapi.Options{PublicURL: "https://scim.example", DisableFastPath: disabled}).Register(app)
		apps[disabled] = app
	}
	get := func(disabled bool, path string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, "https://scim.example/scim/v2/fast"+path, nil)
		// A request line with a path and a Host header: app.Test dumps an
		// absolute target without Host, which fasthttp refuses (RFC 9112).
		req.RequestURI = ""
		req.Header.Set("Authorization", "Bearer "+creds.SCIMToken)
		resp, err := apps[disabled].Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %s", path, raw)
		}
		return resp.StatusCode, m
	}
	post := func(path, body string) map[string]any {
		req := httptest.NewRequest(http.MethodPost, "https://scim.example/scim/v2/fast"+path, strings.NewReader(body))
		// A request line with a path and a Host header: app.Test dumps an
		// absolute target without Host, which fasthttp refuses (RFC 9112).
		req.RequestURI = ""
		req.Header.Set("Authorization", "Bearer "+creds.SCIMToken)
		resp, err := apps[false].Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	u := post("/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName":"Fast.Person@Example.com","externalId":"ext-1","name":{"givenName":"F"},"emails":[{"type":"work","value":"f@x"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","manager":{"value":"m"}}}`)
	uid, _ := u["id"].(string)
	g := post("/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Fast Group","externalId":"g-ext","members":[{"value":"`+uid+`"}]}`)
	gid, _ := g["id"].(string)
	if uid == "" || gid == "" {
		t.Fatalf("setup: %v %v", u, g)
	}
	for _, q := range []string{
		`/Users?filter=` + url.QueryEscape(`userName eq "fast.person@example.com"`),
		`/Users?filter=` + url.QueryEscape(`userName EQ "Fast.Person@Example.com"`) + "&aadOptscim062020",
		`/Users?filter=` + url.QueryEscape(`externalId eq "ext-1"`),
		`/Users?filter=` + url.QueryEscape(`externalId eq "EXT-1"`),
		`/Users?filter=` + url.QueryEscape(`id eq "`+uid+`"`),
		`/Users?filter=` + url.QueryEscape(`userName eq "nobody"`),
		`/Users?filter=` + url.QueryEscape(`userName eq "fast.person@example.com"`) + "&attributes=userName",
		`/Users?filter=` + url.QueryEscape(`userName eq "fast.person@example.com"`) + "&excludedAttributes=emails&count=5&startIndex=1",
		`/Users?filter=` + url.QueryEscape(`userName eq "fast.person@example.com"`) + "&startIndex=2",
		`/Users?filter=` + url.QueryEscape(`userName eq "fast.person@example.com"`) + "&count=0",
		`/Users?filter=` + url.QueryEscape(`userName eq "fast.person@example.com"`) + "&count=x",
		`/Groups?filter=` + url.QueryEscape(`displayName eq "fast group"`),
		`/Groups?filter=` + url.QueryEscape(`displayName eq "Fast Group"`) + "&excludedAttributes=members",
		`/Groups?filter=` + url.QueryEscape(`externalId eq "g-ext"`),
		`/Groups?filter=` + url.QueryEscape(`id eq "`+gid+`"`),
	} {
		t.Run(q, func(t *testing.T) {
			fastStatus, fast := get(false, q)
			slowStatus, slow := get(true, q)
			if fastStatus != slowStatus {
				t.Fatalf("status fast %d, elimity %d", fastStatus, slowStatus)
			}
			if d := cmp.Diff(slow, fast); d != "" {
				t.Errorf("fast path differs from elimity (-elimity +fast):\n%s", d)
			}
		})
	}
}
