package scimapi

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"
)

// allowStringValues is what elimity is told (SetAllowStringValues, in
// init): a boolean may come as a string strconv.ParseBool reads.
const allowStringValues = true

// resourceRules are a resource type's schemas as elimity's validation of a
// POST body reads them (validateResource: Schema.Validate,
// ValidateExtension), taken from the schemas once. Its validate answers
// the common body, one elimity takes, in place and without allocating;
// anything else (a body elimity refuses, or a value it would convert other
// than a boolean string) it leaves to elimity, so that the schemas stay
// the one statement of what is valid and every refusal is elimity's own.
type resourceRules struct {
	schemaID string
	core     rules
	exts     []extRules
}

type extRules struct {
	id       string
	required bool
	attrs    rules
}

// rules are a schema's attributes, or a complex attribute's.
type rules struct {
	list    []rule
	byLower map[string]int // lower-cased name -> index in list
}

// rule is one attribute as CoreAttribute.validate and ValidateSingular read it.
type rule struct {
	name                      string
	kind                      ruleKind
	multi, required, readOnly bool
	subs                      rules
}

type ruleKind int

const (
	kindOther   ruleKind = iota // binary, dateTime, decimal, integer: left to elimity
	kindString                  // string, reference
	kindBoolean                 // boolean
	kindComplex                 // complex
)

func newResourceRules(rt scim.ResourceType, core schema.Schema) resourceRules {
	r := resourceRules{schemaID: core.ID, core: rulesOf(core.Attributes)}
	for _, e := range rt.SchemaExtensions {
		r.exts = append(r.exts, extRules{id: e.Schema.ID, required: e.Required, attrs: rulesOf(e.Schema.Attributes)})
	}
	return r
}

func rulesOf(attrs schema.Attributes) rules {
	rs := rules{byLower: make(map[string]int, len(attrs))}
	for i, a := range attrs {
		r := rule{name: a.Name(), multi: a.MultiValued(), required: a.Required(), readOnly: a.Mutability() == "readOnly"}
		switch a.AttributeType() {
		case "string", "reference":
			r.kind = kindString
		case "boolean":
			r.kind = kindBoolean
		case "complex":
			r.kind = kindComplex
			r.subs = rulesOf(a.SubAttributes())
		}
		rs.list = append(rs.list, r)
		rs.byLower[strings.ToLower(a.Name())] = i
	}
	return rs
}

// validate is validateResource(rt, core, m) done in place: m becomes the
// attributes elimity would return (unknown and read-only attributes and
// nulls removed, names spelled as the schema spells them, boolean strings
// read). It returns false, with m part changed, when elimity must decide.
func (r *resourceRules) validate(m map[string]any) bool {
	if len(r.core.list) > 64 {
		return false // more than seen's bits
	}
	schemas, ok := m["schemas"].([]any)
	if !ok {
		return false
	}
	found := false
	for _, s := range schemas {
		if s == any(r.schemaID) {
			found = true
			break
		}
	}
	if !found || !r.core.object(m, r.extension) {
		return false
	}
	for _, e := range r.exts {
		v, ok := m[e.id]
		if v == nil {
			if e.required {
				return false
			}
			if ok {
				delete(m, e.id)
			}
			continue
		}
		obj, isObj := v.(map[string]any)
		if !isObj || !e.attrs.object(obj, nil) {
			return false
		}
	}
	return true
}

// extension tells whether a member of the body is an extension, named
// exactly: elimity reads it as m[id].
func (r *resourceRules) extension(name string) bool {
	for _, e := range r.exts {
		if name == e.id {
			return true
		}
	}
	return false
}

// index finds the attribute a member names, case-insensitively as
// strings.EqualFold (elimity's match).
func (rs *rules) index(name string) (int, bool) {
	ascii := true
	for i := 0; i < len(name) && ascii; i++ {
		ascii = name[i] < utf8.RuneSelf
	}
	if ascii {
		var buf [64]byte
		i, ok := rs.byLower[string(appendLower(buf[:0], name))]
		return i, ok
	}
	for i := range rs.list {
		if strings.EqualFold(rs.list[i].name, name) {
			return i, true
		}
	}
	return 0, false
}

// object validates a JSON object against rs in place (Schema.validate, or
// ValidateSingular of a complex value). keep, when set, names members left
// alone (the extensions).
func (rs *rules) object(obj map[string]any, keep func(string) bool) bool {
	if len(rs.list) > 64 {
		return false
	}
	var seen, present uint64
	type rename struct {
		from string
		to   int
	}
	var renames [4]rename
	n := 0
	for k, v := range obj {
		i, ok := rs.index(k)
		if !ok {
			if keep == nil || !keep(k) {
				delete(obj, k) // unknown: dropped
			}
			continue
		}
		bit := uint64(1) << i
		if seen&bit != 0 {
			return false // two spellings of one attribute: elimity refuses
		}
		seen |= bit
		r := &rs.list[i]
		if v == nil || r.readOnly {
			delete(obj, k) // (a required one is refused below)
			continue
		}
		present |= bit
		nv, ok := r.value(v)
		if !ok {
			return false
		}
		obj[k] = nv
		if k != r.name {
			if n == len(renames) {
				return false
			}
			renames[n] = rename{k, i}
			n++
		}
	}
	for i := range rs.list {
		if r := &rs.list[i]; r.required && !r.readOnly && present&(uint64(1)<<i) == 0 {
			return false
		}
	}
	for _, rn := range renames[:n] {
		v := obj[rn.from]
		delete(obj, rn.from)
		obj[rs.list[rn.to].name] = v
	}
	return true
}

// value validates an attribute's value (CoreAttribute.validate, not null).
func (r *rule) value(v any) (any, bool) {
	if !r.multi {
		return r.single(v)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	if len(list) == 0 {
		if r.required {
			return nil, false
		}
		return []any(nil), true // as elimity's append to a nil slice leaves it
	}
	for i, e := range list {
		nv, ok := r.single(e)
		if !ok {
			return nil, false
		}
		list[i] = nv
	}
	return v, true // list, without boxing it again
}

// single is ValidateSingular.
func (r *rule) single(v any) (any, bool) {
	switch r.kind {
	case kindString:
		_, ok := v.(string)
		return v, ok
	case kindBoolean:
		if _, ok := v.(bool); ok {
			return v, true
		}
		if s, ok := v.(string); ok && allowStringValues {
			if b, err := strconv.ParseBool(s); err == nil {
				return b, true
			}
		}
		return nil, false
	case kindComplex:
		obj, ok := v.(map[string]any)
		if !ok || !r.subs.object(obj, nil) {
			return nil, false
		}
		return obj, true
	}
	return nil, false
}
