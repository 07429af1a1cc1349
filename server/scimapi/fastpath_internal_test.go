package scimapi

import (
	"encoding/json"
	"regexp"
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

// simpleEqRE is the regular expression simpleEq stands for.
var simpleEqRE = regexp.MustCompile(`^\s*([A-Za-z]+)\s+(?i:eq)\s+("(?:[^"\\]|\\.)*")\s*$`)

// TestSimpleEq: simpleEq accepts what its regular expression matches,
// with the same groups, and nothing else.
func TestSimpleEq(t *testing.T) {
	for _, f := range simpleEqCases {
		checkSimpleEq(t, f)
	}
}

var simpleEqCases = []string{
	`userName eq "a@b.c"`, ` userName   EQ   "x" `, "\t\nuserName\feQ\r\"x\"\n", `userName Eq ""`,
	`userName eq "a\"b"`, `userName eq "a\\"`, `userName eq "a\\" "`, `userName eq "a" "b"`, `userName eq "a"b`,
	`userName eq "a`, `userName eq "`, `userName eq`, `userName eq `, `userName  "x"`, `userNameeq "x"`,
	`userName eq"x"`, `eq "x"`, ` eq eq "x"`, `user_name eq "x"`, `userName ne "x"`, `userName eqq "x"`,
	`userName eq x`, "userName eq \"a\\\nb\"", "userName eq \"a\nb\"", "userName eq \"a\\\xffb\"", "userName eq \"\xff\"",
	`userName eq "é"`, "userName eq \"a\\é\"", `displayName eq "x" and id eq "y"`, "userName eq \"x\"\v", "\vuserName eq \"x\"",
	`userName eq "a" `, `userName eq "\u00e9"`, `userName eq "\\\\"`, `userName eq "\\\\\"`, "userName \u00a0eq \"x\"", "",
}

func checkSimpleEq(t *testing.T, f string) {
	t.Helper()
	m := simpleEqRE.FindStringSubmatch(f)
	attr, quoted, ok := simpleEq(f)
	if ok != (m != nil) || ok && (attr != m[1] || quoted != m[2]) {
		t.Errorf("simpleEq(%q) = %q, %q, %v; the regular expression: %q", f, attr, quoted, ok, m)
	}
}

func FuzzSimpleEq(f *testing.F) {
	for _, c := range simpleEqCases {
		f.Add(c)
	}
	f.Fuzz(checkSimpleEq)
}
