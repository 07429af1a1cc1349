package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// The fuzz targets below send hostile input through the real app on the embedded store. Each
// answer must be below 500 (the embedded store never makes a 503), carry valid JSON (a SCIM error
// or a problem document for a 4xx), and SCIM answers must say application/scim+json. The seed
// corpora run with every `go test`; to fuzz one, run for example
//
//	go test -run XXX -fuzz FuzzSCIMFilter -fuzztime 2m -parallel 1 ./server/
//
// A failing input is kept under testdata/fuzz/<target>/ and replayed by every later run. Fuzzing
// always uses a store of its own, never REDIS_URL.

// maxFuzzBody is the body limit newHarness gives the app; larger inputs are skipped.
const maxFuzzBody = 64 << 10

// fuzzLicenseLimit is large enough that no fuzz run exhausts it.
const fuzzLicenseLimit = 1_000_000

// fuzzServer is the real app on an embedded store of its own, with one tenant, made once per fuzz
// target and shared by its inputs.
type fuzzServer struct {
	handler fasthttp.RequestHandler
	tn      tenant
	// setup fills a new tenant; its ids are kept in ids.
	setup func(tb testing.TB, s *fuzzServer)
	ids   map[string]string
	// writes counts answers that may have grown the tenant; renew starts over after maxWrites.
	writes int
}

const maxWrites = 200

func newFuzzServer(f *testing.F, setup func(tb testing.TB, s *fuzzServer)) *fuzzServer {
	f.Helper()
	e, err := storage.StartEmbedded()
	if err != nil {
		f.Fatalf("embedded redis: %v", err)
	}
	f.Cleanup(e.Close)
	rdb, err := storage.NewClient(e.URL())
	if err != nil {
		f.Fatalf("redis client: %v", err)
	}
	f.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			f.Logf("redis client close: %v", err)
		}
	})
	engineOnce.Do(func() { engine, engineErr = policies.New(policies.Options{}) })
	if engineErr != nil {
		f.Fatalf("policies: %v", engineErr)
	}
	// A short audit stream: every successful fuzzed write appends an event.
	srv := server.Assemble(server.Config{OperatorToken: operatorToken, PublicURL: "http://scimd.test", BodyLimit: maxFuzzBody},
		storage.New(rdb, storage.Options{AuditMaxLen: 1000}), engine, provision.Options{})
	s := &fuzzServer{
		handler: srv.App.Handler(),
		setup:   setup,
	}
	s.newTenant(f)
	return s
}

// newTenant makes a fresh tenant and fills it.
func (s *fuzzServer) newTenant(tb testing.TB) {
	tb.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	id := "fuzz-" + hex.EncodeToString(b[:])
	res := s.send(tb, http.MethodPost, "/admin/v1/tenants", operatorToken, "application/json",
		fmt.Appendf(nil, `{"id":%q,"name":"Fuzz","licenseLimit":%d}`, id, fuzzLicenseLimit))
	var out struct{ SCIMToken, AdminToken string }
	res.decode(tb, http.StatusCreated, &out)
	s.tn = tenant{ID: id, SCIMToken: out.SCIMToken, AdminToken: out.AdminToken, Base: "/scim/v2/" + id}
	s.ids = map[string]string{}
	s.writes = 0
	if s.setup != nil {
		s.setup(tb, s)
	}
}

// wrote notes an answer that may have grown the tenant (a grant for a new group id, a new role);
// after maxWrites the tenant is replaced, so that a long run works on bounded state.
func (s *fuzzServer) wrote(tb testing.TB, status int) {
	tb.Helper()
	if status >= 300 {
		return
	}
	if s.writes++; s.writes < maxWrites {
		return
	}
	s.send(tb, http.MethodDelete, "/admin/v1/tenants/"+s.tn.ID, operatorToken, "", nil).decode(tb, http.StatusNoContent, nil)
	s.newTenant(tb)
}

func (s *fuzzServer) admin() string { return "/admin/v1/tenants/" + s.tn.ID }

type fuzzResult struct {
	what   string // the request, for failure messages
	status int
	header http.Header
	body   []byte
}

// send runs one request through the app's handler in process, as the benchmarks do: faster than
// app.Test's in-memory connection, and without fasthttp's request reading, which answers what it
// cannot read (a request line beyond its 4 KiB buffer: 431; a malformed multipart body: 400)
// before the app sees it, and which app.Test reports as an error instead.
func (s *fuzzServer) send(tb testing.TB, method, target, token, contentType string, body []byte) fuzzResult {
	tb.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(target)
	ctx.Request.Header.SetHost("scimd.test")
	if contentType != "" {
		ctx.Request.Header.SetContentType(contentType)
	}
	if token != "" {
		ctx.Request.Header.Set("Authorization", "Bearer "+token)
	}
	ctx.Request.SetBody(body)
	s.handler(&ctx)
	header := http.Header{}
	for k, v := range ctx.Response.Header.All() {
		header.Add(string(k), string(v))
	}
	return fuzzResult{what: method + " " + target, status: ctx.Response.StatusCode(), header: header, body: bytes.Clone(ctx.Response.Body())}
}

// scim sends a SCIM request with the tenant's token.
func (s *fuzzServer) scim(tb testing.TB, method, path string, body []byte) fuzzResult {
	tb.Helper()
	ct := ""
	if body != nil {
		ct = "application/scim+json"
	}
	return s.send(tb, method, s.tn.Base+path, s.tn.SCIMToken, ct, body)
}

// decode fails unless the answer has the status; it decodes the body into v when v is not nil.
func (r fuzzResult) decode(tb testing.TB, status int, v any) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("%s: status %d, want %d: %s", r.what, r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			tb.Fatalf("%s: decoding %s: %v", r.what, r.body, err)
		}
	}
}

// id is the id of a resource an answer holds.
func (r fuzzResult) id(tb testing.TB, status int) string {
	tb.Helper()
	var out struct{ ID string }
	r.decode(tb, status, &out)
	if out.ID == "" {
		tb.Fatalf("%s: no id in %s", r.what, r.body)
	}
	return out.ID
}

// checkSCIM fails unless a SCIM answer is below 500, is JSON of type application/scim+json (or a
// bodiless 204), and is a SCIM error when it is a 4xx.
func checkSCIM(t *testing.T, in any, r fuzzResult) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s with %q: status %d: %s", r.what, in, r.status, r.body)
	}
	if r.status == http.StatusNoContent && len(r.body) == 0 {
		return
	}
	if media, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err != nil || media != "application/scim+json" {
		t.Fatalf("%s with %q: status %d, Content-Type %q: %s", r.what, in, r.status, r.header.Get("Content-Type"), r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s with %q: status %d, not a JSON object (%v): %q", r.what, in, r.status, err, r.body)
	}
	if r.status >= 400 {
		schemas, _ := m["schemas"].([]any)
		if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || m["status"] != strconv.Itoa(r.status) {
			t.Fatalf("%s with %q: status %d, not a SCIM error: %s", r.what, in, r.status, r.body)
		}
	}
}

// checkAdmin fails unless an admin answer is below 500, is JSON (or a bodiless 204), and is a
// problem document when it is a 4xx.
func checkAdmin(t *testing.T, in any, r fuzzResult) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s with %q: status %d: %s", r.what, in, r.status, r.body)
	}
	if r.status == http.StatusNoContent && len(r.body) == 0 {
		return
	}
	if !json.Valid(r.body) {
		t.Fatalf("%s with %q: status %d, not JSON: %q", r.what, in, r.status, r.body)
	}
	if r.status >= 400 {
		var p struct {
			Status any
			Detail any
		}
		media, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
		if err != nil || media != "application/problem+json" || json.Unmarshal(r.body, &p) != nil ||
			p.Status != float64(r.status) {
			t.Fatalf("%s with %q: status %d, not a problem document (Content-Type %q): %s", r.what, in, r.status, r.header.Get("Content-Type"), r.body)
		}
		if _, ok := p.Detail.(string); !ok {
			t.Fatalf("%s with %q: status %d, problem without detail: %s", r.what, in, r.status, r.body)
		}
	}
}

// placeholderIDs are the user ids in the Entra fixtures; the PATCH and POST targets put a real
// user's id in their place, so that the fixtures' member operations land.
var placeholderIDs = []string{"f648f8d5ea4e4cd38e9c", "761ac150-9d77-49b2-8f3f-8ec2eacf99da"}

func withMember(body []byte, uid string) []byte {
	for _, p := range placeholderIDs {
		body = bytes.ReplaceAll(body, []byte(p), []byte(uid))
	}
	return body
}

// hostileSCIMBodies are request bodies no identity provider sends.
var hostileSCIMBodies = []string{
	``, `null`, `[]`, `"x"`, `0`, `{}`, `{`, `}`, `[[[`, `{"a":"`,
	`{"Operations":null}`,
	`{"Operations":[]}`,
	`{"Operations":[null, 1, "x", [], {}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails.primary","value":true}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"userName"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"},{"op":"replace","path":"manager","value":[]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"},{"op":"add","path":"members","value":[{"value":"a"},{"value":"a"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[{"value":"` + strings.Repeat("m", 4096) + `"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"t:{x}:user:1"},{"value":"*"},{"value":"\u0000"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":123456789012345678901234567890e123456789}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"__proto__","value":{"constructor":{"prototype":1}}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"userName":"","externalId":null}}]}`,
	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"\x00\xff\xfe\"}]}",
	`{"Operations":[{"op":"add","value":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}]}`,
	`{"Operations":[{"op":"add","value":` + strings.Repeat(`{"a":`, 3000) + `1` + strings.Repeat("}", 3000) + `}]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + strings.Repeat("u", 32<<10) + `"}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u\u0000","externalId":"\ud800","PassWord":"p","emails":[{"value":"a","type":"work","primary":true},{"value":"b","type":"work","primary":true}]}`,
	"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"\xc3\x28\"}",
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p","__proto__":{"admin":true},"constructor":1,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[["m"]],"employeeNumber":1e400}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"n","active":"maybe","emails":"x","name":[]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g","members":[{"value":""},{"value":null},"x",1]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g","members":{"value":"x"}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"","externalId":1}`,
	`{"userName":"a"}{"userName":"b"}`,
}

// scimBodySeeds adds every Entra fixture and the hostile bodies to a body target's corpus.
func scimBodySeeds(f *testing.F) {
	f.Helper()
	dir := filepath.Join("testdata", "entra")
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatalf("Entra fixtures: %v", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, b := range hostileSCIMBodies {
		f.Add([]byte(b))
	}
}

const (
	userSchemas  = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`
	groupSchemas = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`
)

// fuzzUser is a User body with the attributes the filters and PATCHes touch.
func fuzzUser(userName, ext, email, empNo, manager string) []byte {
	return fmt.Appendf(nil, `{%s,"userName":%q,"externalId":%q,"displayName":"D %s","active":true,
		"name":{"givenName":"G","familyName":"F"},
		"emails":[{"type":"work","value":%q,"primary":true},{"type":"home","value":"home-%s"}],
		"phoneNumbers":[{"type":"mobile","value":"+1 555"}],
		%q:{"employeeNumber":%q,"department":"D","manager":{"value":%q}}}`,
		userSchemas, userName, ext, userName, email, email, enterprise, empNo, manager)
}

// fuzzGroup is the body of the tenant's group, with both users as members.
func fuzzGroup(s *fuzzServer) []byte {
	return fmt.Appendf(nil, `{%s,"displayName":"Readers","externalId":"ext-g","members":[{"value":%q},{"value":%q}]}`,
		groupSchemas, s.ids["alice"], s.ids["bob"])
}

// fillDirectory creates users, a group with members and a sub-account, and notes their ids.
func fillDirectory(tb testing.TB, s *fuzzServer) {
	tb.Helper()
	s.ids["alice"] = s.scim(tb, http.MethodPost, "/Users", fuzzUser("alice@corp.example", "ext-a", "Alice@Corp.Example", "100", "")).id(tb, http.StatusCreated)
	s.ids["bob"] = s.scim(tb, http.MethodPost, "/Users", fuzzUser("bob@corp.example", "ext-b", "bob@corp.example", "200", s.ids["alice"])).id(tb, http.StatusCreated)
	s.ids["group"] = s.scim(tb, http.MethodPost, "/Groups", fuzzGroup(s)).id(tb, http.StatusCreated)
	s.send(tb, http.MethodPut, s.admin()+"/accounts/news", s.tn.AdminToken, "application/json", []byte(`{"name":"Newsroom"}`)).decode(tb, http.StatusCreated, nil)
}

// filterSeeds are the filters of TestFilters, the ones Entra sends, and hostile ones.
var filterSeeds = []string{
	`userName eq "ALICE@corp.example"`,
	`externalId eq "ext-b"`,
	`externalId eq "EXT-B"`,
	`id eq "2441309d85324e7793ae"`,
	`emails[type eq "work"].value eq "alice@corp.example"`,
	`emails[type eq "work" and value eq "bob@corp.example"]`,
	`emails.value eq "home-bob@corp.example"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "300"`,
	`userName sw "bob"`,
	`userName co "corp"`,
	`userName ne "alice@corp.example"`,
	`displayName pr`,
	`userName eq "alice@corp.example" or externalId eq "ext-c"`,
	`userName sw "a" and externalId eq "ext-a"`,
	`userName sw "b" and externalId eq "ext-a"`,
	`userName eq "nobody"`,
	`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`,
	`displayName eq "Readers"`,
	`externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"`,
	`members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
	`members eq "x"`,
	`members.value eq "x" or displayName sw "R"`,
	`emails[type eq "work"].value EQ "x@y.com"`,
	`emails[type eq "work"].value pr`,
	`emails[type eq "work"].primary eq true and active eq true`,
	`(emails[type eq "work"].value eq "a") or (phoneNumbers[type eq "mobile"].value sw "+1")`,
	`emails[type eq "wo\"rk]."].value eq "x \"y\" ].z eq"`,
	`urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "x"`,
	`emails[type eq "work" and primary eq true].value eq "x"`,
	`emails[type eq "work" or type eq "home"].value eq "x"`,
	`not (userName eq "x")`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`meta.created lt 5`,
	`active eq "True"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
	`name.givenName eq "G" and name pr`,
	`emails[type eq "work"].value`,
	``,
	` `,
	`]].[[`,
	`emails[[[[type eq "work"]]]].value eq "x"`,
	`emails[type eq "work"].value eq "unterminated`,
	`emails[type eq "work"]. eq "x"`,
	`userName eq 1e999999`,
	`userName gt 123456789012345678901234567890`,
	"userName eq \"\x00\"",
	"userName eq \"\xff\xfe\"",
	"emails[type eq \"\xc3\x28\"].value eq \"\x00\"",
	`userName eq "\u0000\ud800"`,
	`__proto__ eq "x"`,
	`emails[__proto__ eq "x"].constructor eq "y"`,
	`userName eq "` + strings.Repeat("a", 4096) + `"`,
	strings.Repeat("(", 256) + `userName eq "x"` + strings.Repeat(")", 256),
	strings.Repeat(`userName eq "x" or `, 200) + `userName pr`,
	`userName eq "x" and (`,
	`userName eq "\"`,
	`userName eq "t:{x}:user:*"`,
	`userName eq "a" and emails[type eq "work"].value eq "b"`,
}

// FuzzSCIMFilter: GET /Users and /Groups with a fuzzed filter.
func FuzzSCIMFilter(f *testing.F) {
	s := newFuzzServer(f, fillDirectory)
	for _, seed := range filterSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		if len(filter) > maxFuzzBody {
			t.Skip()
		}
		q := "?filter=" + url.QueryEscape(filter)
		checkSCIM(t, filter, s.scim(t, http.MethodGet, "/Users"+q, nil))
		checkSCIM(t, filter, s.scim(t, http.MethodGet, "/Groups"+q, nil))
	})
}

// fuzzPatchBaseline puts the user and the group back as fillDirectory made them after a PATCH
// went through, so that state stays bounded.
func fuzzPatchBaseline(tb testing.TB, s *fuzzServer, what string) {
	tb.Helper()
	switch what {
	case "user":
		s.scim(tb, http.MethodPut, "/Users/"+s.ids["bob"], fuzzUser("bob@corp.example", "ext-b", "bob@corp.example", "200", s.ids["alice"])).decode(tb, http.StatusOK, nil)
	case "group":
		s.scim(tb, http.MethodPut, "/Groups/"+s.ids["group"], fuzzGroup(s)).decode(tb, http.StatusOK, nil)
	}
}

// FuzzSCIMPatch: PATCH /Users/{id} and /Groups/{id} with a fuzzed body.
func FuzzSCIMPatch(f *testing.F) {
	s := newFuzzServer(f, fillDirectory)
	scimBodySeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzBody {
			t.Skip()
		}
		body = withMember(body, s.ids["bob"])
		res := s.scim(t, http.MethodPatch, "/Users/"+s.ids["bob"], body)
		checkSCIM(t, body, res)
		if res.status < 300 {
			fuzzPatchBaseline(t, s, "user")
		}
		res = s.scim(t, http.MethodPatch, "/Groups/"+s.ids["group"], body)
		checkSCIM(t, body, res)
		if res.status < 300 {
			fuzzPatchBaseline(t, s, "group")
		}
	})
}

// FuzzSCIMCreate: POST /Users and /Groups with a fuzzed body; what is created is deleted.
func FuzzSCIMCreate(f *testing.F) {
	s := newFuzzServer(f, fillDirectory)
	scimBodySeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzBody {
			t.Skip()
		}
		body = withMember(body, s.ids["bob"])
		for _, endpoint := range []string{"/Users", "/Groups"} {
			res := s.scim(t, http.MethodPost, endpoint, body)
			checkSCIM(t, body, res)
			if res.status == http.StatusCreated {
				s.scim(t, http.MethodDelete, endpoint+"/"+res.id(t, http.StatusCreated), nil).decode(t, http.StatusNoContent, nil)
			}
		}
	})
}

// adminSeeds adds the bodies of an admin route, plus hostile JSON, to a target's corpus.
func adminSeeds(bodies ...string) []string {
	return append(bodies,
		``, `null`, `[]`, `"x"`, `{}`, `{`, `{"a":1}`, `{"a":1}{}`, `{}   x`,
		`{"__proto__":{"x":1}}`, `{"constructor":{"prototype":{}}}`,
		"{\"userName\":\"\xff\xfe\x00\"}",
		`{"userName":"\u0000","displayName":"\ud800\udc00"}`,
		`{"userName":1e400}`, `{"active":123456789012345678901234567890}`,
		strings.Repeat("[", 5000)+strings.Repeat("]", 5000),
		`{"userName":"`+strings.Repeat("x", 60<<10)+`"}`,
	)
}

// FuzzAdminUsers: POST /admin/v1/tenants/{t}/users with a fuzzed body, in mode manual; what is
// created is deleted.
func FuzzAdminUsers(f *testing.F) {
	s := newFuzzServer(f, func(tb testing.TB, s *fuzzServer) {
		fillDirectory(tb, s)
		s.send(tb, http.MethodPut, s.admin()+"/provisioning", s.tn.AdminToken, "application/json", []byte(`{"mode":"manual"}`)).decode(tb, http.StatusOK, nil)
	})
	for _, b := range adminSeeds(
		`{"userName":"ann@x.test","email":"ann@x.test","employeeNumber":"E1","givenName":"Ann","familyName":"Smith","active":true}`,
		`{"userName":"bob.local","email":"bob@x.test"}`,
		`{"userName":"cy.local","employeeNumber":"E3","active":false,"department":"D","displayName":"Cy"}`,
		`{"userName":"alice@corp.example"}`,
		`{"userName":"x","email":"Alice@Corp.Example"}`,
		`{"userName":"y","employeeNumber":"100"}`,
		`{"userName":"   "}`,
		`{"userName":""}`,
		`{"userName":null,"email":null}`,
		`{"userName":"z","active":"true"}`,
		`{"userName":"z","shoeSize":9}`,
		`{"UserName":"case"}`,
	) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzBody {
			t.Skip()
		}
		res := s.send(t, http.MethodPost, s.admin()+"/users", s.tn.AdminToken, "application/json", body)
		checkAdmin(t, body, res)
		if res.status == http.StatusCreated {
			s.scim(t, http.MethodDelete, "/Users/"+res.id(t, http.StatusCreated), nil).decode(t, http.StatusNoContent, nil)
		}
	})
}

// FuzzAdminGroups: POST /admin/v1/tenants/{t}/groups with a fuzzed body
// ($alice and $bob stand for their user ids), then a PATCH of the new group
// with the same body.
func FuzzAdminGroups(f *testing.F) {
	s := newFuzzServer(f, fillDirectory)
	for _, b := range adminSeeds(
		`{"displayName":"Contractors","members":["$alice","$bob"]}`,
		`{"displayName":"Empty"}`,
		`{"displayName":"Dup","members":["$alice","$alice"]}`,
		`{"displayName":"Ghost","members":["ghost"]}`,
		`{"displayName":"Bad","members":["$alice:groups"]}`,
		`{"displayName":"  "}`,
		`{"displayName":null}`,
		`{"displayName":"Admins"}`,
		`{"displayName":"X","addMembers":["$bob"],"removeMembers":["$alice"]}`,
		`{"displayName":"X","members":"$alice"}`,
		`{"displayName":7}`,
	) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzBody {
			t.Skip()
		}
		body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("$alice"), []byte(s.ids["alice"])), []byte("$bob"), []byte(s.ids["bob"]))
		res := s.send(t, http.MethodPost, s.admin()+"/groups", s.tn.AdminToken, "application/json", body)
		checkAdmin(t, body, res)
		if res.status != http.StatusCreated {
			return
		}
		id := res.id(t, http.StatusCreated)
		checkAdmin(t, body, s.send(t, http.MethodPatch, s.admin()+"/groups/"+id, s.tn.AdminToken, "application/json", body))
		s.send(t, http.MethodDelete, s.admin()+"/groups/"+id, s.tn.AdminToken, "", nil).decode(t, http.StatusOK, nil)
	})
}

// FuzzAdminProvisioning: PUT /admin/v1/tenants/{t}/provisioning with a fuzzed body.
func FuzzAdminProvisioning(f *testing.F) {
	s := newFuzzServer(f, nil)
	for _, b := range adminSeeds(
		`{"mode":"idp"}`,
		`{"mode":"manual"}`,
		`{"mode":"manual","matchBy":["userName","email","employeeNumber"],"unmatchedUsers":"deactivate"}`,
		`{"matchBy":[],"unmatchedUsers":"keep"}`,
		`{"matchBy":null}`,
		`{"matchBy":["email","email"]}`,
		`{"matchBy":["phone"]}`,
		`{"mode":"IDP"}`,
		`{"mode":1}`,
		`{"unmatchedUsers":"delete"}`,
		`{"matchBy":"userName"}`,
	) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzBody {
			t.Skip()
		}
		checkAdmin(t, body, s.send(t, http.MethodPut, s.admin()+"/provisioning", s.tn.AdminToken, "application/json", body))
	})
}

// groupPlaceholder in a fuzzed group id stands for the id of the tenant's group.
const groupPlaceholder = "@group"

// FuzzAdminGrants: PUT /admin/v1/tenants/{t}/groups/{id}/grants with a fuzzed group id and body.
func FuzzAdminGrants(f *testing.F) {
	s := newFuzzServer(f, fillDirectory)
	for _, id := range []string{groupPlaceholder, "not-yet-created", "a b", "%", "../x", "\x00", "\xff", strings.Repeat("g", 2048), "t:{x}:group:1"} {
		for _, b := range adminSeeds(
			`{"grants":[{"scope":"enterprise","role":"Enterprise Admin"},{"scope":"account","account":"news","role":"Reports Only"}]}`,
			`{"grants":[]}`,
			`{"grants":null}`,
			`{"grants":[{"scope":"account","account":"news","role":"Account Administrator"},{"scope":"account","account":"news","role":"Account Administrator"}]}`,
			`{"grants":[{"scope":"account","account":"nope","role":"Editor"}]}`,
			`{"grants":[{"scope":"account","role":"Editor"}]}`,
			`{"grants":[{"scope":"enterprise","account":"news","role":"Enterprise Admin"}]}`,
			`{"grants":[{"scope":"enterprise","role":"Editor"}]}`,
			`{"grants":[{"scope":"global","role":"Editor"}]}`,
			`{"grants":[{"scope":"account","account":"news","role":"No Such Role"}]}`,
			`{"grants":[null,1,"x"]}`,
			`{"grants":{"scope":"enterprise"}}`,
		) {
			f.Add(id, []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		if len(id)+len(body) > maxFuzzBody {
			t.Skip()
		}
		id = strings.ReplaceAll(id, groupPlaceholder, s.ids["group"])
		res := s.send(t, http.MethodPut, s.admin()+"/groups/"+url.PathEscape(id)+"/grants", s.tn.AdminToken, "application/json", body)
		checkAdmin(t, body, res)
		s.wrote(t, res.status)
	})
}

// FuzzAdminRoles: PUT /admin/v1/tenants/{t}/roles/{name} with a fuzzed name and body.
func FuzzAdminRoles(f *testing.F) {
	s := newFuzzServer(f, nil)
	for _, name := range []string{"Desk Chief", "Enterprise Admin", "viewer", " ", "", "%2F", "..", "\x00", "\xff\xfe", strings.Repeat("r", 101), "__proto__", "data.roles"} {
		for _, b := range adminSeeds(
			`{"level":"account","permissions":["manage_users","publish"]}`,
			`{"level":"enterprise","permissions":["manage_enterprise"],"groupManager":true}`,
			`{"level":"account","permissions":[]}`,
			`{"level":"account","permissions":null}`,
			`{"level":"account","permissions":["fly"]}`,
			`{"level":"account","permissions":["publish","publish"]}`,
			`{"level":"global","permissions":["publish"]}`,
			`{"level":"account","permissions":["`+strings.Repeat("p", 4096)+`"]}`,
			`{"level":"account","permissions":"publish"}`,
			`{"level":"account","permissions":["publish"],"groupManager":"yes"}`,
		) {
			f.Add(name, []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		if len(name)+len(body) > maxFuzzBody {
			t.Skip()
		}
		res := s.send(t, http.MethodPut, s.admin()+"/roles/"+url.PathEscape(name), s.tn.AdminToken, "application/json", body)
		checkAdmin(t, body, res)
		s.wrote(t, res.status)
	})
}

// FuzzAdminPreflight: POST /admin/v1/tenants/{t}/preflight with a fuzzed body, read as JSON, as
// CSV, and as the fuzzed Content-Type.
func FuzzAdminPreflight(f *testing.F) {
	s := newFuzzServer(f, func(tb testing.TB, s *fuzzServer) {
		fillDirectory(tb, s)
		s.send(tb, http.MethodPut, s.admin()+"/provisioning", s.tn.AdminToken, "application/json", []byte(`{"mode":"manual"}`)).decode(tb, http.StatusOK, nil)
		for _, u := range []string{
			`{"userName":"ann@x.test","email":"ann@x.test","employeeNumber":"E1"}`,
			`{"userName":"bob.local","email":"bob@x.test"}`,
			`{"userName":"dee@x.test"}`,
			`{"userName":"dee.local","email":"dee@x.test"}`,
		} {
			s.send(tb, http.MethodPost, s.admin()+"/users", s.tn.AdminToken, "application/json", []byte(u)).decode(tb, http.StatusCreated, nil)
		}
	})
	idp, err := json.Marshal(migrationIdP)
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range []string{
		string(idp),
		migrationCSV,
		`[{"userPrincipalName":"ann@x.test"}]`,
		`{"value":[{"userPrincipalName":"alice@corp.example","mail":"bob@corp.example","employeeId":200,"accountEnabled":null}]}`,
		`{"users":[],"value":[]}`,
		`{"users":{}}`,
		`[null,1,"x",[]]`,
		`[{"userPrincipalName":1},{"mail":["x"]},{"employeeId":{}},{"accountEnabled":"perhaps"}]`,
		`[{"userPrincipalName":"a","USERPRINCIPALNAME":"b"}]`,
		`[{"employeeId":-0.5e-400},{"employeeId":123456789012345678901234567890}]`,
		`[` + strings.Repeat(`{"mail":"x@y"},`, 2000) + `{}]`,
		"userPrincipalName;mail;employeeId\nann@x.test;ann@x.test;E1\n",
		"userPrincipalName\tmail\nann@x.test\tANN@X.TEST \n",
		"userPrincipalName,mail\n\"unterminated,x\n",
		"userPrincipalName,mail\na\"b,c\n",
		"userPrincipalName,mail,mail\na,b,c\n",
		"userPrincipalName,accountEnabled\na,maybe\n",
		"userPrincipalName,mail\na,b,c,d\n",
		"jobTitle,department\nx,y\n",
		"userPrincipalName\n",
		"\n\n\n",
		"\ufeff\ufeffuserPrincipalName\na\n",
		"\xff\xfeu\x00s\x00e\x00r\x00",
		"userPrincipalName\n\x00\n\xff\n",
		"userPrincipalName\r\n" + strings.Repeat("a\r\n", 10000),
		"userPrincipalName\n\"" + strings.Repeat("x", 40<<10) + "\"\n",
		"User Principal Name, Mail ,EMPLOYEEID\n\"a\"\"b\",c,d\n",
	} {
		f.Add("", []byte(b))
	}
	for _, ct := range []string{"application/json; charset=utf-16", "text/csv; charset=UTF-8", "application/scim+json", "application/vnd.ms-excel", "text/plain", "multipart/form-data; boundary=x", ";;", "text/csv; charset"} {
		f.Add(ct, []byte(migrationCSV))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		if len(contentType)+len(body) > maxFuzzBody {
			t.Skip()
		}
		types := []string{"application/json", "text/csv"}
		if headerSafe(contentType) {
			types = append(types, contentType)
		}
		for _, ct := range types {
			checkAdmin(t, body, s.send(t, http.MethodPost, s.admin()+"/preflight", s.tn.AdminToken, ct, body))
		}
	})
}

// headerSafe reports whether v can travel as a header value: printable ASCII and tabs. Others
// never reach the app (HTTP parsing refuses them first).
func headerSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 || c > 0x7e) && c != '\t' {
			return false
		}
	}
	return true
}
