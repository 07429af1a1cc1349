package scimdoc

import (
	"encoding/json"
	"strings"
)

// UserMultiValued and GroupMultiValued are the multi-valued attributes of
// the User and Group schemas (RFC 7643 §4.1.2, §4.2; the enterprise
// extension has none). scimapi's tests keep them equal to the schemas it
// publishes.
var (
	UserMultiValued  = []string{"emails", "phoneNumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509Certificates"}
	GroupMultiValued = []string{"members"}
)

// ListSingles makes each multi-valued attribute of a POST or PUT body
// (named in multi, compared case-insensitively) that came as one JSON
// object a list of that one element, in place, before the body is
// validated: it is then validated, stored and answered exactly as the same
// element in a list, as a PATCH reads a single value. RFC 7643 §2.4 makes a
// multi-valued attribute a JSON array; taking the object is leniency, for
// IdPs that send one. Elimity's validation accepts the object but returns
// it as it came: a user's emails were stored and answered as an object,
// and a group's one member was dropped with a 201.
func ListSingles(res map[string]any, multi []string) {
	for k, v := range res {
		obj, ok := v.(map[string]any)
		if !ok {
			continue
		}
		for _, name := range multi {
			if strings.EqualFold(k, name) {
				res[k] = []any{obj}
				break
			}
		}
	}
}

// NormalizeMultiValued applies RFC 7643 §2.4 to the multi-valued complex
// attributes of a POST or PUT body (emails, phoneNumbers, addresses, …), in
// place: at most one element is primary, the last one sent, as a PATCH
// does; and elements with the same type (compared case-insensitively) and
// value are stored once, the first kept (primary when the last primary was
// one of its repeats).
func NormalizeMultiValued(attrs map[string]any) {
	for key, v := range attrs {
		if list, ok := v.([]any); ok {
			attrs[key] = normalizeList(list)
		}
	}
}

func normalizeList(list []any) []any {
	if len(list) < 2 {
		return list // one element is its own primary and has no duplicate
	}
	last := -1
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && isPrimary(m) {
			last = i
		}
	}
	out := make([]any, 0, len(list))
	seen := map[string]int{} // element key -> index in out
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			out = append(out, e)
			continue
		}
		if k, ok := lookupKey(m, "primary"); ok && i != last && isPrimary(m) {
			m[k] = false
		}
		if key, ok := elementKey(m); ok {
			if j, dup := seen[key]; dup {
				if i == last {
					setKey(out[j].(map[string]any), "primary", true)
				}
				continue
			}
			seen[key] = len(out)
		}
		out = append(out, m)
	}
	return out
}

// elementKey identifies a multi-valued element by type and value; false
// when it has no value.
func elementKey(m map[string]any) (string, bool) {
	vk, ok := lookupKey(m, "value")
	if !ok {
		return "", false
	}
	value, err := json.Marshal(m[vk])
	if err != nil {
		return "", false
	}
	typ := ""
	if tk, ok := lookupKey(m, "type"); ok {
		typ, _ = m[tk].(string)
	}
	return strings.ToLower(typ) + "\x00" + string(value), true
}
