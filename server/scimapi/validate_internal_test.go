package scimapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elimity-com/scim/schema"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/scimdoc"
)

const (
	coreURN = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
	bothURN = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + provision.EnterpriseUser + `"]`
	ent     = `"` + provision.EnterpriseUser + `"`
)

// validateCases are POST /Users bodies, with whether resourceRules must
// answer them itself (true) or leave them to elimity (false).
var validateCases = []struct {
	body string
	fast bool
}{
	{`{` + coreURN + `,"userName":"a"}`, true},
	{`{` + bothURN + `,"userName":"a","externalId":"e","active":"True","displayName":"A","name":{"givenName":"A","familyName":"B","formatted":"A B","bogus":1},` +
		`"emails":[{"type":"work","value":"a@x","primary":true},{"type":"home","value":"b@x","primary":"false"}],"roles":[],"phoneNumbers":null,` +
		`"id":"x","meta":{"resourceType":"User"},"groups":[{"value":"g"}],"unknown":{"a":1},` + ent + `:{"employeeNumber":"1","department":"D","manager":{"value":"m"},"bogus":"x"}}`, true},
	{`{` + coreURN + `,"UserName":"a","ACTIVE":false,"Name":{"GivenName":"A"},"EMAILS":[{"VALUE":"a@x"}]}`, true}, // renamed
	{`{` + coreURN + `,"userName":"a",` + ent + `:null}`, true},
	{`{` + coreURN + `,"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"employeeNumber":"1"}}`, true}, // not the extension's exact name: unknown
	{`{` + coreURN + `,"userName":"a","addresses":[{"streetAddress":"s","primary":true}],"x509Certificates":[]}`, true},
	{`{` + coreURN + `,"uſerName":"a"}`, true}, // strings.EqualFold: ſ is s
	{`{` + coreURN + `,"userName":"a","active":"maybe"}`, false},
	{`{` + coreURN + `,"userName":"a","active":1}`, false},
	{`{` + coreURN + `,"userName":"a","username":"b"}`, false},
	{`{` + coreURN + `,"userName":null}`, false},
	{`{` + coreURN + `}`, false},
	{`{"userName":"a"}`, false},
	{`{"schemas":"urn:ietf:params:scim:schemas:core:2.0:User","userName":"a"}`, false},
	{`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"userName":"a"}`, false},
	{`{` + coreURN + `,"userName":1}`, false},
	{`{` + coreURN + `,"userName":"a","name":"A"}`, false},
	{`{` + coreURN + `,"userName":"a","name":{"givenName":1}}`, false},
	{`{` + coreURN + `,"userName":"a","name":{"givenName":"a","GivenName":"b"}}`, false},
	{`{` + coreURN + `,"userName":"a","emails":{"value":"a@x"}}`, true}, // NormalizeResourceMap: a list of it
	{`{` + coreURN + `,"userName":"a","emails":"a@x"}`, false},
	{`{` + coreURN + `,"userName":"a","emails":[null]}`, false},
	{`{` + coreURN + `,"userName":"a","emails":["a@x"]}`, false},
	{`{` + coreURN + `,"userName":"a","x509Certificates":[{"value":"AAAA"}]}`, false}, // binary: elimity's
	{`{` + coreURN + `,"userName":"a",` + ent + `:"x"}`, false},
	{`{` + coreURN + `,"userName":"a",` + ent + `:{"manager":"m"}}`, true}, // NormalizeResourceMap: {"value":"m"}
	{`{` + coreURN + `,"userName":"a",` + ent + `:{"manager":{"value":1}}}`, false},
	{`{` + coreURN + `,"userName":"a","password":"p","Password":"q"}`, true},
}

// TestValidateIsElimitys: what resourceRules answers itself is what
// elimity's validation answers, attribute for attribute; the rest is left
// to elimity. Entra's create bodies are answered by resourceRules.
func TestValidateIsElimitys(t *testing.T) {
	a := New(nil, Options{})
	bodies := validateCases
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "entra", "*POST*.json"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "urn:ietf:params:scim:schemas:core:2.0:User") {
			continue // a group's
		}
		n++
		bodies = append(bodies, struct {
			body string
			fast bool
		}{string(b), true})
	}
	if n < 3 {
		t.Fatalf("%d Entra create bodies in ../testdata/entra, want 3 or more", n)
	}
	for _, tc := range bodies {
		if fast := sameAsElimity(t, a, []byte(tc.body)); fast != tc.fast {
			t.Errorf("%s: answered without elimity %v, want %v", tc.body, fast, tc.fast)
		}
	}
}

// sameAsElimity fails when resourceRules answers body otherwise than
// elimity does, and reports whether it answered at all.
func sameAsElimity(t *testing.T, a *API, body []byte) bool {
	t.Helper()
	m, err := decodeResource(body)
	if err != nil {
		return false
	}
	scimdoc.NormalizeResourceMap(m)
	if !a.userRules.validate(m) {
		return false
	}
	want, err := scimdoc.DecodeResource(body)
	if err != nil {
		t.Fatalf("%s: elimity's decoding refuses what jsonval decoded: %v", body, err)
	}
	scimdoc.NormalizeResourceMap(want)
	attrs, se := validateResource(a.users, a.userCreate, want)
	if se != nil {
		t.Errorf("%s: validated, but elimity refuses it: %v", body, se)
		return true
	}
	if d := cmp.Diff(map[string]any(attrs), m); d != "" {
		t.Errorf("%s (-elimity +resourceRules):\n%s", body, d)
	}
	return true
}

func FuzzValidateIsElimitys(f *testing.F) {
	for _, tc := range validateCases {
		f.Add([]byte(tc.body))
	}
	a := New(nil, Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		if strings.Count(string(body), "{") > 50 {
			return
		}
		sameAsElimity(t, a, body)
	})
}

// TestMultiValuedNames keeps scimdoc's lists of multi-valued attributes,
// which POST and PUT bodies are read by before validation, equal to the
// schemas this package publishes.
func TestMultiValuedNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []string
		s    schema.Schema
		exts []schema.Schema
	}{
		{"User", scimdoc.UserMultiValued, userSchema(), []schema.Schema{schema.ExtensionEnterpriseUser()}},
		{"Group", scimdoc.GroupMultiValued, groupSchema(), nil},
	} {
		var want []string
		for _, s := range append([]schema.Schema{tc.s}, tc.exts...) {
			for _, a := range s.Attributes {
				if a.MultiValued() {
					want = append(want, a.Name())
				}
			}
		}
		if d := cmp.Diff(want, tc.got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
			t.Errorf("%s: multi-valued attributes (-schema +scimdoc):\n%s", tc.name, d)
		}
	}
}
