package scimdoc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memberPatchBodies are group PATCH bodies ParseMemberPatch must read
// (taken: true) or leave to the general path.
var memberPatchBodies = []struct {
	name  string
	body  string
	taken bool
}{
	{"add", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"}]}]}`, true},
	{"Remove, spaced", " {\n \"Operations\" : [ { \"op\" : \"Remove\" , \"path\" : \"members\" , \"value\" : [ { \"value\" : \"a-1\" } ] } ] ,\t\"schemas\" : [ \"urn:ietf:params:scim:api:messages:2.0:PatchOp\" ] }\r\n", true},
	{"$ref null", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"value":[{"$ref":null,"value":"a"}],"path":"members","op":"ADD"}]}`, true},
	{"several members and ops", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"},{"value":"b"},{"value":"a"}]},{"op":"remove","path":"members","value":[{"value":"c"}]}]}`, true},
	{"add then remove", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"},{"value":"b"}]},{"op":"remove","path":"members[value eq \"a\"]"}]}`, true},
	{"remove then add", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\"]"},{"op":"add","path":"members","value":[{"value":"a"}]}]}`, true},
	{"filter remove", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]}`, true},
	{"odd id kept as sent", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":" a:b{c} é "}]}]}`, true},
	{"many members", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[` + manyMembers(40) + `]},{"op":"remove","path":"members","value":[{"value":"m7"},{"value":"x"}]}]}`, true},

	{"add, then remove again", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"}]},{"op":"remove","path":"members","value":[{"value":"a"}]}]}`, true},
	{"remove all", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members"}]}`, false},
	{"replace", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[{"value":"a"}]}]}`, false},
	{"display", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a","display":"A"}]}]}`, false},
	{"$ref set", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a","$ref":"x"}]}]}`, false},
	{"empty id", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":" "}]}]}`, false},
	{"escaped id", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"\u0061"}]}]}`, false},
	{"numeric id", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":1}]}]}`, false},
	{"value not a list", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":{"value":"a"}}]}`, false},
	{"empty value", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[]}]}`, false},
	{"no path", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"members":[{"value":"a"}]}}]}`, false},
	{"Members", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"Members","value":[{"value":"a"}]}]}`, false},
	{"filter on add", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members[value eq \"a\"]","value":[{"value":"a"}]}]}`, false},
	{"filter with or", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}]}`, false},
	{"filter with quote", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\\\"\"]"}]}`, false},
	{"empty filter id", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"\"]"}]}`, false},
	{"displayName", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`, false},
	{"no schemas", `{"Operations":[{"op":"add","path":"members","value":[{"value":"a"}]}]}`, false},
	{"two schemas", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp","x"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"}]}]}`, false},
	{"lower-case operations", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"op":"add","path":"members","value":[{"value":"a"}]}]}`, false},
	{"repeated key", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","op":"remove","path":"members","value":[{"value":"a"}]}]}`, false},
	{"other key", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"id":"x","Operations":[{"op":"add","path":"members","value":[{"value":"a"}]}]}`, false},
	{"no operations", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`, false},
	{"trailing", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"}]}]}x`, false},
	{"trailing comma", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a"},]}]}`, false},
	{"cut", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a`, false},
	{"not json", `{`, false},
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"value":"m` + string(rune('a'+i%26)) + string(rune('0'+i/26)) + `"}`)
	}
	return strings.Replace(b.String(), `"mh0"`, `"m7"`, 1)
}

// TestParseMemberPatchLikeElimity: a body ParseMemberPatch reads gives the
// change MemberOps gives for elimity's operations; Entra's member PATCHes
// (the fixtures) and the common shapes are read, the rest left alone.
func TestParseMemberPatchLikeElimity(t *testing.T) {
	cases := memberPatchBodies
	for _, f := range []string{"10-group-add-members.PATCH-Groups.request.json", "11-group-remove-members.PATCH-Groups.request.json",
		"26-flag-off.remove-group-member.json", "27-flag-on.remove-group-member.json", "52-validator.group-add-then-remove-same-member.json",
		"51-validator.group-replace-members.json", "09-update-group-displayname.PATCH-Groups.request.json"} {
		cases = append(cases, struct {
			name  string
			body  string
			taken bool
		}{f, string(readFixture(t, f)), !strings.HasPrefix(f, "51") && !strings.HasPrefix(f, "09")})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseMemberPatch([]byte(tc.body))
			if ok != tc.taken {
				t.Fatalf("taken %v, want %v (%+v)", ok, tc.taken, got)
			}
			if !ok {
				if !got.Empty() {
					t.Errorf("a body left alone gives a change: %+v", got)
				}
				return
			}
			ops, res := tryPatchOps(t, "/Groups", []byte(tc.body))
			if res.Status != http.StatusNoContent {
				t.Fatalf("elimity refuses a body taken: %+v", res)
			}
			want, wantOK := MemberOps(ops)
			if !wantOK {
				t.Fatalf("MemberOps leaves alone a body taken")
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("change differs (-MemberOps +ParseMemberPatch):\n%s", d)
			}
		})
	}
}

// FuzzParseMemberPatch: whatever ParseMemberPatch reads, elimity accepts
// and MemberOps reads the same.
func FuzzParseMemberPatch(f *testing.F) {
	for _, tc := range memberPatchBodies {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFuzzInput {
			return
		}
		got, ok := ParseMemberPatch(body)
		if !ok {
			return
		}
		ops, res := tryPatchOps(t, "/Groups", body)
		if res.Status != http.StatusNoContent {
			t.Fatalf("elimity refuses a body taken: %+v", res)
		}
		want, wantOK := MemberOps(ops)
		if !wantOK {
			t.Fatalf("MemberOps leaves alone a body taken")
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("change differs (-MemberOps +ParseMemberPatch):\n%s", d)
		}
	})
}

func BenchmarkParseMemberPatch(b *testing.B) {
	body := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseMemberPatch(body); !ok {
			b.Fatal("not taken")
		}
	}
}
