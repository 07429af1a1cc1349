package scimdoc

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// ParseMemberPatch reads a group PATCH body of the shape Entra sends to add
// and remove members, without decoding it into maps and without elimity:
//
//	{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//	 "Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"<id>"}]}]}
//
// with op add or remove in any case, path members, each member an object
// of value and optionally "$ref": null, or a remove with the path
// members[value eq "<id>"]. The change is the one MemberOps returns for
// what elimity makes of the same body. ok is false for anything else
// (other keys, escapes, a change that ends empty, ...): the caller takes
// the general path, which answers it as always.
func ParseMemberPatch(body []byte) (change MemberChange, ok bool) {
	s := jsonScan{b: body}
	var acc memberAcc
	var schemas, ops bool
	ok = s.object(func(key []byte) bool {
		switch {
		case string(key) == "schemas" && !schemas:
			schemas = true
			n := 0
			return s.array(func() bool {
				urn, ok := s.str()
				n++
				return ok && n == 1 && string(urn) == PatchOpURN
			}) && n == 1
		case string(key) == "Operations" && !ops:
			ops = true
			return s.array(func() bool { return s.memberOp(&acc) })
		}
		return false
	})
	if !ok || !schemas || !ops || !s.end() || acc.c.Empty() {
		return MemberChange{}, false
	}
	return acc.c, true
}

// The member filter of a remove as it stands in the JSON string:
// members[value eq \"<id>\"].
const (
	memberFilterStart = `members[value eq \"`
	memberFilterEnd   = `\"]`
)

// memberOp reads one operation into acc.
func (s *jsonScan) memberOp(acc *memberAcc) bool {
	var op, path []byte
	var buf [4]string // Entra sends one member per operation
	ids := buf[:0]
	var hasOp, hasPath, hasValue bool
	if !s.object(func(key []byte) bool {
		var ok bool
		switch {
		case string(key) == "op" && !hasOp:
			hasOp = true
			op, ok = s.str()
			return ok
		case string(key) == "path" && !hasPath:
			hasPath = true
			path, ok = s.raw()
			return ok
		case string(key) == "value" && !hasValue:
			hasValue = true
			return s.array(func() bool {
				id, ok := s.member()
				ids = append(ids, id)
				return ok
			}) && len(ids) > 0
		}
		return false
	}) {
		return false
	}
	add := strings.EqualFold(string(op), "add")
	if !add && !strings.EqualFold(string(op), "remove") {
		return false
	}
	switch {
	case string(path) == "members" && hasValue:
	case !add && !hasValue && len(path) > len(memberFilterStart)+len(memberFilterEnd) &&
		bytes.HasPrefix(path, []byte(memberFilterStart)) && bytes.HasSuffix(path, []byte(memberFilterEnd)):
		id := path[len(memberFilterStart) : len(path)-len(memberFilterEnd)]
		if !plainFilterID(id) {
			return false
		}
		ids = append(ids, string(id))
	default:
		return false
	}
	for _, id := range ids {
		if add {
			acc.add(id)
		} else {
			acc.remove(id)
		}
	}
	return true
}

// member reads {"value":"<id>"} with an optional "$ref": null.
func (s *jsonScan) member() (string, bool) {
	var id []byte
	var hasValue, hasRef bool
	if !s.object(func(key []byte) bool {
		var ok bool
		switch {
		case string(key) == "value" && !hasValue:
			hasValue = true
			id, ok = s.str()
			return ok
		case string(key) == "$ref" && !hasRef:
			hasRef = true
			return s.null()
		}
		return false
	}) {
		return "", false
	}
	if !hasValue || len(bytes.TrimSpace(id)) == 0 || !utf8.Valid(id) {
		return "", false
	}
	return string(id), true
}

// plainFilterID tells whether a member id in a filter is one the filter
// parser reads as it stands: letters, digits and - . _ @.
func plainFilterID(id []byte) bool {
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '@':
		default:
			return false
		}
	}
	return true
}

// jsonScan reads the few JSON tokens ParseMemberPatch accepts.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) skip() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes c after white space, if it is next.
func (s *jsonScan) next(c byte) bool {
	s.skip()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end tells whether only white space is left.
func (s *jsonScan) end() bool {
	s.skip()
	return s.i == len(s.b)
}

// null consumes a null.
func (s *jsonScan) null() bool {
	s.skip()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// str reads a string without escapes or control characters, and returns
// its bytes (in the body: copy what is kept).
func (s *jsonScan) str() ([]byte, bool) {
	raw, ok := s.raw()
	if !ok || bytes.IndexByte(raw, '\\') >= 0 {
		return nil, false
	}
	return raw, true
}

// raw reads a string without control characters and returns it as it
// stands between its quotes, escapes and all.
func (s *jsonScan) raw() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\':
			s.i += 2
			continue
		case c < 0x20:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// object reads an object, field reading each member's value after its key.
func (s *jsonScan) object(field func(key []byte) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.next(':') || !field(key) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// array reads an array, elem reading each element.
func (s *jsonScan) array(elem func() bool) bool {
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}
