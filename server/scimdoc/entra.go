package scimdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// compareOps are the SCIM filter comparison operators (RFC 7644 §3.4.2.2), lower-case.
var compareOps = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true,
	"gt": true, "lt": true, "ge": true, "le": true, "pr": true,
}

// NormalizeFilter rewrites the form attr[valFilter].sub op value, which Entra sends
// (emails[type eq "work"].value eq "x@y") and filter-parser rejects (elimity-com/scim issue
// #150), into the equivalent attr[valFilter and sub op value], wherever it appears in the filter.
// A value filter holding "or" or "not" is left alone, since appending "and" would change its
// meaning. Anything else is returned unchanged.
func NormalizeFilter(f string) string {
	if !strings.Contains(f, "].") {
		return f
	}
	var (
		b       strings.Builder
		last    int // f[:last] is already written to b
		inQuote bool
		depth   int
		open    = -1
	)
	for i := 0; i < len(f); i++ {
		c := f[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '[':
			if depth == 0 {
				open = i
			}
			depth++
		case ']':
			if depth == 0 {
				continue
			}
			depth--
			if depth > 0 || open < 0 {
				continue
			}
			inner := f[open+1 : i]
			sub, op, value, end, ok := trailingComparison(f, i+1)
			if !ok || !plainValueFilter(inner) {
				continue
			}
			b.WriteString(f[last : open+1])
			b.WriteString(strings.TrimSpace(inner))
			b.WriteString(" and ")
			b.WriteString(sub)
			b.WriteByte(' ')
			b.WriteString(op)
			if value != "" {
				b.WriteByte(' ')
				b.WriteString(value)
			}
			b.WriteByte(']')
			last = end
			i = end - 1
		}
	}
	if last == 0 {
		return f
	}
	b.WriteString(f[last:])
	return b.String()
}

// trailingComparison reads ".sub op value" (or ".sub pr") starting at f[i]. end is the index
// just past it.
func trailingComparison(f string, i int) (sub, op, value string, end int, ok bool) {
	if i >= len(f) || f[i] != '.' {
		return "", "", "", 0, false
	}
	i++
	start := i
	for i < len(f) && isNameChar(f[i], i == start) {
		i++
	}
	if i == start {
		return "", "", "", 0, false
	}
	sub = f[start:i]
	if i = skipSpaces(f, i); i == -1 {
		return "", "", "", 0, false
	}
	start = i
	for i < len(f) && isLetter(f[i]) {
		i++
	}
	op = strings.ToLower(f[start:i])
	if !compareOps[op] {
		return "", "", "", 0, false
	}
	if op == "pr" {
		if i < len(f) && f[i] != ' ' && f[i] != ')' {
			return "", "", "", 0, false
		}
		return sub, op, "", i, true
	}
	if i = skipSpaces(f, i); i == -1 {
		return "", "", "", 0, false
	}
	start = i
	if f[i] == '"' {
		for i++; i < len(f) && f[i] != '"'; i++ {
			if f[i] == '\\' {
				i++
			}
		}
		if i >= len(f) {
			return "", "", "", 0, false
		}
		i++
	} else {
		for i < len(f) && f[i] != ' ' && f[i] != ')' && f[i] != ']' {
			i++
		}
	}
	if i == start {
		return "", "", "", 0, false
	}
	return sub, op, f[start:i], i, true
}

// skipSpaces skips one or more spaces at f[i]; it returns -1 when there is none or nothing
// follows them.
func skipSpaces(f string, i int) int {
	start := i
	for i < len(f) && f[i] == ' ' {
		i++
	}
	if i == start || i >= len(f) {
		return -1
	}
	return i
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isNameChar(c byte, first bool) bool {
	if first {
		return isLetter(c) || c == '$'
	}
	return isLetter(c) || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// plainValueFilter reports whether a value filter is made of comparisons joined by "and" only,
// so that one more "and" term keeps its meaning.
func plainValueFilter(inner string) bool {
	inQuote := false
	word := strings.Builder{}
	check := func() bool {
		w := strings.ToLower(word.String())
		word.Reset()
		return w != "or" && w != "not"
	}
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		switch {
		case c == '"':
			inQuote = true
		case c == '(' || c == '[':
			return false
		case c == ' ':
			if !check() {
				return false
			}
		default:
			word.WriteByte(c)
		}
	}
	return check()
}

// errPatchBody is wrapped by NormalizePatchBody for bodies that are no PatchOp at all.
var errPatchBody = errors.New("not a PATCH request body")

// NormalizePatchBody rewrites a PATCH body into what elimity accepts, before elimity parses it:
// a path naming an enterprise attribute without its URN ("manager", "employeeNumber",
// "department", "costCenter", "organization", "division"; Entra's legacy form) gets the URN; a
// manager value given as a plain string becomes {"value": s} and one given as a one-element
// array becomes that element, with a path or inside a path-less value object (keys "manager",
// "urn:...:User:manager" or manager nested under the extension URN); "schemas" is set to the
// PatchOp URN when it is missing or different. empty reports an empty Operations list, which
// elimity rejects and the caller answers itself.
//
// It returns an error (answer 400 invalidSyntax) only when body is not a JSON object or its
// Operations is missing or not an array.
func NormalizePatchBody(body []byte) (out []byte, empty bool, err error) {
	var req map[string]interface{}
	if err := decodeJSON(body, &req); err != nil {
		return nil, false, errors.Join(errPatchBody, err)
	}
	if req == nil {
		return nil, false, errPatchBody
	}
	opsKey, ok := lookupKey(req, "Operations")
	if !ok {
		return nil, false, errors.Join(errPatchBody, errors.New("missing Operations"))
	}
	ops, ok := req[opsKey].([]interface{})
	if !ok {
		return nil, false, errors.Join(errPatchBody, errors.New("the Operations member is not an array"))
	}

	if k, ok := lookupKey(req, "schemas"); !ok || !isPatchOpSchemas(req[k]) {
		for k := range req {
			if strings.EqualFold(k, "schemas") {
				delete(req, k)
			}
		}
		req["schemas"] = []interface{}{PatchOpURN}
	}

	for _, raw := range ops {
		op, ok := raw.(map[string]interface{})
		if !ok {
			continue // elimity rejects it with the right error.
		}
		normalizeOperation(op)
	}
	out, err = encodeJSON(req)
	if err != nil {
		return nil, false, err
	}
	return out, len(ops) == 0, nil
}

func isPatchOpSchemas(v interface{}) bool {
	list, ok := v.([]interface{})
	return ok && len(list) == 1 && list[0] == PatchOpURN
}

func normalizeOperation(op map[string]interface{}) {
	valueKey, hasValue := lookupKey(op, "value")
	if pathKey, ok := lookupKey(op, "path"); ok {
		path, ok := op[pathKey].(string)
		if !ok || strings.TrimSpace(path) == "" {
			return
		}
		path = qualifyExtensionName(strings.TrimSpace(path))
		op[pathKey] = path
		if hasValue && strings.EqualFold(path, EnterpriseUserURN+":manager") {
			op[valueKey] = normalizeManager(op[valueKey])
		}
		return
	}
	if !hasValue {
		return
	}
	values, ok := op[valueKey].(map[string]interface{})
	if !ok {
		return
	}
	for _, k := range sortedKeys(values) {
		v := values[k]
		if strings.EqualFold(k, EnterpriseUserURN) {
			if ext, ok := v.(map[string]interface{}); ok {
				if mk, ok := lookupKey(ext, "manager"); ok {
					ext[mk] = normalizeManager(ext[mk])
				}
			}
			continue
		}
		qualified := qualifyExtensionName(k)
		if strings.EqualFold(qualified, EnterpriseUserURN+":manager") {
			v = normalizeManager(v)
		}
		if qualified == k {
			values[k] = v
			continue
		}
		if _, taken := lookupKey(values, qualified); taken {
			continue // both spellings given: leave it to elimity to reject.
		}
		delete(values, k)
		values[qualified] = v
	}
}

// qualifyExtensionName prefixes the enterprise URN to a path whose attribute exists only in the
// enterprise extension ("manager", "department.x"), because elimity looks unqualified names up
// in the core schema only.
func qualifyExtensionName(path string) string {
	if strings.Contains(path, ":") {
		return path
	}
	name := path
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name = name[:i]
	}
	canonical, ok := extOnlyNames[strings.ToLower(name)]
	if !ok {
		return path
	}
	return EnterpriseUserURN + ":" + canonical + path[len(name):]
}

// normalizeManager turns Entra's manager spellings into the complex value the schema defines:
// "id" and ["id"] become {"value": "id"}, [{...}] becomes {...}, [] becomes {"value": ""} (no
// manager).
func normalizeManager(v interface{}) interface{} {
	switch m := v.(type) {
	case string:
		return map[string]interface{}{"value": m}
	case []interface{}:
		switch len(m) {
		case 0:
			return map[string]interface{}{"value": ""}
		case 1:
			if s, ok := m[0].(string); ok {
				return map[string]interface{}{"value": s}
			}
			if obj, ok := m[0].(map[string]interface{}); ok {
				return obj
			}
		}
	}
	return v
}

// NormalizeResourceBody rewrites a POST or PUT User body into what elimity accepts and what may
// be stored: an enterprise manager given as a plain string (or a one-element array) becomes
// {"value": s}, an empty one is dropped, every "password" key is dropped wherever it appears
// (the server never stores passwords), and a multi-valued attribute given as one object becomes
// a list of it (ListSingles). Everything else is left as it is.
//
// It returns an error (answer 400 invalidSyntax) when body is not a JSON object.
func NormalizeResourceBody(body []byte) ([]byte, error) {
	res, err := NormalizeResource(body)
	if err != nil {
		return nil, err
	}
	return encodeJSON(res)
}

// NormalizeGroupBody rewrites a POST or PUT Group body as NormalizeResourceBody does a User's
// lists: members given as one object become a list of it. It returns an error (answer 400
// invalidSyntax) when body is not a JSON object.
func NormalizeGroupBody(body []byte) ([]byte, error) {
	res, err := DecodeResource(body)
	if err != nil {
		return nil, err
	}
	ListSingles(res, GroupMultiValued)
	return encodeJSON(res)
}

// NormalizeResource is NormalizeResourceBody without encoding the result:
// the body decoded (numbers as json.Number, as elimity decodes them) and
// normalized.
func NormalizeResource(body []byte) (map[string]interface{}, error) {
	res, err := DecodeResource(body)
	if err != nil {
		return nil, err
	}
	NormalizeResourceMap(res)
	return res, nil
}

// DecodeResource decodes a POST or PUT body as NormalizeResource does,
// without normalizing it. It returns an error for a body that is not a
// JSON object.
func DecodeResource(body []byte) (map[string]interface{}, error) {
	var res map[string]interface{}
	if err := decodeJSON(body, &res); err != nil {
		return nil, err
	}
	if res == nil {
		return nil, errors.New("resource body is null")
	}
	return res, nil
}

// NormalizeResourceMap is NormalizeResource over a body DecodeResource
// decoded, changed in place.
func NormalizeResourceMap(res map[string]interface{}) {
	dropPasswords(res)
	ListSingles(res, UserMultiValued)
	if k, ok := lookupKey(res, EnterpriseUserURN); ok {
		if ext, ok := res[k].(map[string]interface{}); ok {
			if mk, ok := lookupKey(ext, "manager"); ok && ext[mk] != nil {
				m := normalizeManager(ext[mk])
				if obj, ok := m.(map[string]interface{}); ok && isEmpty(obj["value"]) {
					delete(ext, mk)
				} else {
					ext[mk] = m
				}
			}
		}
	}
}

func dropPasswords(v interface{}) {
	switch v := v.(type) {
	case map[string]interface{}:
		for k, e := range v {
			if strings.EqualFold(k, "password") {
				delete(v, k)
				continue
			}
			dropPasswords(e)
		}
	case []interface{}:
		for _, e := range v {
			dropPasswords(e)
		}
	}
}

// decodeJSON decodes one JSON value keeping numbers as written, as elimity does.
func decodeJSON(body []byte, v interface{}) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	// Only white space may follow. (More is false before a stray '}' or
	// ']', so it let `{...}}` through.)
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func encodeJSON(v interface{}) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
