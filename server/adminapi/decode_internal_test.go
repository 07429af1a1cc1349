package adminapi

import "testing"

// TestDecodeStrictTrailing: one JSON object and white space; anything after
// it, a stray closing bracket too, is refused.
func TestDecodeStrictTrailing(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"a":1}`, true}, {"{\"a\":1} \n", true},
		{`{"a":1}}`, false}, {`{"a":1}]`, false}, {`{"a":1}{}`, false}, {`{"a":1}x`, false}, {`{"b":1}`, false},
	} {
		var v struct{ A int }
		if err := decodeStrict([]byte(tc.body), &v); (err == nil) != tc.ok {
			t.Errorf("decodeStrict(%s): err %v, want ok %v", tc.body, err, tc.ok)
		}
	}
}
