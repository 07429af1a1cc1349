package provision

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// parseDecision reads a stored decision record. The read path's cost is
// mostly JSON, so a record as the resolver writes it (compact, keys and
// strings without escapes) is read in one pass that keeps enterprise and
// accounts as the stored bytes; anything else goes through encoding/json.
func parseDecision(raw []byte) (Decision, error) {
	if d, ok := scanDecision(raw); ok {
		return d, nil
	}
	var r decisionRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return Decision{}, &Error{Kind: KindInternal, Detail: "internal error", cause: err}
	}
	return Decision{User: r.User, Active: r.Active, Enterprise: r.Enterprise, Accounts: r.Accounts, Revision: r.Revision,
		Generation: r.Generation, ETag: r.ETag, DecidedAt: r.DecidedAt, Stale: r.Stale}, nil
}

// scanDecision is parseDecision's one pass; false when the record is not
// of the plain form it reads (the caller then decodes it in full).
func scanDecision(raw []byte) (Decision, bool) {
	var d Decision
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return d, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return d, skipSpace(raw, i+1) == len(raw)
	}
	for {
		end := skipValue(raw, i)
		if end < 0 || raw[i] != '"' {
			return d, false
		}
		key, ok := plainString(raw[i:end])
		if !ok {
			return d, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return d, false
		}
		i = skipSpace(raw, i+1)
		end = skipValue(raw, i)
		if end < 0 {
			return d, false
		}
		v := raw[i:end]
		switch key {
		case "user":
			d.User, ok = plainString(v)
		case "revision":
			d.Revision, ok = plainString(v)
		case "etag":
			d.ETag, ok = plainString(v)
		case "decided_at":
			d.DecidedAt, ok = plainString(v)
		case "active":
			d.Active, ok = boolean(v)
		case "stale":
			d.Stale, ok = boolean(v)
		case "generation":
			var err error
			d.Generation, err = strconv.ParseInt(string(v), 10, 64)
			ok = err == nil
		case "enterprise":
			d.Enterprise, ok = json.RawMessage(v), v[0] == '{' || bytes.Equal(v, []byte("null"))
		case "accounts":
			d.Accounts, ok = json.RawMessage(v), v[0] == '{' || bytes.Equal(v, []byte("null"))
		}
		if !ok {
			return d, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return d, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return d, skipSpace(raw, i+1) == len(raw)
		default:
			return d, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns where the JSON value starting at i ends, or -1 when it
// is not one (strings and brackets are followed; scalars run to the next
// delimiter and are checked by whoever reads them).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			j++
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return -1
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				if j == i {
					return -1
				}
				return j // a scalar ended by its container
			}
			if depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				if j == i {
					return -1
				}
				return j
			}
		}
	}
	if depth != 0 {
		return -1
	}
	return len(b)
}

// plainString is a JSON string token without escapes or control
// characters, unquoted.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c < 0x20 {
			return "", false
		}
	}
	return string(v[1 : len(v)-1]), true
}

func boolean(v []byte) (bool, bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
