package storage

import (
	"strconv"
	"time"
)

// scriptArgs holds one script run's keys and arguments in one buffer, for
// evalArgs. go-redis takes keys as []string and arguments as ...any and
// boxes each into an interface, one allocation apiece (about 45 for a user
// create with its formatted values); here each is a pointer into one array
// of spans of one buffer, written by go-redis through MarshalBinary, in a
// handful of allocations whatever their number. On the wire the command is
// the same, so a script need not change to be run this way. Add every key
// before the first argument.
type scriptArgs struct {
	buf   []byte
	ends  []int // ends[i] is where key or argument i ends in buf
	nkeys int
}

// newScriptArgs starts a run whose keys and arguments take about size bytes.
func newScriptArgs(size int) *scriptArgs {
	return &scriptArgs{buf: make([]byte, 0, size), ends: make([]int, 0, 32)}
}

// key adds a key; keys come before arguments.
func (a *scriptArgs) key(k string) {
	if a.nkeys != len(a.ends) {
		panic("storage: script key after an argument")
	}
	a.buf = append(a.buf, k...)
	a.ends = append(a.ends, len(a.buf))
	a.nkeys++
}

// str adds an argument.
func (a *scriptArgs) str(s string) {
	a.buf = append(a.buf, s...)
	a.ends = append(a.ends, len(a.buf))
}

// bytes adds an argument.
func (a *scriptArgs) bytes(b []byte) {
	a.buf = append(a.buf, b...)
	a.ends = append(a.ends, len(a.buf))
}

// appended adds the argument f appends.
func (a *scriptArgs) appended(f func([]byte) []byte) {
	a.buf = f(a.buf)
	a.ends = append(a.ends, len(a.buf))
}

// int adds a decimal argument.
func (a *scriptArgs) int(n int64) {
	a.buf = strconv.AppendInt(a.buf, n, 10)
	a.ends = append(a.ends, len(a.buf))
}

// time adds a time as encodeTime writes it.
func (a *scriptArgs) time(t time.Time) {
	if !t.IsZero() {
		a.buf = strconv.AppendInt(a.buf, t.UnixNano(), 10)
	}
	a.ends = append(a.ends, len(a.buf))
}

// span is one key or argument, written by go-redis as its bytes.
type span struct{ b []byte }

// MarshalBinary is what go-redis writes for a span.
func (s *span) MarshalBinary() ([]byte, error) { return s.b, nil }

// command is the EVALSHA (or EVAL) command of this run: name, then sha (or
// the source), then the number of keys, the keys and the arguments.
func (a *scriptArgs) command(name, script string) []any {
	spans := make([]span, len(a.ends))
	cmd := make([]any, 3+len(a.ends))
	cmd[0], cmd[1], cmd[2] = name, script, a.nkeys
	start := 0
	for i, end := range a.ends {
		spans[i].b = a.buf[start:end:end]
		cmd[3+i] = &spans[i]
		start = end
	}
	return cmd
}

// split is the keys and arguments as go-redis's Script methods take them,
// for the paths that are not worth packing (EVAL after NOSCRIPT, WAIT).
func (a *scriptArgs) split() (keys []string, args []any) {
	keys = make([]string, a.nkeys)
	args = make([]any, len(a.ends)-a.nkeys)
	start := 0
	for i, end := range a.ends {
		if i < a.nkeys {
			keys[i] = string(a.buf[start:end])
		} else {
			args[i-a.nkeys] = a.buf[start:end:end]
		}
		start = end
	}
	return keys, args
}

// firstKey is the first key, which names the slot on a cluster ("" when there is none).
func (a *scriptArgs) firstKey() string {
	if a.nkeys == 0 {
		return ""
	}
	return string(a.buf[:a.ends[0]])
}
