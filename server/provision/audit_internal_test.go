package provision

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAddedIsFlatDiff: a create's changes, listed without flattening into a
// map, are what diff through the flattened documents lists.
func TestAddedIsFlatDiff(t *testing.T) {
	for _, doc := range []map[string]any{
		{},
		{"userName": "a", "active": true},
		{"userName": "a", "name": map[string]any{"givenName": "A", "familyName": "B", "x": map[string]any{"y": "z"}},
			"emails":       []any{map[string]any{"value": "a@x", "primary": true}},
			EnterpriseUser: map[string]any{"employeeNumber": "1", "manager": map[string]any{"value": "m"}},
			"urn:other":    "leaf", "": map[string]any{"empty": "name"}},
	} {
		got, ok := added(doc)
		if !ok {
			t.Fatalf("added(%v) refused", doc)
		}
		if d := cmp.Diff(flatDiff(nil, doc), got); d != "" {
			t.Errorf("added(%v) (-flatDiff +added):\n%s", doc, d)
		}
	}
	// Two leaves at one path: flatten keeps one, so added leaves it to it.
	if _, ok := added(map[string]any{"a.b": "1", "a": map[string]any{"b": "2"}}); ok {
		t.Error("added took two leaves at one path")
	}
}
