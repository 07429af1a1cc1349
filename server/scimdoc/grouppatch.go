package scimdoc

import (
	"slices"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// MemberChange is the net effect of a Group PATCH on its members. Members are stored as sets,
// not in the document, so they are changed without reading them.
type MemberChange struct {
	// Replace means the current members are dropped first; Add then holds the new list.
	Replace bool
	// Add holds the member ids to add, in request order, without duplicates; nil when none.
	Add []string
	// Remove holds the member ids to remove; never shares an id with Add; nil when none.
	Remove []string
}

// Empty reports whether the change leaves the members as they are.
func (c MemberChange) Empty() bool {
	return !c.Replace && len(c.Add) == 0 && len(c.Remove) == 0
}

// memberAcc accumulates a MemberChange with sets beside its lists once they
// grow, so that a PATCH adding 20,000 members costs O(n), not O(n²), while
// Entra's one member per PATCH costs no map.
type memberAcc struct {
	c        MemberChange
	inAdd    map[string]bool // nil while Add is short: search it
	inRemove map[string]bool // nil while Remove is short
}

// accSetMin is the length from which a list gets its set.
const accSetMin = 16

// contains tells whether id is in list, through set when there is one.
func contains(list []string, set map[string]bool, id string) bool {
	if set != nil {
		return set[id]
	}
	return slices.Contains(list, id)
}

// added records id as the last of list, in set or, once list is long, in
// a set made for it.
func added(list []string, set map[string]bool, id string) ([]string, map[string]bool) {
	list = append(list, id)
	switch {
	case set != nil:
		set[id] = true
	case len(list) >= accSetMin:
		set = make(map[string]bool, 2*len(list))
		for _, e := range list {
			set[e] = true
		}
	}
	return list, set
}

func (a *memberAcc) add(id string) {
	if contains(a.c.Remove, a.inRemove, id) {
		a.c.Remove = without(a.c.Remove, id) // rare: removed, then added again
		delete(a.inRemove, id)
	}
	if !contains(a.c.Add, a.inAdd, id) {
		a.c.Add, a.inAdd = added(a.c.Add, a.inAdd, id)
	}
}

func (a *memberAcc) remove(id string) {
	if contains(a.c.Add, a.inAdd, id) {
		a.c.Add = without(a.c.Add, id) // rare: added, then removed again
		delete(a.inAdd, id)
	}
	// After a replace the old members are gone already: nothing else to remove.
	if !a.c.Replace && !contains(a.c.Remove, a.inRemove, id) {
		a.c.Remove, a.inRemove = added(a.c.Remove, a.inRemove, id)
	}
}

func (a *memberAcc) replace(ids []string) {
	*a = memberAcc{c: MemberChange{Replace: true}}
	for _, id := range ids {
		a.add(id)
	}
}

// ApplyGroupPatch applies PATCH operations, as elimity validated them, to a Group document, all
// or nothing: on error doc is left unchanged and the change is empty. doc must not be nil.
// displayName and externalId go into doc (with a path or in a path-less value object). Member
// operations are accumulated in order into the returned MemberChange: add, replace, remove with
// a value list, remove of members[value eq "id"] (or such terms joined by "or"), and remove of
// members without a value, which removes them all.
//
// Errors are errors.ScimError values:
//   - ScimErrorNoTarget: remove without path.
//   - ScimErrorInvalidPath: unknown attribute; a member filter on add or replace.
//   - ScimErrorInvalidFilter: a member filter other than value eq "id".
//   - ScimErrorInvalidValue: a member without value; displayName removed or emptied; a value of
//     the wrong shape.
//   - ScimErrorMutability: meta, schemas, member sub-attributes.
//   - ScimErrorInvalidSyntax: an op other than add, replace, remove.
func ApplyGroupPatch(doc map[string]interface{}, ops []scim.PatchOperation) (MemberChange, error) {
	work := deepCopyMap(doc)
	if work == nil {
		work = map[string]interface{}{}
	}
	var change memberAcc
	for _, op := range ops {
		if err := applyGroupOp(work, &change, op); err != nil {
			return MemberChange{}, err
		}
	}
	commit(doc, work)
	return change.c, nil
}

func applyGroupOp(doc map[string]interface{}, change *memberAcc, op scim.PatchOperation) error {
	opName := strings.ToLower(op.Op)
	switch opName {
	case scim.PatchOperationAdd, scim.PatchOperationReplace, scim.PatchOperationRemove:
	default:
		return scimErr(scimerrors.ScimErrorInvalidSyntax, "unknown PATCH op %q", op.Op)
	}
	if op.Path != nil {
		return applyGroupPath(doc, change, opName, *op.Path, op.Value)
	}
	if opName == scim.PatchOperationRemove {
		return scimErr(scimerrors.ScimErrorNoTarget, "remove requires a path")
	}
	values, ok := op.Value.(map[string]interface{})
	if !ok {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%s without a path needs an object value", opName)
	}
	for _, key := range sortedKeys(values) {
		p, err := filter.ParsePath([]byte(key))
		if err != nil {
			return scimErr(scimerrors.ScimErrorInvalidPath, "invalid attribute %q in value", key)
		}
		if err := applyGroupPath(doc, change, opName, p, values[key]); err != nil {
			return err
		}
	}
	return nil
}

func applyGroupPath(doc map[string]interface{}, change *memberAcc, op string, p filter.Path, value interface{}) error {
	path := p.String()
	ap := p.AttributePath
	if uri := ap.URI(); uri != "" && !strings.EqualFold(uri, schema.GroupSchema) {
		return scimErr(scimerrors.ScimErrorInvalidPath, "unknown attribute in path %q", path)
	}
	name := ap.AttributeName
	switch {
	case strings.EqualFold(name, schema.CommonAttributeID):
		return nil // elimity drops id from PATCH values; do the same.
	case strings.EqualFold(name, schema.CommonAttributeMeta), strings.EqualFold(name, "schemas"):
		return scimErr(scimerrors.ScimErrorMutability, "%q cannot be modified", path)
	}
	attr, ok := groupSchema.Attributes.ContainsAttribute(name)
	if !ok {
		return scimErr(scimerrors.ScimErrorInvalidPath, "unknown attribute in path %q", path)
	}
	if attr.Name() == "members" {
		return applyMembers(change, op, p, value)
	}
	if p.ValueExpression != nil || p.SubAttribute != nil || ap.SubAttribute != nil {
		return scimErr(scimerrors.ScimErrorInvalidPath, "invalid path %q", path)
	}
	key := attr.Name()
	if k, ok := lookupKey(doc, key); ok && k != key {
		delete(doc, k)
	}
	if op == scim.PatchOperationRemove {
		if attr.Required() {
			return scimErr(scimerrors.ScimErrorInvalidValue, "%q is required and cannot be removed", path)
		}
		delete(doc, key)
		return nil
	}
	s, ok := value.(string)
	if !ok {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%q needs a string value", path)
	}
	if attr.Required() && s == "" {
		return scimErr(scimerrors.ScimErrorInvalidValue, "%q is required and cannot be empty", path)
	}
	doc[key] = s
	return nil
}

func applyMembers(change *memberAcc, op string, p filter.Path, value interface{}) error {
	path := p.String()
	if p.SubAttribute != nil || p.AttributePath.SubAttribute != nil {
		return scimErr(scimerrors.ScimErrorMutability, "%q: member sub-attributes cannot be modified; add or remove the member", path)
	}
	if p.ValueExpression != nil {
		if op != scim.PatchOperationRemove {
			return scimErr(scimerrors.ScimErrorInvalidPath, "%q: a member filter is only supported with remove", path)
		}
		ids, ok := memberFilterIDs(p.ValueExpression)
		if !ok {
			return scimErr(scimerrors.ScimErrorInvalidFilter, "%q: only value eq \"id\" filters, joined by or, are supported on members", path)
		}
		for _, id := range ids {
			change.remove(id)
		}
		return nil
	}
	if op == scim.PatchOperationRemove && value == nil {
		change.replace(nil)
		return nil
	}
	ids, err := memberIDs(path, value)
	if err != nil {
		return err
	}
	switch op {
	case scim.PatchOperationAdd:
		for _, id := range ids {
			change.add(id)
		}
	case scim.PatchOperationReplace:
		change.replace(ids)
	default:
		for _, id := range ids {
			change.remove(id)
		}
	}
	return nil
}

// memberIDs reads the ids of a members value: a list of {"value": id, ...}.
func memberIDs(path string, value interface{}) ([]string, error) {
	var ids []string
	for _, v := range asList(value) {
		var id string
		switch v := v.(type) {
		case map[string]interface{}:
			if k, ok := lookupKey(v, "value"); ok {
				id, _ = v[k].(string)
			}
		case string:
			id = v
		}
		if strings.TrimSpace(id) == "" {
			return nil, scimErr(scimerrors.ScimErrorInvalidValue, "%q: every member needs a non-empty value", path)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// memberFilterIDs reads the ids of members[value eq "a" or value eq "b"].
func memberFilterIDs(expr filter.Expression) ([]string, bool) {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.OR {
			return nil, false
		}
		left, ok := memberFilterIDs(e.Left)
		if !ok {
			return nil, false
		}
		right, ok := memberFilterIDs(e.Right)
		return append(left, right...), ok
	case *filter.AttributeExpression:
		s, ok := e.CompareValue.(string)
		if !ok || e.Operator != filter.EQ || e.AttributePath.SubAttribute != nil ||
			!strings.EqualFold(e.AttributePath.AttributeName, "value") {
			return nil, false
		}
		s = unescapeFilterString(s)
		return []string{s}, s != ""
	default:
		return nil, false
	}
}

// without returns list minus s, or nil when nothing is left.
func without(list []string, s string) []string {
	var out []string
	for _, e := range list {
		if e != s {
			out = append(out, e)
		}
	}
	return out
}

// MemberOps returns the change of a PATCH whose every operation adds or
// removes members by path (as Entra sends them): such a PATCH needs no read
// of the group's document. ok is false for anything else, and for a PATCH
// ApplyGroupPatch refuses: the caller applies it the general way, which
// gives the same answer.
func MemberOps(ops []scim.PatchOperation) (change MemberChange, ok bool) {
	if len(ops) == 0 {
		return MemberChange{}, false
	}
	for _, op := range ops {
		name := strings.ToLower(op.Op)
		if op.Path == nil || name != scim.PatchOperationAdd && name != scim.PatchOperationRemove {
			return MemberChange{}, false
		}
		ap := op.Path.AttributePath
		if !strings.EqualFold(ap.AttributeName, "members") || ap.SubAttributeName() != "" || op.Path.SubAttribute != nil {
			return MemberChange{}, false
		}
		if uri := ap.URI(); uri != "" && !strings.EqualFold(uri, schema.GroupSchema) {
			return MemberChange{}, false
		}
	}
	doc := map[string]interface{}{}
	c, err := ApplyGroupPatch(doc, ops)
	if err != nil || len(doc) > 0 || c.Replace || c.Empty() {
		return MemberChange{}, false
	}
	return c, true
}
