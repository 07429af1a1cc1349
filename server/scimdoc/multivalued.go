package scimdoc

import (
	"encoding/json"
	"strings"
)

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
