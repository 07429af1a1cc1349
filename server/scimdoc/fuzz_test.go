package scimdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// The fuzz targets below check the pure functions of this package on hostile input. Their seed
// corpora run with every `go test`; to fuzz one, run for example
//
//	go test -run XXX -fuzz FuzzNormalizeFilter -fuzztime 2m -parallel 1 ./server/scimdoc/
//
// A crash the fuzzer finds is kept under testdata/fuzz/<target>/ and replayed by every later run.

// maxFuzzInput keeps each input as cheap as a request the server accepts (its tests' body limit).
const maxFuzzInput = 64 << 10

// filterSeeds are the filters the end-to-end tests send (server/scim_test.go TestFilters), the
// forms Entra sends, and hostile ones.
var filterSeeds = []string{
	`userName eq "ALICE@corp.example"`,
	`externalId eq "ext-b"`,
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
	`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`,
	`displayName eq "Group1DisplayName"`,
	`externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"`,
	`members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
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
	`emails[type eq "work"].value`,
	``,
	`]].[[`,
	`emails[[[[type eq "work"]]]].value eq "x"`,
	`emails[type eq "work"].value eq "unterminated`,
	`emails[type eq "work"].value eq`,
	`emails[type eq "work"]. eq "x"`,
	`emails[type eq "work"].$ref eq "x"`,
	`emails[type eq "work"].value eq 1e999999`,
	`userName eq 123456789012345678901234567890`,
	"userName eq \"\x00\"",
	"userName eq \"\xff\xfe\"",
	"emails[type eq \"\xc3\x28\"].value eq \"\x00\"",
	`__proto__ eq "x"`,
	`emails[__proto__ eq "x"].constructor eq "y"`,
	`userName eq "` + strings.Repeat("a", 4096) + `"`,
	strings.Repeat("(", 512) + `userName eq "x"` + strings.Repeat(")", 512),
	strings.Repeat(`emails[type eq "work"].value eq "x" and `, 64) + `userName pr`,
	`userName eq "x" and (`,
	`userName eq "\"`,
	`a[b eq "c"].d eq "e"].f eq "g"`,
	`emails[type eq "work"].value eq "x"]`,
}

// FuzzNormalizeFilter: NormalizeFilter never panics, leaves a filter without "]." alone, and never
// breaks a filter the parser already accepted. (Its output need not parse when the input has
// unrelated syntax errors, e.g. `emails[type eq "work"].value eq "x" and (`;
// FuzzNormalizeFilterValuePath checks the rewrite itself.)
func FuzzNormalizeFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > maxFuzzInput {
			t.Skip()
		}
		out := NormalizeFilter(in)
		if !strings.Contains(in, "].") && out != in {
			t.Fatalf("NormalizeFilter(%q) = %q: a filter without \"].\" must be left alone", in, out)
		}
		if parses(in) && !parses(out) {
			t.Fatalf("NormalizeFilter(%q) = %q: the input parsed, the output does not", in, out)
		}
	})
}

// FuzzNormalizeFilterValuePath builds Entra's form prefix and attr[inner].sub op value or suffix.
// Whenever the equivalent attr[inner and sub op value] form parses, NormalizeFilter's output must
// parse or be the input unchanged (a value filter it cannot extend is left alone).
func FuzzNormalizeFilterValuePath(f *testing.F) {
	for _, s := range valuePathSeeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6])
	}
	f.Fuzz(func(t *testing.T, prefix, attr, inner, sub, op, value, suffix string) {
		if len(prefix)+len(attr)+len(inner)+len(sub)+len(op)+len(value)+len(suffix) > maxFuzzInput {
			t.Skip()
		}
		in, want := valuePathForms(prefix, attr, inner, sub, op, value, suffix)
		out := NormalizeFilter(in) // never panics, whatever follows
		if !parses(want) {
			t.Skip()
		}
		if out != in && !parses(out) {
			t.Fatalf("NormalizeFilter(%q) = %q, which does not parse; %q does", in, out, want)
		}
	})
}

// valuePathSeeds are FuzzNormalizeFilterValuePath's seeds: prefix, attr,
// inner, sub, op, value, suffix. Each one's attr[inner and sub op value]
// form parses (TestValuePathSeedsReachTheCheck), or the target would skip
// it: elimity parses neither a parenthesised nor a negated inner filter
// followed by "and", nor a number beyond float64.
var valuePathSeeds = [][7]string{
	{`userName eq "a"`, "emails", `type eq "work"`, "value", "eq", `"x@y.com"`, `externalId eq "b"`},
	{`userName pr`, "phoneNumbers", `type eq "mobile"`, "value", "sw", `"+1"`, `active eq true`},
	{`id eq "1"`, "emails", `type eq "work"`, "primary", "eq", "true", `displayName co "x"`},
	{`userName eq "a"`, "emails", `type eq "work"`, "value", "pr", "", `userName eq "b"`},
	{`userName eq "]."`, "urn:ietf:params:scim:schemas:core:2.0:User:emails", ` type eq "w\"]." `, "value", "EQ", `"x \" ]"`, `(userName eq "c")`},
	{`userName eq "a"`, "emails", ` type ne "home"  `, "value", "eq", `"x"`, `userName eq "b"`},
	{`(userName eq "a")`, "emails", `type eq "work"`, "value", "ne", `"x"`, `not (userName eq "b")`},
	{`userName eq "a"`, "emails", `type eq "work"`, "value", "gt", "-1.5E+308", `userName eq "b"`},
}

// valuePathForms is Entra's form of a value-path filter and the equivalent
// form elimity parses.
func valuePathForms(prefix, attr, inner, sub, op, value, suffix string) (in, want string) {
	comparison := sub + " " + op
	if value != "" {
		comparison += " " + value
	}
	in = prefix + " and " + attr + "[" + inner + "]." + comparison + " or " + suffix
	want = prefix + " and " + attr + "[" + strings.TrimSpace(inner) + " and " + comparison + "] or " + suffix
	return in, want
}

// TestValuePathSeedsReachTheCheck: no seed of FuzzNormalizeFilterValuePath
// is skipped, so each one tests NormalizeFilter's rewrite.
func TestValuePathSeedsReachTheCheck(t *testing.T) {
	for _, s := range valuePathSeeds {
		if _, want := valuePathForms(s[0], s[1], s[2], s[3], s[4], s[5], s[6]); !parses(want) {
			t.Errorf("seed %q: %q does not parse, so the fuzz target skips it", s, want)
		}
	}
}

func parses(f string) bool {
	_, err := filter.ParseFilter([]byte(f))
	return err == nil
}

// hostileBodies are request bodies no identity provider sends.
var hostileBodies = []string{
	``,
	`null`,
	`[]`,
	`"x"`,
	`{}`,
	`{"Operations":null}`,
	`{"Operations":{}}`,
	`{"Operations":[]}`,
	`{"Operations":[null, 1, "x", [], {}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails.primary","value":true}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"},{"op":"remove","path":"userName"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"manager","value":[]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"manager":["m"],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[{"value":"n"}]}}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"},{"op":"add","path":"members","value":[{"value":"a"},{"value":"a"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"\\\"\"]"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq \"work\" and primary eq \"True\"].value","value":"x"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[value gt 1e999999]","value":{"value":"x"}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":123456789012345678901234567890e123456789}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"__proto__","value":{"constructor":{"prototype":1}}}]}`,
	`{"__proto__":{"Operations":[]},"Operations":[{"op":"add","value":{"__proto__":"x"}}]}`,
	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"\x00\xff\xfe\"}]}",
	"{\"userName\":\"\xc3\x28\",\"password\":\"\x00\"}",
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"` + strings.Repeat("x", 8192) + `"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"`,
	`{"Operations":[{"op":"add","value":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}]}`,
	`{"Operations":[{"op":"add","value":` + strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat("}", 2000) + `}]}`,
	`{"Operations":[]}{"Operations":[]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","PassWord":"p","emails":[{"value":"a","password":"p"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":""}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[[]]}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"Manager":["m","n"]}}`,
}

// bodySeeds adds every Entra fixture and the hostile bodies to a body target's corpus.
func bodySeeds(f *testing.F, add func(body []byte)) {
	f.Helper()
	dir := filepath.Join("..", "testdata", "entra")
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
		add(body)
	}
	for _, b := range hostileBodies {
		add([]byte(b))
	}
}

// FuzzNormalizePatchBody: never panics; a body it accepts becomes a JSON object whose schemas is
// the PatchOp URN and whose Operations keeps its length, and normalizing it again changes nothing.
func FuzzNormalizePatchBody(f *testing.F) {
	bodySeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzInput {
			t.Skip()
		}
		out, empty, err := NormalizePatchBody(body)
		if err != nil {
			if !errors.Is(err, errPatchBody) {
				t.Fatalf("NormalizePatchBody(%q): error %v does not wrap errPatchBody", body, err)
			}
			return
		}
		var got struct {
			Schemas    []string
			Operations []json.RawMessage
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("NormalizePatchBody(%q) = %q: not a PATCH object: %v", body, out, err)
		}
		if len(got.Schemas) != 1 || got.Schemas[0] != PatchOpURN {
			t.Fatalf("NormalizePatchBody(%q) = %q: schemas %v", body, out, got.Schemas)
		}
		if empty != (len(got.Operations) == 0) {
			t.Fatalf("NormalizePatchBody(%q) = %q: empty=%v with %d operations", body, out, empty, len(got.Operations))
		}
		again, _, err := NormalizePatchBody(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("NormalizePatchBody is not idempotent on %q:\nonce:  %s\ntwice: %s (%v)", body, out, again, err)
		}
	})
}

// FuzzNormalizeResourceBody: never panics; a body it accepts becomes a JSON object without any
// "password" key and without a multi-valued attribute given as an object, and normalizing it
// again changes nothing. NormalizeGroupBody, the same for a group's members, is fuzzed on the
// same bodies.
func FuzzNormalizeResourceBody(f *testing.F) {
	bodySeeds(f, func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"Emails":{"value":"a@x"},"MEMBERS":{"value":"u"},"members":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzInput {
			t.Skip()
		}
		for _, n := range []struct {
			name       string
			normalize  func([]byte) ([]byte, error)
			multi      []string
			noPassword bool
		}{
			{"NormalizeResourceBody", NormalizeResourceBody, UserMultiValued, true},
			{"NormalizeGroupBody", NormalizeGroupBody, GroupMultiValued, false},
		} {
			out, err := n.normalize(body)
			if err != nil {
				continue
			}
			var got map[string]interface{}
			if err := decodeJSON(out, &got); err != nil || got == nil {
				t.Fatalf("%s(%q) = %q: not a JSON object: %v", n.name, body, out, err)
			}
			if n.noPassword && hasPassword(got) {
				t.Fatalf("%s(%q) = %q: a password survived", n.name, body, out)
			}
			for k, v := range got {
				if _, obj := v.(map[string]interface{}); obj && slices.ContainsFunc(n.multi, func(m string) bool { return strings.EqualFold(k, m) }) {
					t.Fatalf("%s(%q) = %q: %s is an object", n.name, body, out, k)
				}
			}
			again, err := n.normalize(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("%s is not idempotent on %q:\nonce:  %s\ntwice: %s (%v)", n.name, body, out, again, err)
			}
		}
	})
}

func hasPassword(v interface{}) bool {
	switch v := v.(type) {
	case map[string]interface{}:
		for k, e := range v {
			if strings.EqualFold(k, "password") || hasPassword(e) {
				return true
			}
		}
	case []interface{}:
		for _, e := range v {
			if hasPassword(e) {
				return true
			}
		}
	}
	return false
}

// fuzzUsers are stored User documents the PATCH targets start from.
var fuzzUsers = []string{
	storedUser,
	`{"userName": "u"}`,
	`{
		"userName": "u", "active": false, "displayName": "D",
		"emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x", "type": "home", "primary": false}, {"value": "c@x"}],
		"phoneNumbers": [{"value": "+1", "type": "mobile"}],
		"addresses": [{"type": "work", "locality": "L", "primary": true}],
		"roles": [{"value": "r1"}, {"value": "r2", "primary": true}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
			"manager": {"value": "m", "$ref": "../Users/m", "displayName": "M"}, "costCenter": "c"
		}
	}`,
}

// fuzzGroups are stored Group documents.
var fuzzGroups = []string{storedGroup, `{"displayName": "g"}`}

// FuzzApplyUserPatch runs a body through the real pipeline (NormalizePatchBody, elimity's PATCH
// validation) and applies the operations elimity accepts to a stored user. ApplyUserPatch never
// panics; on error it returns a SCIM error value with a 4xx status and leaves the document as it
// was; on success the document still encodes as JSON, keeps a userName, and has at most one
// primary value per multi-valued attribute.
func FuzzApplyUserPatch(f *testing.F) {
	bodySeeds(f, func(b []byte) {
		for i := range fuzzUsers {
			f.Add(uint8(i), b)
		}
	})
	f.Fuzz(func(t *testing.T, start uint8, body []byte) {
		if len(body) > maxFuzzInput {
			t.Skip()
		}
		ops, ok := elimityPatchOps(t, "/Users/x", body)
		if !ok {
			return
		}
		src := fuzzUsers[int(start)%len(fuzzUsers)]
		doc, before := jsonDoc(t, src), jsonDoc(t, src)
		err := ApplyUserPatch(doc, ops)
		if err != nil {
			checkPatchError(t, body, err)
			if !reflect.DeepEqual(doc, before) {
				t.Fatalf("ApplyUserPatch(%s) failed (%v) but changed the document:\nbefore %v\nafter  %v", body, err, before, doc)
			}
			return
		}
		if _, err := json.Marshal(doc); err != nil {
			t.Fatalf("ApplyUserPatch(%s) left a document that does not encode: %v", body, err)
		}
		if s, ok := doc["userName"].(string); !ok || s == "" {
			t.Fatalf("ApplyUserPatch(%s) left userName %#v", body, doc["userName"])
		}
		for k, v := range doc {
			if n := primaries(v); n > 1 {
				t.Fatalf("ApplyUserPatch(%s) left %d primary values in %s: %v", body, n, k, v)
			}
		}
	})
}

// primaries counts the elements of a multi-valued attribute whose primary is true.
func primaries(v interface{}) int {
	n := 0
	list, _ := v.([]interface{})
	for _, e := range list {
		if m, ok := e.(map[string]interface{}); ok && isPrimary(m) {
			n++
		}
	}
	return n
}

// FuzzApplyGroupPatch is FuzzApplyUserPatch for groups: on error the document is unchanged and the
// member change empty; on success displayName stays a non-empty string and the member change
// holds no empty or repeated id and no id both added and removed.
func FuzzApplyGroupPatch(f *testing.F) {
	bodySeeds(f, func(b []byte) {
		for i := range fuzzGroups {
			f.Add(uint8(i), b)
		}
	})
	f.Fuzz(func(t *testing.T, start uint8, body []byte) {
		if len(body) > maxFuzzInput {
			t.Skip()
		}
		ops, ok := elimityPatchOps(t, "/Groups/x", body)
		if !ok {
			return
		}
		src := fuzzGroups[int(start)%len(fuzzGroups)]
		doc, before := jsonDoc(t, src), jsonDoc(t, src)
		change, err := ApplyGroupPatch(doc, ops)
		if err != nil {
			checkPatchError(t, body, err)
			if !reflect.DeepEqual(doc, before) {
				t.Fatalf("ApplyGroupPatch(%s) failed (%v) but changed the document:\nbefore %v\nafter  %v", body, err, before, doc)
			}
			if !reflect.DeepEqual(change, MemberChange{}) {
				t.Fatalf("ApplyGroupPatch(%s) failed (%v) with a member change %+v", body, err, change)
			}
			return
		}
		if s, ok := doc["displayName"].(string); !ok || s == "" {
			t.Fatalf("ApplyGroupPatch(%s) left displayName %#v", body, doc["displayName"])
		}
		added := map[string]bool{}
		for _, id := range change.Add {
			if strings.TrimSpace(id) == "" || added[id] {
				t.Fatalf("ApplyGroupPatch(%s): Add %q holds an empty or repeated id", body, change.Add)
			}
			added[id] = true
		}
		removed := map[string]bool{}
		for _, id := range change.Remove {
			if id == "" || removed[id] || added[id] {
				t.Fatalf("ApplyGroupPatch(%s): Remove %q holds an empty, repeated or added id (Add %q)", body, change.Remove, change.Add)
			}
			removed[id] = true
		}
	})
}

// checkPatchError fails unless err is what the edge can answer: an errors.ScimError value (a
// pointer, or any other error, becomes a 500) with a 4xx status.
func checkPatchError(t *testing.T, body []byte, err error) {
	t.Helper()
	var se scimerrors.ScimError
	if !errors.As(err, &se) {
		t.Fatalf("PATCH %s: error %#v is not a scimerrors.ScimError value", body, err)
	}
	if se.Status < 400 || se.Status > 499 {
		t.Fatalf("PATCH %s: error status %d: %v", body, se.Status, err)
	}
}

// fuzzElimity is one elimity server for the whole process: building one per input would cost more
// than the input. mu serializes its use, since the handler records the last operations.
var fuzzElimity struct {
	once sync.Once
	mu   sync.Mutex
	h    *captureHandler
	srv  scim.Server
	err  error
}

// elimityPatchOps normalizes body as the server does and returns the operations elimity hands the
// handler; ok is false when the body is refused before that (which must be a 4xx).
func elimityPatchOps(t *testing.T, target string, body []byte) (ops []scim.PatchOperation, ok bool) {
	t.Helper()
	norm, empty, err := NormalizePatchBody(body)
	if err != nil || empty {
		return nil, false
	}
	e := &fuzzElimity
	e.once.Do(func() {
		e.h = &captureHandler{}
		e.srv, e.err = scim.NewServer(&scim.ServerArgs{
			ServiceProviderConfig: &scim.ServiceProviderConfig{},
			ResourceTypes: []scim.ResourceType{
				{
					Name:             "User",
					Endpoint:         "/Users",
					Schema:           schema.CoreUserSchema(),
					SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}},
					Handler:          e.h,
				},
				{Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema(), Handler: e.h},
			},
		})
	})
	if e.err != nil {
		t.Fatalf("scim.NewServer: %v", e.err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.h.ops = nil
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, httptest.NewRequest(http.MethodPatch, target, bytes.NewReader(norm)))
	if w.Code >= 500 {
		t.Fatalf("elimity answered %d to the normalized PATCH %s: %s", w.Code, norm, w.Body)
	}
	if w.Code >= 300 {
		return nil, false
	}
	return e.h.ops, true
}

// FuzzProject: Project never panics and never modifies the resource; the result keeps id and
// schemas, holds no top-level attribute the resource lacks, and encodes as JSON.
func FuzzProject(f *testing.F) {
	for _, res := range []string{renderedUser, renderedGroup, `{}`, `{"id":"x","a:b":{"c":1},"a":[1,{"b":2}]}`} {
		for _, q := range [][2]string{
			{"", ""},
			{"userName", ""},
			{"", "displayName"},
			{"emails.value,name.givenName", "emails.type"},
			{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			{"urn:ietf:params:scim:schemas:core:2.0:User:userName,meta", "id,schemas"},
			{"members", "members.value"},
			{"a:b.c,a.b,:,.,a:", "a:b:c, a.b.c ,,"},
		} {
			f.Add([]byte(res), q[0], q[1])
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, attributes, excluded string) {
		if len(raw)+len(attributes)+len(excluded) > maxFuzzInput {
			t.Skip()
		}
		var res, before map[string]interface{}
		if json.Unmarshal(raw, &res) != nil || res == nil {
			return
		}
		if err := json.Unmarshal(raw, &before); err != nil {
			t.Fatal(err)
		}
		in, ex := ParseAttrList(attributes), ParseAttrList(excluded)
		out := Project(res, in, ex)
		if !reflect.DeepEqual(res, before) {
			t.Fatalf("Project(%s, %q, %q) modified the resource:\nbefore %v\nafter  %v", raw, in, ex, before, res)
		}
		for _, k := range alwaysReturned {
			if rk, ok := lookupKey(res, k); ok {
				if _, kept := out[rk]; !kept {
					t.Fatalf("Project(%s, %q, %q) dropped %s: %v", raw, in, ex, rk, out)
				}
			}
		}
		for k := range out {
			if _, ok := res[k]; !ok {
				t.Fatalf("Project(%s, %q, %q) invented %q: %v", raw, in, ex, k, out)
			}
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("Project(%s, %q, %q) does not encode: %v", raw, in, ex, err)
		}
	})
}
