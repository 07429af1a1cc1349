package scimdoc

import (
	"maps"
	"strings"
)

// coreSchemaPrefix starts every core schema URN; a name qualified with one of them
// (urn:ietf:params:scim:schemas:core:2.0:User:userName) names a top-level attribute.
const coreSchemaPrefix = "urn:ietf:params:scim:schemas:core:2.0:"

// alwaysReturned are kept by Project whatever is asked (RFC 7643 §3.1, §7: returned "always").
var alwaysReturned = []string{"id", "schemas"}

// ParseAttrList splits an attributes or excludedAttributes query value on commas, trimming
// spaces and dropping empty names. It returns nil for an empty value.
func ParseAttrList(q string) []string {
	var out []string
	for _, name := range strings.Split(q, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// Project returns the part of a rendered resource a client asked for (RFC 7644 §3.4.2.5, §3.9).
// With attributes, only the named attributes are kept, plus id and schemas; meta is kept only
// when named. With excludedAttributes, the named attributes are dropped, except id and schemas.
// When both are given, attributes applies first. Names compare case-insensitively and may be
// top-level (userName), sub-attributes (name.givenName, emails.value), URN-qualified
// (urn:...:enterprise:2.0:User:employeeNumber) or a whole extension (urn:...:enterprise:2.0:User).
// Unknown names are ignored. res is not modified; the result shares unmodified values with it.
func Project(res map[string]interface{}, attributes, excluded []string) map[string]interface{} {
	out := res
	if len(attributes) > 0 {
		out = include(res, attributes)
	}
	if len(excluded) > 0 {
		out = exclude(out, excluded)
	}
	if len(attributes) == 0 && len(excluded) == 0 {
		out = maps.Clone(res)
	}
	return out
}

// selector is one resolved attribute name.
type selector struct {
	ext  string // key of the extension object in the resource; "" for top level
	attr string // key of the attribute in its container; "" for the whole extension
	sub  string // sub-attribute name, "" for the whole attribute
}

// resolve maps a requested name onto the keys present in res; ok is false when res has no such
// attribute.
func resolve(res map[string]interface{}, name string) (selector, bool) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndex(name, ":"); i >= 0 {
		if k, ok := lookupKey(res, name); ok {
			if _, isExt := res[k].(map[string]interface{}); isExt {
				return selector{ext: k}, true
			}
			return selector{attr: k}, true
		}
		uri, rest := name[:i], name[i+1:]
		if k, ok := lookupKey(res, uri); ok {
			ext, isExt := res[k].(map[string]interface{})
			if !isExt {
				return selector{}, false
			}
			sel, ok := resolveIn(ext, rest)
			sel.ext = k
			return sel, ok
		}
		if !strings.HasPrefix(strings.ToLower(uri), strings.ToLower(coreSchemaPrefix)) {
			return selector{}, false
		}
		name = rest
	}
	return resolveIn(res, name)
}

func resolveIn(c map[string]interface{}, name string) (selector, bool) {
	attr, sub, _ := strings.Cut(name, ".")
	k, ok := lookupKey(c, attr)
	return selector{attr: k, sub: sub}, ok
}

func isAlwaysReturned(s selector) bool {
	if s.ext != "" || s.sub != "" {
		return false
	}
	for _, a := range alwaysReturned {
		if strings.EqualFold(s.attr, a) {
			return true
		}
	}
	return false
}

func include(res map[string]interface{}, names []string) map[string]interface{} {
	out := map[string]interface{}{}
	for _, a := range alwaysReturned {
		if k, ok := lookupKey(res, a); ok {
			out[k] = res[k]
		}
	}
	var partial []selector
	whole := map[selector]bool{}
	for _, name := range names {
		s, ok := resolve(res, name)
		if !ok {
			continue
		}
		if s.sub != "" {
			partial = append(partial, s)
			continue
		}
		whole[s] = true
		if s.attr == "" {
			out[s.ext] = res[s.ext]
			continue
		}
		if s.ext == "" {
			out[s.attr] = res[s.attr]
		}
	}
	// Attributes of an extension, unless the whole extension was asked for.
	for s := range whole {
		if s.ext == "" || s.attr == "" || whole[selector{ext: s.ext}] {
			continue
		}
		dst := extObject(out, s.ext)
		dst[s.attr] = res[s.ext].(map[string]interface{})[s.attr]
	}
	var picked []selector
	for _, s := range partial {
		if (s.ext != "" && whole[selector{ext: s.ext}]) || whole[selector{ext: s.ext, attr: s.attr}] {
			continue
		}
		src, dst := res, out
		if s.ext != "" {
			src, dst = res[s.ext].(map[string]interface{}), extObject(out, s.ext)
		}
		pickSub(src, dst, s.attr, s.sub)
		picked = append(picked, s)
	}
	for _, s := range picked {
		dst := out
		if s.ext != "" {
			dst = extObject(out, s.ext)
		}
		dropEmptyElements(dst, s.attr)
		if s.ext != "" && len(dst) == 0 {
			delete(out, s.ext)
		}
	}
	return out
}

// extObject returns the (new) extension object under key in out.
func extObject(out map[string]interface{}, key string) map[string]interface{} {
	m, ok := out[key].(map[string]interface{})
	if !ok {
		m = map[string]interface{}{}
		out[key] = m
	}
	return m
}

// pickSub copies sub-attribute sub of src[attr] into dst[attr]: from a complex value, or from
// every element of a multi-valued one (emails.value), merging with what earlier names picked.
// Projected elements stay aligned with the stored ones, even when empty, until
// dropEmptyElements runs.
func pickSub(src, dst map[string]interface{}, attr, sub string) {
	switch v := src[attr].(type) {
	case map[string]interface{}:
		k, ok := lookupKey(v, sub)
		if !ok {
			return
		}
		m, ok := dst[attr].(map[string]interface{})
		if !ok {
			m = map[string]interface{}{}
			dst[attr] = m
		}
		m[k] = v[k]
	case []interface{}:
		prev, _ := dst[attr].([]interface{})
		list := make([]interface{}, len(v))
		for i, e := range v {
			m := map[string]interface{}{}
			if i < len(prev) {
				if pm, ok := prev[i].(map[string]interface{}); ok {
					m = pm
				}
			}
			if em, ok := e.(map[string]interface{}); ok {
				if k, ok := lookupKey(em, sub); ok {
					m[k] = em[k]
				}
			}
			list[i] = m
		}
		dst[attr] = list
	}
}

// dropEmptyElements removes projected elements that received no sub-attribute, and the
// attribute when none did.
func dropEmptyElements(dst map[string]interface{}, attr string) {
	list, ok := dst[attr].([]interface{})
	if !ok {
		return
	}
	var kept []interface{}
	for _, e := range list {
		if !isEmpty(e) {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		delete(dst, attr)
		return
	}
	dst[attr] = kept
}

func exclude(res map[string]interface{}, names []string) map[string]interface{} {
	out := maps.Clone(res)
	copied := map[string]bool{} // extension objects already copied out of res
	for _, name := range names {
		s, ok := resolve(out, name)
		if !ok || isAlwaysReturned(s) {
			continue
		}
		c := out
		if s.ext != "" {
			if s.attr == "" {
				delete(out, s.ext)
				continue
			}
			if !copied[s.ext] {
				out[s.ext] = maps.Clone(out[s.ext].(map[string]interface{}))
				copied[s.ext] = true
			}
			c = out[s.ext].(map[string]interface{})
		}
		if s.sub == "" {
			delete(c, s.attr)
		} else {
			c[s.attr] = withoutSub(c[s.attr], s.sub)
			if isEmpty(c[s.attr]) {
				delete(c, s.attr)
			}
		}
		if s.ext != "" && len(c) == 0 {
			delete(out, s.ext)
		}
	}
	return out
}

// withoutSub returns a copy of a complex or multi-valued value without sub-attribute sub;
// elements left empty are dropped.
func withoutSub(v interface{}, sub string) interface{} {
	switch v := v.(type) {
	case map[string]interface{}:
		m := maps.Clone(v)
		if k, ok := lookupKey(m, sub); ok {
			delete(m, k)
		}
		return m
	case []interface{}:
		var list []interface{}
		for _, e := range v {
			if em, ok := e.(map[string]interface{}); ok {
				m := withoutSub(em, sub).(map[string]interface{})
				if len(m) == 0 {
					continue
				}
				e = m
			}
			list = append(list, e)
		}
		return list
	default:
		return v
	}
}
