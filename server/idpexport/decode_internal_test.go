package idpexport

import "testing"

// TestDecodeOneJSONTrailing: one JSON value and white space; anything after
// it, a stray closing bracket too, is refused.
func TestDecodeOneJSONTrailing(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`[{"a":1}]`, true}, {"[] \n", true},
		{`[{"a":1}]]`, false}, {`[]}`, false}, {`[][]`, false}, {`[]x`, false},
	} {
		var v any
		if err := decodeOneJSON([]byte(tc.body), &v); (err == nil) != tc.ok {
			t.Errorf("decodeOneJSON(%s): err %v, want ok %v", tc.body, err, tc.ok)
		}
	}
}
