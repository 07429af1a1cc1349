package scimdoc

import (
	"net/http"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/google/go-cmp/cmp"
)

// storedUser is a User document as storage returns it, before each PATCH.
const storedUser = `{
	"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
	"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
	"active": true,
	"displayName": "Old Name",
	"name": {"givenName": "givenName", "familyName": "familyName", "formatted": "givenName familyName"},
	"emails": [{"value": "old@testuser.com", "type": "work", "primary": true}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
		"employeeNumber": "100", "department": "Sales", "manager": {"value": "mgr-1"}
	}
}`

const ext = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`

// userFixtureCases replays every user PATCH Entra sends (server/testdata/entra) through
// NormalizePatchBody, elimity and ApplyUserPatch.
var userFixtureCases = []struct {
	name, fixture, start, want string
}{
	{
		name:    "05 replace work email and familyName",
		fixture: "05-update-user-multivalued.PATCH-Users.request.json",
		start:   storedUser,
		want: `{
			"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
			"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
			"active": true,
			"displayName": "Old Name",
			"name": {"givenName": "givenName", "familyName": "updatedFamilyName", "formatted": "givenName familyName"},
			"emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}],
			` + ext + `: {"employeeNumber": "100", "department": "Sales", "manager": {"value": "mgr-1"}}
		}`,
	},
	{
		name:    "05 on a user with no email creates the work email and name",
		fixture: "05-update-user-multivalued.PATCH-Users.request.json",
		start:   `{"userName": "u"}`,
		want: `{
			"userName": "u",
			"name": {"familyName": "updatedFamilyName"},
			"emails": [{"type": "work", "value": "updatedEmail@microsoft.com"}]
		}`,
	},
	{
		name:    "06 userName change",
		fixture: "06-update-user-username.PATCH-Users.request.json",
		start:   `{"userName": "old@testuser.com", "active": true}`,
		want:    `{"userName": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com", "active": true}`,
	},
	{
		name:    "07 disable",
		fixture: "07-disable-user.PATCH-Users.request.json",
		start:   `{"userName": "u", "active": true}`,
		want:    `{"userName": "u", "active": false}`,
	},
	{
		name:    "20 disable with string False",
		fixture: "20-flag-off.disable-user.json",
		start:   `{"userName": "u", "active": true}`,
		want:    `{"userName": "u", "active": false}`,
	},
	{
		name:    "21 disable with boolean",
		fixture: "21-flag-on.disable-user.json",
		start:   `{"userName": "u", "active": true}`,
		want:    `{"userName": "u", "active": false}`,
	},
	{
		name:    "22 add nickName, title-case op",
		fixture: "22-flag-off.add-single-value.json",
		start:   `{"userName": "u"}`,
		want:    `{"userName": "u", "nickName": "Babs"}`,
	},
	{
		name:    "23 add nickName",
		fixture: "23-flag-on.add-single-value.json",
		start:   `{"userName": "u", "nickName": "Barbara"}`,
		want:    `{"userName": "u", "nickName": "Babs"}`,
	},
	{
		name:    "24 replace many with paths",
		fixture: "24-flag-off.replace-multiple.json",
		start:   storedUser,
		want: `{
			"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
			"externalId": "Eqpj",
			"active": true,
			"displayName": "Pvlo",
			"name": {"givenName": "Gtfd", "familyName": "Pkqf", "formatted": "givenName familyName"},
			"emails": [{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": true}],
			` + ext + `: {"employeeNumber": "Eqpj", "department": "Sales", "manager": {"value": "mgr-1"}}
		}`,
	},
	{
		name:    "25 path-less replace with dotted and URN keys",
		fixture: "25-flag-on.replace-multiple.json",
		start:   storedUser,
		want: `{
			"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
			"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
			"active": true,
			"displayName": "Bjfe",
			"name": {"givenName": "Kkom", "familyName": "Unua", "formatted": "givenName familyName"},
			"emails": [{"value": "TestMhvaes@test.microsoft.com", "type": "work", "primary": true}],
			` + ext + `: {"employeeNumber": "Aklq", "department": "Sales", "manager": {"value": "mgr-1"}}
		}`,
	},
	{
		name:    "31 add a role",
		fixture: "31-roles.SingleAppRoleAssignment.PATCH.json",
		start:   `{"userName": "u"}`,
		want: `{"userName": "u", "roles": [
			{"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}
		]}`,
	},
	{
		name:    "31 add a role the user has is a no-op",
		fixture: "31-roles.SingleAppRoleAssignment.PATCH.json",
		start: `{"userName": "u", "roles": [
			{"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}
		]}`,
		want: `{"userName": "u", "roles": [
			{"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}
		]}`,
	},
	{
		name:    "32 add two roles appends",
		fixture: "32-roles.AppRoleAssignmentsComplex.PATCH.json",
		start:   `{"userName": "u", "roles": [{"value": "Old", "primary": true}]}`,
		want: `{"userName": "u", "roles": [
			{"value": "Old", "primary": true},
			{"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"},
			{"value": "{\"id\":\"06b07648-ecfe-599f-9d2f-6325724a46ee\",\"value\":\"User\",\"displayName\":\"User\"}"}
		]}`,
	},
	{
		name:    "33 replace roles",
		fixture: "33-roles.AssertiveAppRoleAssignmentsComplex.PATCH.json",
		start:   `{"userName": "u", "roles": [{"value": "Old", "primary": true}]}`,
		want: `{"userName": "u", "roles": [
			{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"},
			{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Test", "value": "Test"}
		]}`,
	},
	{
		name:    "40 manager as a plain string",
		fixture: "40-manager.add-as-string.PATCH.json",
		start:   storedUser,
		want: `{
			"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
			"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
			"active": true,
			"displayName": "Old Name",
			"name": {"givenName": "givenName", "familyName": "familyName", "formatted": "givenName familyName"},
			"emails": [{"value": "old@testuser.com", "type": "work", "primary": true}],
			` + ext + `: {"employeeNumber": "100", "department": "Sales",
				"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}
		}`,
	},
	{
		name:    "41 legacy manager path without URN, value in an array",
		fixture: "41-manager.legacy-doc-example5.PATCH.json",
		start:   `{"userName": "u"}`,
		want: `{"userName": "u", ` + ext + `: {"manager": {
			"$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
			"value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
		}}}`,
	},
	{
		name:    "42 empty manager value removes the manager",
		fixture: "42-manager.validator-remove-via-empty.PATCH.json",
		start:   storedUser,
		want: `{
			"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
			"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
			"active": true,
			"displayName": "Old Name",
			"name": {"givenName": "givenName", "familyName": "familyName", "formatted": "givenName familyName"},
			"emails": [{"value": "old@testuser.com", "type": "work", "primary": true}],
			` + ext + `: {"employeeNumber": "100", "department": "Sales"}
		}`,
	},
	{
		name:    "42 removing the only enterprise attribute drops the extension",
		fixture: "42-manager.validator-remove-via-empty.PATCH.json",
		start:   `{"userName": "u", ` + ext + `: {"manager": {"value": "mgr-1"}}}`,
		want:    `{"userName": "u"}`,
	},
}

func TestApplyUserPatchFixtures(t *testing.T) {
	for _, tc := range userFixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			ops := patchOps(t, "/Users", readFixture(t, tc.fixture))
			doc := jsonDoc(t, tc.start)
			if err := ApplyUserPatch(doc, ops); err != nil {
				t.Fatalf("ApplyUserPatch: %v", err)
			}
			if diff := cmp.Diff(jsonDoc(t, tc.want), doc); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
}

func patchBody(ops string) []byte {
	return []byte(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [` + ops + `]}`)
}

func TestApplyUserPatch(t *testing.T) {
	tests := []struct {
		name, start, ops string
		want             string // document after the PATCH; the start document when wantErr is set
		wantErr          string // scimType of the error ApplyUserPatch returns
	}{
		{
			name:  "add email with primary clears the other primary",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work", "primary": true}]}`,
			ops:   `{"op": "add", "path": "emails", "value": [{"value": "b@x", "type": "home", "primary": true}]}`,
			want: `{"userName": "u", "emails": [
				{"value": "a@x", "type": "work", "primary": false},
				{"value": "b@x", "type": "home", "primary": true}]}`,
		},
		{
			name:  "add an exact duplicate email is a no-op",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}]}`,
			ops:   `{"op": "Add", "path": "emails", "value": [{"value": "a@x", "type": "work"}]}`,
			want:  `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}]}`,
		},
		{
			name:  "replace emails replaces the list",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}, {"value": "c@x"}]}`,
			ops:   `{"op": "replace", "path": "emails", "value": [{"value": "b@x", "type": "home"}]}`,
			want:  `{"userName": "u", "emails": [{"value": "b@x", "type": "home"}]}`,
		},
		{
			name:  "remove filtered email removes the element and the emptied list",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}]}`,
			ops:   `{"op": "remove", "path": "emails[type eq \"work\"]"}`,
			want:  `{"userName": "u"}`,
		},
		{
			name:  "remove filtered email value removes only that sub-attribute",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "h@x", "type": "home"}]}`,
			ops:   `{"op": "remove", "path": "emails[type eq \"work\"].value"}`,
			want:  `{"userName": "u", "emails": [{"type": "work", "primary": true}, {"value": "h@x", "type": "home"}]}`,
		},
		{
			name:  "filter strings compare case-insensitively",
			start: `{"userName": "u", "emails": [{"value": "A@X.COM", "type": "Work"}]}`,
			ops:   `{"op": "remove", "path": "emails[value eq \"a@x.com\"]"}`,
			want:  `{"userName": "u"}`,
		},
		{
			name:  "remove emails named by value, case-insensitively",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}]}`,
			ops:   `{"op": "remove", "path": "emails", "value": [{"value": "A@X"}]}`,
			want:  `{"userName": "u", "emails": [{"value": "b@x"}]}`,
		},
		{
			name: "filter operators",
			start: `{"userName": "u", "emails": [
				{"value": "a@old.com", "type": "work", "primary": true},
				{"value": "b@old.com", "type": "home"},
				{"value": "c@new.com", "type": "other"},
				{"value": "d@new.com"}]}`,
			ops: `{"op": "remove", "path": "emails[not (value ew \"@NEW.com\" or type eq \"work\")]"},
				{"op": "replace", "path": "emails[value sw \"c\" or type pr].display", "value": "x"},
				{"op": "remove", "path": "emails[type ne \"other\" and value co \"new\"]"}`,
			want: `{"userName": "u", "emails": [
				{"value": "a@old.com", "type": "work", "primary": true, "display": "x"},
				{"value": "c@new.com", "type": "other", "display": "x"}]}`,
		},
		{
			name:  "escaped quote in a filter literal",
			start: `{"userName": "u", "emails": [{"value": "a\"b@x"}, {"value": "c@x"}]}`,
			ops:   `{"op": "remove", "path": "emails[value eq \"a\\\"b@x\"]"}`,
			want:  `{"userName": "u", "emails": [{"value": "c@x"}]}`,
		},
		{
			name:  "boolean filter on primary",
			start: `{"userName": "u", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": false}]}`,
			ops:   `{"op": "replace", "path": "emails[primary eq true].type", "value": "work"}`,
			want:  `{"userName": "u", "emails": [{"value": "a@x", "primary": true, "type": "work"}, {"value": "b@x", "primary": false}]}`,
		},
		{
			name:  "remove of an absent attribute is a no-op",
			start: `{"userName": "u"}`,
			ops: `{"op": "remove", "path": "emails[type eq \"work\"]"},
				{"op": "remove", "path": "nickName"},
				{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`,
			want: `{"userName": "u"}`,
		},
		{
			name:  "replace filtered element without sub-attribute creates it from the filter",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}]}`,
			ops:   `{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@x"}}`,
			want:  `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}, {"value": "h@x", "type": "home"}]}`,
		},
		{
			name:  "filter with two equalities and a string True builds a primary phone",
			start: `{"userName": "u", "phoneNumbers": [{"value": "1", "type": "work", "primary": true}]}`,
			ops:   `{"op": "add", "path": "phoneNumbers[type eq \"mobile\" and primary eq \"True\"].value", "value": "2"}`,
			want: `{"userName": "u", "phoneNumbers": [
				{"value": "1", "type": "work", "primary": false},
				{"value": "2", "type": "mobile", "primary": true}]}`,
		},
		{
			name:  "emails.value without filter sets every element",
			start: `{"userName": "u", "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}]}`,
			ops:   `{"op": "replace", "path": "emails.value", "value": "z@x"}`,
			want:  `{"userName": "u", "emails": [{"value": "z@x", "type": "work"}, {"value": "z@x"}]}`,
		},
		{
			name:  "replace complex name merges sub-attributes",
			start: `{"userName": "u", "name": {"givenName": "g", "familyName": "f"}}`,
			ops:   `{"op": "replace", "path": "name", "value": {"givenName": "G"}}`,
			want:  `{"userName": "u", "name": {"givenName": "G", "familyName": "f"}}`,
		},
		{
			name:  "remove the last name sub-attribute removes name",
			start: `{"userName": "u", "name": {"givenName": "g"}}`,
			ops:   `{"op": "remove", "path": "name.givenName"}`,
			want:  `{"userName": "u"}`,
		},
		{
			name:  "path-less add with the extension object, a plain manager key and odd case",
			start: `{"userName": "u"}`,
			ops: `{"op": "Add", "value": {
				"NickName": "n",
				"manager": "m3",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "costCenter": "C"}}}`,
			want: `{"userName": "u", "nickName": "n", ` + ext + `: {"department": "D", "costCenter": "C", "manager": {"value": "m3"}}}`,
		},
		{
			name:  "path-less replace of emails and a string boolean",
			start: `{"userName": "u", "active": true, "emails": [{"value": "a@x"}]}`,
			ops:   `{"op": "replace", "value": {"active": "False", "emails": [{"value": "b@x", "type": "work"}]}}`,
			want:  `{"userName": "u", "active": false, "emails": [{"value": "b@x", "type": "work"}]}`,
		},
		{
			name:  "manager sub-attribute value replaces the manager",
			start: `{"userName": "u", ` + ext + `: {"manager": {"value": "m1", "$ref": "../Users/m1"}}}`,
			ops:   `{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m2"}`,
			want:  `{"userName": "u", ` + ext + `: {"manager": {"value": "m2"}}}`,
		},
		{
			name:  "remove manager",
			start: `{"userName": "u", ` + ext + `: {"manager": {"value": "m1"}, "department": "D"}}`,
			ops:   `{"op": "remove", "path": "manager"}`,
			want:  `{"userName": "u", ` + ext + `: {"department": "D"}}`,
		},
		{
			name:  "unqualified department path",
			start: `{"userName": "u"}`,
			ops:   `{"op": "add", "path": "department", "value": "D"}`,
			want:  `{"userName": "u", ` + ext + `: {"department": "D"}}`,
		},
		{
			name:  "core URN-qualified path and externalId removal",
			start: `{"userName": "u", "externalId": "e"}`,
			ops: `{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "v"},
				{"op": "remove", "path": "externalId"}`,
			want: `{"userName": "v"}`,
		},
		{
			name:  "password is never stored",
			start: `{"userName": "u"}`,
			ops:   `{"op": "add", "path": "password", "value": "secret"}, {"op": "add", "value": {"password": "secret"}}`,
			want:  `{"userName": "u"}`,
		},
		{
			name:    "groups are read-only",
			start:   `{"userName": "u"}`,
			ops:     `{"op": "add", "path": "groups", "value": [{"value": "g1"}]}`,
			want:    `{"userName": "u"}`,
			wantErr: "mutability",
		},
		{
			name:    "groups in a path-less value are read-only",
			start:   `{"userName": "u"}`,
			ops:     `{"op": "add", "value": {"groups": [{"value": "g1"}]}}`,
			want:    `{"userName": "u"}`,
			wantErr: "mutability",
		},
		{
			name:    "manager displayName is read-only",
			start:   `{"userName": "u"}`,
			ops:     `{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "Boss"}`,
			want:    `{"userName": "u"}`,
			wantErr: "mutability",
		},
		{
			name:    "userName cannot be removed",
			start:   `{"userName": "u"}`,
			ops:     `{"op": "remove", "path": "userName"}`,
			want:    `{"userName": "u"}`,
			wantErr: "invalidValue",
		},
		{
			name:    "userName cannot be emptied",
			start:   `{"userName": "u"}`,
			ops:     `{"op": "replace", "path": "userName", "value": ""}`,
			want:    `{"userName": "u"}`,
			wantErr: "invalidValue",
		},
		{
			name:    "filter that matches nothing and names no element",
			start:   `{"userName": "u"}`,
			ops:     `{"op": "replace", "path": "emails[value co \"@x\"].type", "value": "work"}`,
			want:    `{"userName": "u"}`,
			wantErr: "noTarget",
		},
		{
			name:    "an error leaves the document as it was",
			start:   `{"userName": "u", "nickName": "n"}`,
			ops:     `{"op": "replace", "path": "nickName", "value": "m"}, {"op": "remove", "path": "userName"}`,
			want:    `{"userName": "u", "nickName": "n"}`,
			wantErr: "invalidValue",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops := patchOps(t, "/Users", patchBody(tc.ops))
			doc := jsonDoc(t, tc.start)
			err := ApplyUserPatch(doc, ops)
			if diff := cmp.Diff(tc.wantErr, scimType(t, err)); diff != "" {
				t.Errorf("error scimType (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(jsonDoc(t, tc.want), doc); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
}

// scimType returns the scimType of err, failing unless err is an errors.ScimError value (a
// pointer would become a 500 in elimity) with a detail.
func scimType(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	e, ok := err.(scimerrors.ScimError)
	if !ok {
		t.Fatalf("error %#v is not an errors.ScimError value", err)
	}
	if e.Status != http.StatusBadRequest || e.Detail == "" {
		t.Errorf("error %#v: want status 400 and a detail", e)
	}
	return string(e.ScimType)
}

// TestApplyUserPatchDirect covers operations elimity never hands over, in case a caller builds
// them itself.
func TestApplyUserPatchDirect(t *testing.T) {
	tests := []struct {
		name    string
		op      scim.PatchOperation
		wantErr string
	}{
		{name: "remove without path", op: scim.PatchOperation{Op: "remove"}, wantErr: "noTarget"},
		{name: "path-less add of a string", op: scim.PatchOperation{Op: "add", Value: "x"}, wantErr: "invalidValue"},
		{name: "unknown op", op: scim.PatchOperation{Op: "move", Value: map[string]interface{}{}}, wantErr: "invalidSyntax"},
		{name: "meta key", op: scim.PatchOperation{Op: "add", Value: map[string]interface{}{"meta": map[string]interface{}{}}}, wantErr: "mutability"},
		{name: "unknown key", op: scim.PatchOperation{Op: "add", Value: map[string]interface{}{"bogus": "x"}}, wantErr: "invalidPath"},
		{name: "id key is ignored", op: scim.PatchOperation{Op: "add", Value: map[string]interface{}{"id": "x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := jsonDoc(t, `{"userName": "u"}`)
			err := ApplyUserPatch(doc, []scim.PatchOperation{tc.op})
			if diff := cmp.Diff(tc.wantErr, scimType(t, err)); diff != "" {
				t.Errorf("error scimType (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(jsonDoc(t, `{"userName": "u"}`), doc); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPatchRejectedByElimity pins what never reaches ApplyUserPatch/ApplyGroupPatch, so the
// server can rely on elimity for it.
func TestPatchRejectedByElimity(t *testing.T) {
	tests := []struct {
		name, endpoint, ops string
		want                elimityResult
	}{
		{name: "remove without path", endpoint: "/Users", ops: `{"op": "Remove"}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "noTarget"}},
		{name: "group remove without path", endpoint: "/Groups", ops: `{"op": "remove"}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "noTarget"}},
		{name: "unknown path", endpoint: "/Users", ops: `{"op": "add", "path": "bogus", "value": "x"}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidPath"}},
		{name: "id path", endpoint: "/Users", ops: `{"op": "replace", "path": "id", "value": "x"}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidPath"}},
		{name: "members on a user", endpoint: "/Users", ops: `{"op": "add", "path": "members", "value": [{"value": "x"}]}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidPath"}},
		{name: "boolean that is no boolean", endpoint: "/Users", ops: `{"op": "replace", "path": "active", "value": "maybe"}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidValue"}},
		{name: "number for a boolean", endpoint: "/Users", ops: `{"op": "replace", "path": "active", "value": 3}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidValue"}},
		{name: "object for a string", endpoint: "/Users", ops: `{"op": "replace", "path": "userName", "value": {"a": 1}}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidValue"}},
		{name: "add without value", endpoint: "/Users", ops: `{"op": "add", "path": "nickName"}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidValue"}},
		{name: "meta in a path-less value", endpoint: "/Users", ops: `{"op": "add", "value": {"meta": {"version": "1"}}}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidValue"}},
		{name: "member given as a string", endpoint: "/Groups", ops: `{"op": "add", "path": "members", "value": ["x"]}`,
			want: elimityResult{Status: http.StatusBadRequest, ScimType: "invalidValue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := tryPatchOps(t, tc.endpoint, patchBody(tc.ops))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("elimity answer (-want +got):\n%s", diff)
			}
		})
	}
}
