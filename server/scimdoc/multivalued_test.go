package scimdoc

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeMultiValued(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"two primaries: the last wins",
			`{"emails":[{"type":"work","value":"a@x","primary":true},{"type":"home","value":"b@x","primary":true}]}`,
			`{"emails":[{"type":"work","value":"a@x","primary":false},{"type":"home","value":"b@x","primary":true}]}`},
		{"same type and value once",
			`{"emails":[{"type":"work","value":"a@x"},{"type":"Work","value":"a@x","display":"A"},{"type":"home","value":"a@x"}]}`,
			`{"emails":[{"type":"work","value":"a@x"},{"type":"home","value":"a@x"}]}`},
		{"a repeat that was the last primary makes the kept one primary",
			`{"phoneNumbers":[{"type":"work","value":"1"},{"type":"mobile","value":"2","primary":true},{"type":"work","value":"1","primary":true}]}`,
			`{"phoneNumbers":[{"type":"work","value":"1","primary":true},{"type":"mobile","value":"2","primary":false}]}`},
		{"one primary, no repeats: unchanged",
			`{"emails":[{"type":"work","value":"a@x","primary":true},{"type":"home","value":"b@x"}],"userName":"u"}`,
			`{"emails":[{"type":"work","value":"a@x","primary":true},{"type":"home","value":"b@x"}],"userName":"u"}`},
		{"one element, empty lists: unchanged",
			`{"emails":[{"type":"work","value":"a@x","primary":true}],"roles":[],"x":["a"],"phoneNumbers":[{"value":"1","primary":false}]}`,
			`{"emails":[{"type":"work","value":"a@x","primary":true}],"roles":[],"x":["a"],"phoneNumbers":[{"value":"1","primary":false}]}`},
		{"no value, simple values: kept",
			`{"emails":[{"type":"work"},{"type":"work"}],"schemas":["a","a"]}`,
			`{"emails":[{"type":"work"},{"type":"work"}],"schemas":["a","a"]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var in, want map[string]any
			if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			NormalizeMultiValued(in)
			if d := cmp.Diff(want, in); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
