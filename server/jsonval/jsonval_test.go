package jsonval

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// same fails unless Marshal(v) is json.Marshal(v), byte for byte.
func same(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := Marshal(v)
	if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
		t.Errorf("Marshal(%#v) = %s, %v; encoding/json: %s, %v", v, got, gerr, want, werr)
	}
}

func TestMarshalIsEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "plain", `quote " and \ backslash`, "<a href='x'>&amp;</a>",
		"tab\tnl\ncr\rbs\bff\f nul\x00 unit\x1f del\x7f", "bad utf-8 \xff\xfe end", "cut \xe2\x82",
		"line\u2028para\u2029", "ünïcödé 日本 🙂",
		0.0, math.Copysign(0, -1), 1.0, -1.5, 1e20, 1e21, 123456789012345678901234.0, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 0.1, 100,
		int64(-42), 7,
		map[string]any{}, map[string]any(nil), []any{}, []any(nil), []string{"a", "<b>"}, []string(nil),
		map[string]any{"b": 1.0, "a": []any{"x", nil, true, map[string]any{"z": "1", "Z": "2", "é": "3"}}, "": "empty key", "<k>": 2.5},
		map[string]string{"other": "types go through encoding/json"},
		struct {
			A int `json:"a"`
		}{1},
		math.Inf(1), math.NaN(),
	} {
		same(t, v)
	}
}

func FuzzMarshalIsEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-9,"x\u2028<>&"],"b":{"c":null,"d":true}}`, `"\ud800"`, `[1e300, -0, 0.000001]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var v any
		if json.Unmarshal(doc, &v) == nil {
			same(t, v)
		}
		same(t, string(doc)) // any bytes as a string, valid UTF-8 or not
	})
}
