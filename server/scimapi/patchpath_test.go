package scimapi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scim2/filter-parser/v2"
)

// TestParsePathLikeTheParser: the hand split gives what the parser gives.
func TestParsePathLikeTheParser(t *testing.T) {
	for _, p := range []string{
		"active", "userName", "name.familyName", "$ref", "x509Certificates",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
		"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
		`emails[type eq "work"].value`, `members[value eq "a b"]`, "members",
	} {
		t.Run(p, func(t *testing.T) {
			want, err := filter.ParsePath([]byte(p))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parsePath(p)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want.String(), got.String()); d != "" {
				t.Errorf("(-parser +ours):\n%s", d)
			}
			if d := cmp.Diff(want.AttributePath.URI(), got.AttributePath.URI()); d != "" {
				t.Errorf("uri (-parser +ours):\n%s", d)
			}
		})
	}
	for _, bad := range []string{"", "1abc", "a..b", "a.b.c", "name.", "urn:", "a b", `emails[type eq "work"`} {
		if _, ok := simpleAttrPath(bad); ok {
			t.Errorf("%q taken as simple", bad)
		}
	}
}
