package scimdoc

import (
	"testing"

	"github.com/elimity-com/scim"
	"github.com/google/go-cmp/cmp"
)

const storedGroup = `{"displayName": "displayName", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}`

// groupFixtureCases replays every group PATCH Entra sends (server/testdata/entra) through
// NormalizePatchBody, elimity and ApplyGroupPatch.
var groupFixtureCases = []struct {
	name, fixture string
	want          string
	wantChange    MemberChange
}{
	{
		name:    "09 replace displayName",
		fixture: "09-update-group-displayname.PATCH-Groups.request.json",
		want: `{"displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
			"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}`,
	},
	{
		name:       "10 add member",
		fixture:    "10-group-add-members.PATCH-Groups.request.json",
		want:       storedGroup,
		wantChange: MemberChange{Add: []string{"f648f8d5ea4e4cd38e9c"}},
	},
	{
		name:       "11 remove member with a value list",
		fixture:    "11-group-remove-members.PATCH-Groups.request.json",
		want:       storedGroup,
		wantChange: MemberChange{Remove: []string{"f648f8d5ea4e4cd38e9c"}},
	},
	{
		name:       "26 remove member, title-case op",
		fixture:    "26-flag-off.remove-group-member.json",
		want:       storedGroup,
		wantChange: MemberChange{Remove: []string{"u1091"}},
	},
	{
		name:       "27 remove member through a value filter",
		fixture:    "27-flag-on.remove-group-member.json",
		want:       storedGroup,
		wantChange: MemberChange{Remove: []string{"7f4bc1a3-285e-48ae-8202-5accb43efb0e"}},
	},
	{
		name:    "50 path-less replace of displayName",
		fixture: "50-validator.group-patch-replace-novalue-path.json",
		want:    `{"displayName": "WUZPWMBDDCGI", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}`,
	},
	{
		name:    "51 replace members",
		fixture: "51-validator.group-replace-members.json",
		want:    storedGroup,
		wantChange: MemberChange{Replace: true, Add: []string{
			"ee90548a-11dd-4795-b3ac-9cfcd99232bc", "35ddd382-61d2-48ec-a366-11d37d83d765"}},
	},
	{
		name:       "52 add then remove the same member",
		fixture:    "52-validator.group-add-then-remove-same-member.json",
		want:       storedGroup,
		wantChange: MemberChange{Remove: []string{"761ac150-9d77-49b2-8f3f-8ec2eacf99da"}},
	},
}

func TestApplyGroupPatchFixtures(t *testing.T) {
	for _, tc := range groupFixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			ops := patchOps(t, "/Groups", readFixture(t, tc.fixture))
			doc := jsonDoc(t, storedGroup)
			change, err := ApplyGroupPatch(doc, ops)
			if err != nil {
				t.Fatalf("ApplyGroupPatch: %v", err)
			}
			if diff := cmp.Diff(tc.wantChange, change); diff != "" {
				t.Errorf("member change (-want +got):\n%s", diff)
			}
			if got, want := change.Empty(), cmp.Equal(tc.wantChange, MemberChange{}); got != want {
				t.Errorf("Empty() = %v, want %v", got, want)
			}
			if diff := cmp.Diff(jsonDoc(t, tc.want), doc); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyGroupPatch(t *testing.T) {
	tests := []struct {
		name, ops  string
		want       string // document after the PATCH; storedGroup when wantErr is set
		wantChange MemberChange
		wantErr    string
	}{
		{
			name:       "add deduplicates",
			ops:        `{"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b", "display": "B"}, {"value": "a"}]}`,
			want:       storedGroup,
			wantChange: MemberChange{Add: []string{"a", "b"}},
		},
		{
			name:       "remove then add the same member",
			ops:        `{"op": "remove", "path": "members[value eq \"a\"]"}, {"op": "add", "path": "members", "value": [{"value": "a"}]}`,
			want:       storedGroup,
			wantChange: MemberChange{Add: []string{"a"}},
		},
		{
			name:       "remove all members",
			ops:        `{"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "members"}`,
			want:       storedGroup,
			wantChange: MemberChange{Replace: true},
		},
		{
			name:       "remove after replace only drops from the new list",
			ops:        `{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}, {"op": "remove", "path": "members", "value": [{"value": "b"}, {"value": "c"}]}`,
			want:       storedGroup,
			wantChange: MemberChange{Replace: true, Add: []string{"a"}},
		},
		{
			name:       "remove through an or filter",
			ops:        `{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}`,
			want:       storedGroup,
			wantChange: MemberChange{Remove: []string{"a", "b"}},
		},
		{
			name:       "path-less add of members and externalId",
			ops:        `{"op": "add", "value": {"members": [{"value": "a"}], "externalId": "e2"}}`,
			want:       `{"displayName": "displayName", "externalId": "e2"}`,
			wantChange: MemberChange{Add: []string{"a"}},
		},
		{
			name: "remove externalId",
			ops:  `{"op": "remove", "path": "externalId"}`,
			want: `{"displayName": "displayName"}`,
		},
		{
			name:    "member without value",
			ops:     `{"op": "add", "path": "members", "value": [{"value": ""}]}`,
			want:    storedGroup,
			wantErr: "invalidValue",
		},
		{
			name:    "member with only display",
			ops:     `{"op": "add", "path": "members", "value": [{"display": "x"}]}`,
			want:    storedGroup,
			wantErr: "invalidValue",
		},
		{
			name:    "remove with an empty member value",
			ops:     `{"op": "remove", "path": "members", "value": [{"value": ""}]}`,
			want:    storedGroup,
			wantErr: "invalidValue",
		},
		{
			name:    "member filter other than value eq",
			ops:     `{"op": "remove", "path": "members[value ne \"a\"]"}`,
			want:    storedGroup,
			wantErr: "invalidFilter",
		},
		{
			name:    "member sub-attribute",
			ops:     `{"op": "add", "path": "members[value eq \"a\"].display", "value": "A"}`,
			want:    storedGroup,
			wantErr: "mutability",
		},
		{
			name:    "displayName cannot be removed",
			ops:     `{"op": "remove", "path": "displayName"}`,
			want:    storedGroup,
			wantErr: "invalidValue",
		},
		{
			name:    "an error leaves the document as it was",
			ops:     `{"op": "replace", "path": "displayName", "value": "new"}, {"op": "replace", "path": "displayName", "value": ""}`,
			want:    storedGroup,
			wantErr: "invalidValue",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops := patchOps(t, "/Groups", patchBody(tc.ops))
			doc := jsonDoc(t, storedGroup)
			change, err := ApplyGroupPatch(doc, ops)
			if diff := cmp.Diff(tc.wantErr, scimType(t, err)); diff != "" {
				t.Errorf("error scimType (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tc.wantChange, change); diff != "" {
				t.Errorf("member change (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(jsonDoc(t, tc.want), doc); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyGroupPatchDirect(t *testing.T) {
	tests := []struct {
		name    string
		op      scim.PatchOperation
		wantErr string
	}{
		{name: "remove without path", op: scim.PatchOperation{Op: "remove"}, wantErr: "noTarget"},
		{name: "path-less add of a list", op: scim.PatchOperation{Op: "add", Value: []interface{}{}}, wantErr: "invalidValue"},
		{name: "schemas key", op: scim.PatchOperation{Op: "replace", Value: map[string]interface{}{"schemas": []interface{}{}}}, wantErr: "mutability"},
		{name: "unknown key", op: scim.PatchOperation{Op: "add", Value: map[string]interface{}{"bogus": "x"}}, wantErr: "invalidPath"},
		{name: "displayName that is no string", op: scim.PatchOperation{Op: "add", Value: map[string]interface{}{"displayName": 3.0}}, wantErr: "invalidValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := jsonDoc(t, storedGroup)
			change, err := ApplyGroupPatch(doc, []scim.PatchOperation{tc.op})
			if diff := cmp.Diff(tc.wantErr, scimType(t, err)); diff != "" {
				t.Errorf("error scimType (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(MemberChange{}, change); diff != "" {
				t.Errorf("member change (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(jsonDoc(t, storedGroup), doc); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
}
