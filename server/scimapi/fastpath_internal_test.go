package scimapi

import (
	"encoding/json"
	"testing"
)

// TestJSONString: a filter's quoted value reads as encoding/json reads it,
// with or without escapes, and what it refuses is refused.
func TestJSONString(t *testing.T) {
	for _, q := range []string{`"a@b.c"`, `""`, `"\"x\""`, `"\u00e9\/"`, `"tab` + "\t" + `"`, "\"\xff\"", `"a"b"`, `"a`, `x`, `"\ud83d\ude00"`, `"é"`} {
		var want string
		werr := json.Unmarshal([]byte(q), &want)
		got, ok := jsonString(q)
		if ok != (werr == nil) || got != want {
			t.Errorf("jsonString(%q) = %q, %v; encoding/json: %q, %v", q, got, ok, want, werr)
		}
	}
}
