package jsonval

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrDecode is every error of Decode: the input is not JSON, or not JSON
// Decode takes (see Decode). A caller that must word the error as
// encoding/json does decodes again with it.
var ErrDecode = errors.New("jsonval: cannot decode")

// maxDepth bounds nesting; deeper documents are left to encoding/json.
const maxDepth = 64

// Decode is a json.Decoder with UseNumber decoding one value from b into an
// any (maps, slices, strings, json.Number, bool, nil), with at most
// whitespace after it, without reflection: strings without escapes share
// one copy of b, and each object and array is allocated at its size. It
// refuses (ErrDecode) what encoding/json refuses, and also input it would
// accept that Decode does not take: invalid UTF-8 (replaced by encoding/
// json), \u escapes of surrogates, nesting deeper than 64, anything but
// whitespace after the value. Whatever it decodes equals what encoding/json
// decodes.
func Decode(b []byte) (any, error) {
	d := decoder{s: string(b)}
	v, ok := d.value(0)
	if !ok {
		return nil, ErrDecode
	}
	d.space()
	if d.i != len(d.s) {
		return nil, ErrDecode
	}
	return v, nil
}

type decoder struct {
	s string
	i int
}

func (d *decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) literal(word string) bool {
	if len(d.s)-d.i >= len(word) && d.s[d.i:d.i+len(word)] == word {
		d.i += len(word)
		return true
	}
	return false
}

// kv is an object member, gathered before the object is made at its size.
type kv struct {
	k string
	v any
}

func (d *decoder) value(depth int) (any, bool) {
	d.space()
	if d.i >= len(d.s) || depth > maxDepth {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, false
}

func (d *decoder) object(depth int) (any, bool) {
	d.i++ // {
	var buf [16]kv
	members := buf[:0]
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return map[string]any{}, true
	}
	for {
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, false
		}
		d.i++
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		members = append(members, kv{k, v})
		if more, ok := d.after('}'); !ok {
			return nil, false
		} else if more {
			continue
		}
		m := make(map[string]any, len(members))
		for _, e := range members {
			m[e.k] = e.v // a repeated name: the last wins, as in encoding/json
		}
		return m, true
	}
}

func (d *decoder) array(depth int) (any, bool) {
	d.i++ // [
	var buf [16]any
	elems := buf[:0]
	d.space()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return []any{}, true
	}
	for {
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		elems = append(elems, v)
		if more, ok := d.after(']'); !ok {
			return nil, false
		} else if more {
			continue
		}
		return append(make([]any, 0, len(elems)), elems...), true
	}
}

// after reads what follows a member or an element: a comma (more is
// true) or the closing bracket; ok is false for anything else.
func (d *decoder) after(closing byte) (more, ok bool) {
	d.space()
	if d.i < len(d.s) {
		switch d.s[d.i] {
		case ',':
			d.i++
			return true, true
		case closing:
			d.i++
			return false, true
		}
	}
	return false, false
}

// str reads a string at d.i (its opening quote).
func (d *decoder) str() (string, bool) {
	start := d.i + 1
	for i := start; i < len(d.s); i++ {
		switch c := d.s[i]; {
		case c == '"':
			d.i = i + 1
			return d.s[start:i], true
		case c == '\\':
			return d.escaped(start, i)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(d.s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false // encoding/json would write U+FFFD
			}
			i += n - 1
		}
	}
	return "", false
}

// escaped reads the rest of a string holding an escape at i.
func (d *decoder) escaped(start, i int) (string, bool) {
	out := make([]byte, 0, i-start+16)
	out = append(out, d.s[start:i]...)
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(out), true
		case c == '\\':
			if i+1 >= len(d.s) {
				return "", false
			}
			i++
			switch e := d.s[i]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if i+4 >= len(d.s) {
					return "", false
				}
				n, err := strconv.ParseUint(d.s[i+1:i+5], 16, 32)
				if err != nil || n >= 0xD800 && n < 0xE000 {
					return "", false // surrogates: left to encoding/json
				}
				out = utf8.AppendRune(out, rune(n))
				i += 4
			default:
				return "", false
			}
			i++
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(d.s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			out = append(out, d.s[i:i+n]...)
			i += n
		default:
			out = append(out, c)
			i++
		}
	}
	return "", false
}

// number reads a number as JSON spells it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (any, bool) {
	start := d.i
	i := d.i
	if i < len(d.s) && d.s[i] == '-' {
		i++
	}
	switch {
	case i < len(d.s) && d.s[i] == '0':
		i++
	case i < len(d.s) && d.s[i] >= '1' && d.s[i] <= '9':
		i = digits(d.s, i)
	default:
		return nil, false
	}
	if i < len(d.s) && d.s[i] == '.' {
		j := digits(d.s, i+1)
		if j == i+1 {
			return nil, false
		}
		i = j
	}
	if i < len(d.s) && (d.s[i] == 'e' || d.s[i] == 'E') {
		i++
		if i < len(d.s) && (d.s[i] == '+' || d.s[i] == '-') {
			i++
		}
		j := digits(d.s, i)
		if j == i {
			return nil, false
		}
		i = j
	}
	d.i = i
	return json.Number(d.s[start:i]), true
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
