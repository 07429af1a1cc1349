package scimdoc

import (
	"reflect"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// ApplyUserPatch applies PATCH operations, as elimity validated them, to a User document (RFC 7644
// §3.5.2 plus what Entra relies on), all or nothing: on error doc is left unchanged. doc must not
// be nil.
//
// Targets are simple (userName), sub-attribute (name.familyName), enterprise URN
// (urn:...:enterprise:2.0:User:manager) and value-filter paths (emails[type eq "work"].value). An
// add or replace through a filter that matches nothing creates the element from the filter's
// equalities. Add appends to a multi-valued attribute, skipping exact duplicates; replace swaps
// the list; a new primary value clears the others. Add and replace merge into a singular complex
// attribute, except manager, which is replaced whole. A path-less value object may hold plain,
// dotted or URN-qualified keys and the extension URN itself. A manager of "" is a removal.
// Password is never stored, so operations on it are dropped; id is ignored, as elimity does.
//
// Errors are errors.ScimError values:
//   - ScimErrorNoTarget: remove without path; a filter that matches nothing and does not
//     describe a new element.
//   - ScimErrorInvalidPath: unknown attribute; a value filter on a single-valued attribute.
//   - ScimErrorInvalidFilter: a value filter that cannot be evaluated.
//   - ScimErrorInvalidValue: a value of the wrong shape; userName removed or emptied.
//   - ScimErrorMutability: meta, schemas, groups, manager.displayName.
//   - ScimErrorInvalidSyntax: an op other than add, replace, remove.
func ApplyUserPatch(doc map[string]interface{}, ops []scim.PatchOperation) error {
	work := deepCopyMap(doc)
	if work == nil {
		work = map[string]interface{}{}
	}
	for _, op := range ops {
		if err := applyUserOp(work, op); err != nil {
			return err
		}
	}
	commit(doc, work)
	return nil
}

func applyUserOp(doc map[string]interface{}, op scim.PatchOperation) error {
	opName := strings.ToLower(op.Op)
	switch opName {
	case scim.PatchOperationAdd, scim.PatchOperationReplace, scim.PatchOperationRemove:
	default:
		return scimErr(scimerrors.ScimErrorInvalidSyntax, "unknown PATCH op %q", op.Op)
	}
	if op.Path != nil {
		return applyUserPath(doc, opName, *op.Path, op.Value)
	}
	if opName == scim.PatchOperationRemove {
		return scimErr(scimerrors.ScimErrorNoTarget, "remove requires a path")
	}
	values, ok := op.Value.(map[string]interface{})
	if !ok {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%s without a path needs an object value", opName)
	}
	for _, key := range sortedKeys(values) {
		value := values[key]
		if strings.EqualFold(key, EnterpriseUserURN) {
			ext, ok := value.(map[string]interface{})
			if !ok {
				return scimErr(scimerrors.ScimErrorInvalidValue, "%s must be an object", key)
			}
			for _, sub := range sortedKeys(ext) {
				if err := applyUserKey(doc, opName, EnterpriseUserURN+":"+sub, ext[sub]); err != nil {
					return err
				}
			}
			continue
		}
		if err := applyUserKey(doc, opName, key, value); err != nil {
			return err
		}
	}
	return nil
}

// applyUserKey applies one key of a path-less value object. elimity validated each key as a path
// but hands the keys over raw ("name.givenName", "urn:...:User:employeeNumber", any case).
func applyUserKey(doc map[string]interface{}, op, key string, value interface{}) error {
	path, err := filter.ParsePath([]byte(key))
	if err != nil {
		return scimErr(scimerrors.ScimErrorInvalidPath, "invalid attribute %q in value", key)
	}
	return applyUserPath(doc, op, path, value)
}

// userTarget is a resolved User path.
type userTarget struct {
	path   string // as the client wrote it, for error details
	ext    bool   // the attribute lives under the enterprise extension
	attr   schema.CoreAttribute
	sub    *schema.CoreAttribute
	filter filter.Expression
}

func (t userTarget) isManager() bool { return t.ext && t.attr.Name() == "manager" }

func resolveUserPath(p filter.Path) (userTarget, bool, error) {
	t := userTarget{path: p.String(), filter: p.ValueExpression}
	ap := p.AttributePath
	name := ap.AttributeName
	subName := ap.SubAttributeName()
	if p.SubAttribute != nil {
		if subName != "" {
			return t, false, scimErr(scimerrors.ScimErrorInvalidPath, "invalid path %q", t.path)
		}
		subName = *p.SubAttribute
	}

	var found bool
	switch uri := ap.URI(); {
	case uri == "" || strings.EqualFold(uri, schema.UserSchema):
		switch {
		case strings.EqualFold(name, schema.CommonAttributeID) && uri == "":
			return t, true, nil // elimity drops id from PATCH values; do the same.
		case strings.EqualFold(name, schema.CommonAttributeMeta), strings.EqualFold(name, "schemas"):
			return t, false, scimErr(scimerrors.ScimErrorMutability, "%q cannot be modified", t.path)
		}
		t.attr, found = userSchema.Attributes.ContainsAttribute(name)
		if !found && uri == "" {
			// Lenient: an enterprise attribute the core schema does not have, named without URN.
			t.attr, found = extSchema.Attributes.ContainsAttribute(name)
			t.ext = found
		}
	case strings.EqualFold(uri, EnterpriseUserURN):
		t.attr, found = extSchema.Attributes.ContainsAttribute(name)
		t.ext = true
	}
	if !found {
		return t, false, scimErr(scimerrors.ScimErrorInvalidPath, "unknown attribute in path %q", t.path)
	}
	switch t.attr.Mutability() {
	case "readOnly":
		return t, false, scimErr(scimerrors.ScimErrorMutability, "%q is read-only", t.path)
	case "writeOnly":
		return t, true, nil // password: never stored.
	}
	if subName != "" {
		sub, ok := subAttribute(t.attr, subName)
		if !ok {
			return t, false, scimErr(scimerrors.ScimErrorInvalidPath, "unknown sub-attribute in path %q", t.path)
		}
		if sub.Mutability() == "readOnly" {
			return t, false, scimErr(scimerrors.ScimErrorMutability, "%q is read-only", t.path)
		}
		t.sub = &sub
	}
	if t.filter != nil && !t.attr.MultiValued() {
		return t, false, scimErr(scimerrors.ScimErrorInvalidPath, "%q: a value filter needs a multi-valued attribute", t.path)
	}
	return t, false, nil
}

func applyUserPath(doc map[string]interface{}, op string, p filter.Path, value interface{}) error {
	t, skip, err := resolveUserPath(p)
	if err != nil || skip {
		return err
	}
	container := doc
	if t.ext {
		ext, ok := doc[EnterpriseUserURN].(map[string]interface{})
		if !ok {
			if op == scim.PatchOperationRemove {
				return nil
			}
			ext = map[string]interface{}{}
			doc[EnterpriseUserURN] = ext
		}
		container = ext
		defer func() {
			if len(ext) == 0 {
				delete(doc, EnterpriseUserURN)
			}
		}()
	}
	if op != scim.PatchOperationRemove && value == nil {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%s %q needs a value", op, t.path)
	}
	// Stored keys use the schema's spelling; drop any other spelling first.
	key := t.attr.Name()
	if k, ok := lookupKey(container, key); ok && k != key {
		container[key] = container[k]
		delete(container, k)
	}
	value = deepCopy(value)
	switch {
	case t.filter != nil:
		return applyFiltered(container, op, t, value)
	case t.attr.MultiValued():
		return applyMulti(container, op, t, value)
	case t.attr.HasSubAttributes():
		return applyComplex(container, op, t, value)
	default:
		return applySimple(container, op, t, value)
	}
}

func applySimple(c map[string]interface{}, op string, t userTarget, value interface{}) error {
	key := t.attr.Name()
	if t.attr.Required() && (op == scim.PatchOperationRemove || isEmpty(value)) {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%q is required and cannot be removed or emptied", t.path)
	}
	if op == scim.PatchOperationRemove {
		delete(c, key)
		return nil
	}
	c[key] = value
	return nil
}

// applyComplex handles a singular complex attribute (name, manager). Add and replace merge the
// given sub-attributes (RFC 7644 §3.5.2.1/3), except for manager: a new manager value names a
// different user, so the whole object is replaced and a stale $ref cannot survive.
func applyComplex(c map[string]interface{}, op string, t userTarget, value interface{}) error {
	key := t.attr.Name()
	if op == scim.PatchOperationRemove {
		if t.sub == nil {
			delete(c, key)
			return nil
		}
		if m, ok := c[key].(map[string]interface{}); ok {
			if k, ok := lookupKey(m, t.sub.Name()); ok {
				delete(m, k)
			}
			if len(m) == 0 || (t.isManager() && t.sub.Name() == "value") {
				delete(c, key)
			}
		}
		return nil
	}

	if t.sub != nil {
		if t.isManager() && t.sub.Name() == "value" {
			if isEmpty(value) {
				delete(c, key)
			} else {
				c[key] = map[string]interface{}{"value": value}
			}
			return nil
		}
		m, ok := c[key].(map[string]interface{})
		if !ok {
			m = map[string]interface{}{}
			c[key] = m
		}
		setKey(m, t.sub.Name(), value)
		return nil
	}

	if t.isManager() {
		if s, ok := value.(string); ok {
			value = map[string]interface{}{"value": s}
		}
	}
	given, ok := value.(map[string]interface{})
	if !ok {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%q needs an object value", t.path)
	}
	given = canonicalSubKeys(t.attr, given)
	if t.isManager() {
		if isEmpty(given["value"]) {
			delete(c, key)
		} else {
			c[key] = given
		}
		return nil
	}
	m, ok := c[key].(map[string]interface{})
	if !ok {
		m = map[string]interface{}{}
		c[key] = m
	}
	for k, v := range given {
		setKey(m, k, v)
	}
	return nil
}

// applyMulti handles a multi-valued attribute without a value filter: the whole list, or one
// sub-attribute of every element (emails.value).
func applyMulti(c map[string]interface{}, op string, t userTarget, value interface{}) error {
	key := t.attr.Name()
	list := asList(c[key])

	if t.sub != nil {
		sub := t.sub.Name()
		if op == scim.PatchOperationRemove {
			var kept []interface{}
			for _, e := range list {
				if m, ok := e.(map[string]interface{}); ok {
					if k, ok := lookupKey(m, sub); ok {
						delete(m, k)
					}
					if len(m) == 0 {
						continue
					}
				}
				kept = append(kept, e)
			}
			setList(c, key, kept)
			return nil
		}
		if len(list) == 0 {
			list = []interface{}{map[string]interface{}{}}
		}
		for _, e := range list {
			m, ok := e.(map[string]interface{})
			if !ok {
				return scimErr(scimerrors.ScimErrorInvalidValue, "%q: stored values are not objects", t.path)
			}
			setKey(m, sub, value)
			if isPrimary(m) {
				clearPrimary(list, m) // emails.primary = true: at most one stays primary
			}
		}
		setList(c, key, list)
		return nil
	}

	given := asList(value)
	for i, v := range given {
		if m, ok := v.(map[string]interface{}); ok {
			given[i] = canonicalSubKeys(t.attr, m)
		}
	}
	switch op {
	case scim.PatchOperationRemove:
		if value == nil {
			delete(c, key)
			return nil
		}
		var kept []interface{}
		for _, e := range list {
			if !matchesAny(t.attr, e, given) {
				kept = append(kept, e)
			}
		}
		setList(c, key, kept)
	case scim.PatchOperationReplace:
		var out []interface{}
		for _, v := range given {
			out = appendValue(out, v, false)
		}
		setList(c, key, out)
	default:
		for _, v := range given {
			list = appendValue(list, v, true)
		}
		setList(c, key, list)
	}
	return nil
}

// applyFiltered handles emails[type eq "work"] and emails[type eq "work"].value.
func applyFiltered(c map[string]interface{}, op string, t userTarget, value interface{}) error {
	key := t.attr.Name()
	list := asList(c[key])
	var matched []int
	for i, e := range list {
		ok, err := matchElement(t.attr, e, t.filter)
		if err != nil {
			return scimErr(scimerrors.ScimErrorInvalidFilter, "%q: %v", t.path, err)
		}
		if ok {
			matched = append(matched, i)
		}
	}

	if op == scim.PatchOperationRemove {
		if len(matched) == 0 {
			return nil
		}
		isMatched := make(map[int]bool, len(matched))
		for _, i := range matched {
			isMatched[i] = true
		}
		var kept []interface{}
		for i, e := range list {
			if isMatched[i] {
				if t.sub == nil {
					continue
				}
				if m, ok := e.(map[string]interface{}); ok {
					if k, ok := lookupKey(m, t.sub.Name()); ok {
						delete(m, k)
					}
					if len(m) == 0 {
						continue
					}
				}
			}
			kept = append(kept, e)
		}
		setList(c, key, kept)
		return nil
	}

	var given map[string]interface{}
	if t.sub != nil {
		given = map[string]interface{}{t.sub.Name(): value}
	} else {
		m, ok := value.(map[string]interface{})
		if !ok {
			return scimErr(scimerrors.ScimErrorInvalidValue, "%q needs an object value", t.path)
		}
		given = canonicalSubKeys(t.attr, m)
	}

	if len(matched) == 0 {
		// Entra sends replace emails[type eq "work"].value for a user that has no work email yet
		// and expects one to be created.
		elem, ok := equalities(t.attr, t.filter)
		if !ok {
			return scimErr(scimerrors.ScimErrorNoTarget, "%q matches no value and does not describe a new one", t.path)
		}
		for k, v := range given {
			elem[k] = v
		}
		setList(c, key, appendValue(list, elem, false))
		return nil
	}

	for _, i := range matched {
		m, ok := list[i].(map[string]interface{})
		if !ok {
			return scimErr(scimerrors.ScimErrorInvalidValue, "%q: stored values are not objects", t.path)
		}
		for k, v := range given {
			setKey(m, k, v)
		}
		if isPrimary(m) {
			clearPrimary(list, m)
		}
	}
	setList(c, key, list)
	return nil
}

// appendValue appends v to list; when skipDup, an exact duplicate is not appended. A primary
// value clears the primary flag of the others (RFC 7643 §2.4: at most one primary).
func appendValue(list []interface{}, v interface{}, skipDup bool) []interface{} {
	if skipDup {
		for _, e := range list {
			if reflect.DeepEqual(e, v) {
				return list
			}
		}
	}
	if m, ok := v.(map[string]interface{}); ok && isPrimary(m) {
		clearPrimary(list, m)
	}
	return append(list, v)
}

func isPrimary(m map[string]interface{}) bool {
	k, ok := lookupKey(m, "primary")
	if !ok {
		return false
	}
	b, ok := toBool(m[k])
	return ok && b
}

func clearPrimary(list []interface{}, keep map[string]interface{}) {
	for _, e := range list {
		m, ok := e.(map[string]interface{})
		if !ok || reflect.ValueOf(m).Pointer() == reflect.ValueOf(keep).Pointer() {
			continue
		}
		if k, ok := lookupKey(m, "primary"); ok && isPrimary(m) {
			m[k] = false
		}
	}
}

// matchesAny reports whether stored element e is one a remove names: every sub-attribute given
// in some value equals e's (strings compared as the schema says).
func matchesAny(attr schema.CoreAttribute, e interface{}, given []interface{}) bool {
	for _, g := range given {
		gm, gok := g.(map[string]interface{})
		em, eok := e.(map[string]interface{})
		if !gok || !eok {
			if reflect.DeepEqual(e, g) {
				return true
			}
			continue
		}
		all := len(gm) > 0
		for k, v := range gm {
			def, ok := subAttribute(attr, k)
			ek, present := lookupKey(em, k)
			if !ok || !present || !compare(def, em[ek], filter.EQ, v) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// canonicalSubKeys renames keys of a complex value to the schema's spelling.
func canonicalSubKeys(attr schema.CoreAttribute, m map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		if def, ok := subAttribute(attr, k); ok {
			k = def.Name()
		}
		out[k] = v
	}
	return out
}

// setKey sets m[key], replacing any other spelling of key.
func setKey(m map[string]interface{}, key string, v interface{}) {
	if k, ok := lookupKey(m, key); ok && k != key {
		delete(m, k)
	}
	m[key] = v
}

// setList stores list under key, or removes the attribute when the list is empty: an empty
// multi-valued attribute is unassigned (RFC 7643 §2.4).
func setList(c map[string]interface{}, key string, list []interface{}) {
	if len(list) == 0 {
		delete(c, key)
		return
	}
	c[key] = list
}
