package scimdoc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// renderedUser is a User as the SCIM edge renders it, before projection.
const renderedUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id": "2441309d85324e7793ae",
	"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
	"meta": {"resourceType": "User", "created": "2018-03-27T19:59:26Z", "lastModified": "2018-03-27T19:59:26Z", "version": "W/\"1\""},
	"userName": "Test_User",
	"name": {"familyName": "familyName", "givenName": "givenName"},
	"active": true,
	"emails": [{"value": "a@x", "type": "work", "primary": true}, {"type": "home"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "department": "D", "manager": {"value": "m"}}
}`

const renderedGroup = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	"id": "927fa2c08dcb4a7fae9e",
	"externalId": "8aa1a0c0",
	"meta": {"resourceType": "Group"},
	"displayName": "displayName",
	"members": [{"value": "u1"}, {"value": "u2"}]
}`

const schemas = `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`

func TestProject(t *testing.T) {
	tests := []struct {
		name                 string
		res                  string
		attributes, excluded []string
		want                 string
	}{
		{
			name: "nothing asked returns everything",
			res:  renderedGroup,
			want: renderedGroup,
		},
		{
			name:     "Entra group read without members",
			res:      renderedGroup,
			excluded: []string{"members"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "927fa2c08dcb4a7fae9e",
				"externalId": "8aa1a0c0", "meta": {"resourceType": "Group"}, "displayName": "displayName"}`,
		},
		{
			name:       "attributes keep id and schemas, not meta",
			res:        renderedUser,
			attributes: []string{"USERNAME", "active"},
			want:       `{` + schemas + `, "id": "2441309d85324e7793ae", "userName": "Test_User", "active": true}`,
		},
		{
			name:       "meta and externalId when asked",
			res:        renderedGroup,
			attributes: []string{"meta", "externalId"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "927fa2c08dcb4a7fae9e",
				"externalId": "8aa1a0c0", "meta": {"resourceType": "Group"}}`,
		},
		{
			name:       "sub-attributes of a complex and a multi-valued attribute",
			res:        renderedUser,
			attributes: []string{"name.givenName", "emails.value", "emails.type"},
			want: `{` + schemas + `, "id": "2441309d85324e7793ae",
				"name": {"givenName": "givenName"},
				"emails": [{"value": "a@x", "type": "work"}, {"type": "home"}]}`,
		},
		{
			name:       "whole attribute wins over its sub-attribute",
			res:        renderedUser,
			attributes: []string{"name.givenName", "name"},
			want:       `{` + schemas + `, "id": "2441309d85324e7793ae", "name": {"familyName": "familyName", "givenName": "givenName"}}`,
		},
		{
			name:       "URN-qualified attributes",
			res:        renderedUser,
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value", "urn:ietf:params:scim:schemas:core:2.0:User:userName"},
			want: `{` + schemas + `, "id": "2441309d85324e7793ae", "userName": "Test_User",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "manager": {"value": "m"}}}`,
		},
		{
			name:       "whole extension",
			res:        renderedUser,
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
			want: `{` + schemas + `, "id": "2441309d85324e7793ae",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "department": "D", "manager": {"value": "m"}}}`,
		},
		{
			name:       "unknown and absent names are ignored",
			res:        renderedUser,
			attributes: []string{"nickName", "bogus.x", "urn:x:y", "name.middleName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"},
			want:       `{` + schemas + `, "id": "2441309d85324e7793ae"}`,
		},
		{
			name:     "excluded never drops id and schemas",
			res:      renderedGroup,
			excluded: []string{"id", "schemas", "meta", "externalId", "displayName", "members"},
			want:     `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "927fa2c08dcb4a7fae9e"}`,
		},
		{
			name:     "excluded sub-attributes and extension attributes",
			res:      renderedUser,
			excluded: []string{"name.familyName", "emails.type", "meta", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
			want: `{` + schemas + `, "id": "2441309d85324e7793ae", "externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
				"userName": "Test_User", "name": {"givenName": "givenName"}, "active": true,
				"emails": [{"value": "a@x", "primary": true}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}}`,
		},
		{
			name:     "excluding every extension attribute drops the extension",
			res:      renderedUser,
			excluded: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "name", "emails", "meta", "externalId", "userName", "active"},
			want:     `{` + schemas + `, "id": "2441309d85324e7793ae"}`,
		},
		{
			name:       "attributes then excludedAttributes",
			res:        renderedUser,
			attributes: []string{"userName", "name"},
			excluded:   []string{"name.familyName"},
			want:       `{` + schemas + `, "id": "2441309d85324e7793ae", "userName": "Test_User", "name": {"givenName": "givenName"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := jsonDoc(t, tc.res)
			got := Project(res, tc.attributes, tc.excluded)
			if diff := cmp.Diff(jsonDoc(t, tc.want), got); diff != "" {
				t.Errorf("Project (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(jsonDoc(t, tc.res), res); diff != "" {
				t.Errorf("Project modified its input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAttrList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{name: "empty", in: "", want: nil},
		{name: "one", in: "members", want: []string{"members"}},
		{name: "spaces and empty names", in: " userName, name.givenName ,,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager ", want: []string{"userName", "name.givenName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}},
		{name: "only commas", in: " , ,", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseAttrList(tc.in)); diff != "" {
				t.Errorf("ParseAttrList(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
