package accessapi

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/scimd/scimd/server/provision"
)

// The decision API writes its JSON by hand: encoding/json would compact
// (validate and copy) the enterprise and accounts documents, which are
// already the resolver's compact JSON, and that was a third of a read's
// CPU. The shape is decisionJSON's (the OpenAPI document's Decision).

// appendDecision appends d as the platform reads it: the stored record
// without its internals (the policy input's hash).
func appendDecision(b []byte, d provision.Decision) []byte {
	b = append(b, `{"user":`...)
	b = appendString(b, d.User)
	if d.Pending {
		return append(b, `,"pending":true}`...)
	}
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, d.Active)
	b = append(b, `,"enterprise":`...)
	b = appendRaw(b, d.Enterprise, "null")
	b = append(b, `,"accounts":`...)
	b = appendRaw(b, d.Accounts, "{}")
	b = append(b, `,"revision":`...)
	b = appendString(b, d.Revision)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, d.Generation, 10)
	b = append(b, `,"decidedAt":`...)
	b = appendString(b, d.DecidedAt)
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, d.Stale)
	b = append(b, `,"etag":`...)
	b = appendString(b, d.ETag)
	return append(b, '}')
}

// decisionLen is about the length of d's JSON (more when strings need
// escapes), so that a buffer of it is rarely grown.
func decisionLen(d provision.Decision) int {
	return 192 + len(d.User) + len(d.Enterprise) + len(d.Accounts) + len(d.Revision) + len(d.DecidedAt) + len(d.ETag)
}

func appendRaw(b []byte, raw json.RawMessage, empty string) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return append(b, empty...)
	}
	return append(b, raw...)
}

// appendDecisions appends ds as a JSON array.
func appendDecisions(b []byte, ds []provision.Decision) []byte {
	b = append(b, '[')
	for i, d := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDecision(b, d)
	}
	return append(b, ']')
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string; the rare string that needs more
// than quotes goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
