package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// TestScriptArgs: a script run with packed keys and arguments gets what
// go-redis's keys and ...any would have sent, byte for byte, by EVAL when
// the server lacks the script and by EVALSHA once it has it.
func TestScriptArgs(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := New(b.rdb, Options{})
			// A script no server has seen: its first run answers NOSCRIPT.
			script := redis.NewScript(fmt.Sprintf("-- %d\nreturn {KEYS, ARGV}", time.Now().UnixNano()))
			a := newScriptArgs(0)
			a.key("t:{x}:a")
			a.key("t:{x}:b")
			a.str("v")
			a.bytes([]byte("bin\x00ary"))
			a.int(-42)
			a.str("")
			a.time(time.Unix(0, 5))
			a.time(time.Time{})
			want := []any{[]any{"t:{x}:a", "t:{x}:b"}, []any{"v", "bin\x00ary", "-42", "", "5", ""}}
			for _, run := range []string{"EVAL after NOSCRIPT", "EVALSHA"} {
				got, err := s.evalArgs(t.Context(), "test", script, a)
				if err != nil {
					t.Fatalf("%s: %v", run, err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("%s (-want +got):\n%s", run, d)
				}
			}
			plain, err := s.eval(t.Context(), "test", script, []string{"t:{x}:a", "t:{x}:b"}, []any{"v", "bin\x00ary", int64(-42), "", encodeTime(time.Unix(0, 5)), encodeTime(time.Time{})})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, plain); d != "" {
				t.Errorf("go-redis's own arguments differ (-want +got):\n%s", d)
			}
		})
	}
}
