package scimapi_test

import (
	"encoding/json"
	"fmt"
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
	"github.com/scimd/scimd/storage/storagetest"
)

// TestFastPathAnswersLikeElimity: every simple filter answered without
// elimity's parser gives byte-for-byte the document elimity gives.
func TestFastPathAnswersLikeElimity(t *testing.T) {
	_, rdb := storagetest.Embedded(t)
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
		`/Users/` + uid,
		`/Users/` + uid + `?attributes=userName,groups`,
		`/Users/` + uid + `?excludedAttributes=emails`,
		`/Users/no-such-user`,
		`/Users/bad:id`,
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

// TestCreateAnswersLikeElimity: POST /Users on the fast path answers what
// elimity's router answers, for good bodies (the same document apart from
// the new id and times, Location and ETag) and bad ones (the same error).
// That the two agree proves the fast path, not the answer: where scimd
// differs from elimity on purpose, TestWritesByTheRFC says what is right.
func TestCreateAnswersLikeElimity(t *testing.T) {
	_, rdb := storagetest.Embedded(t)
	engine, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(storage.New(rdb, storage.Options{}), engine, provision.Options{})
	limit := int64(100)
	_, creds, err := svc.CreateTenant(t.Context(), provision.NewTenant{ID: "fastpost", Name: "Fast", LicenseLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	apps := map[bool]*fiber.App{}
	for _, disabled := range []bool{false, true} {
		app := fiber.New()
		scimapi.New(svc, scimapi.Options{PublicURL: "https://scim.example", DisableFastPath: disabled}).Register(app)
		apps[disabled] = app
	}
	type answer struct {
		Status         int
		Location, ETag bool
		ContentType    string
		Body           map[string]any
	}
	post := func(disabled bool, body string) answer {
		req := httptest.NewRequest(http.MethodPost, "https://scim.example/scim/v2/fastpost/Users", strings.NewReader(body))
		req.RequestURI = ""
		req.Header.Set("Authorization", "Bearer "+creds.SCIMToken)
		resp, err := apps[disabled].Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		a := answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), ETag: resp.Header.Get("Etag") != ""}
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		if id, ok := a.Body["id"].(string); ok {
			a.Location = resp.Header.Get("Location") == "https://scim.example/scim/v2/fastpost/Users/"+id
			delete(a.Body, "id")
			meta, _ := a.Body["meta"].(map[string]any)
			for _, k := range []string{"created", "lastModified", "location"} {
				if _, ok := meta[k]; !ok {
					t.Errorf("meta without %s: %v", k, meta)
				}
				delete(meta, k)
			}
		}
		return a
	}
	const schemas = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`
	for i, body := range []string{
		`{` + schemas + `,"userName":"%s","externalId":"e1","active":"True","name":{"givenName":"A","familyName":"B"},
			"emails":[{"type":"work","value":"a@x","primary":true}],"roles":[],"password":"secret","nickName":"",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","department":"D","manager":"m1"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","unknownThing":1,"USERNAME":"%[1]s"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","active":false}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":5,"x":"%s"}`,
		`{"userName":"%s"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"%s"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","emails":"not a list"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":7}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"taken-%s"}`,
		`null`,
		`[1,2]`,
		`{"userName":"%s"`,
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b := func(who string) string {
				if !strings.Contains(body, "%") {
					return body
				}
				return fmt.Sprintf(body, fmt.Sprintf("user%d-%s@example.com", i, who))
			}
			if strings.Contains(body, "taken-") { // the same userName twice: 409 both ways
				post(false, fmt.Sprintf(body, "x"))
				fast, slow := post(false, fmt.Sprintf(body, "x")), post(true, fmt.Sprintf(body, "x"))
				if d := cmp.Diff(slow, fast); d != "" || fast.Status != http.StatusConflict {
					t.Errorf("status %d; fast path differs from elimity (-elimity +fast):\n%s", fast.Status, d)
				}
				return
			}
			fast, slow := post(false, b("fast")), post(true, b("slow"))
			for _, a := range []*answer{&fast, &slow} {
				if un, ok := a.Body["userName"].(string); ok {
					a.Body["userName"] = strings.Replace(strings.Replace(un, "-fast@", "@", 1), "-slow@", "@", 1)
				}
			}
			if d := cmp.Diff(slow, fast); d != "" {
				t.Errorf("fast path differs from elimity (-elimity +fast):\n%s", d)
			}
		})
	}
}
