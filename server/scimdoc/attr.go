// Package scimdoc holds the pure functions the SCIM edge runs on SCIM documents: Entra request
// normalization before elimity-com/scim parses a request, PATCH application on User and Group
// documents, and attributes/excludedAttributes projection on rendered resources.
//
// A document is a resource's attributes as elimity validates them (canonical attribute names, the
// enterprise extension nested under EnterpriseUserURN) after a JSON round trip through storage, so
// numbers may be float64 and lists []interface{}. Nothing here does I/O.
package scimdoc

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

const (
	// EnterpriseUserURN is the enterprise User extension schema; its attributes are nested under
	// this key in a User document.
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// PatchOpURN is the only value a PATCH body's "schemas" may hold.
	PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// The schemas the server registers with elimity; PATCH application follows them so that it
// agrees with what elimity validated.
var (
	userSchema  = withExternalID(schema.CoreUserSchema())
	extSchema   = schema.ExtensionEnterpriseUser()
	groupSchema = withExternalID(schema.CoreGroupSchema())

	// extOnlyNames are the enterprise attributes a client may name without the URN, because the
	// core schema has no attribute of that name.
	extOnlyNames = extensionOnlyNames()
)

// withExternalID adds the common externalId attribute, as elimity does before validating.
func withExternalID(s schema.Schema) schema.Schema {
	attrs := make(schema.Attributes, 0, len(s.Attributes)+1)
	attrs = append(attrs, s.Attributes...)
	s.Attributes = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact:  true,
		Mutability: schema.AttributeMutabilityReadWrite(),
		Name:       schema.CommonAttributeExternalID,
		Uniqueness: schema.AttributeUniquenessNone(),
	})))
	return s
}

func extensionOnlyNames() map[string]string {
	names := map[string]string{}
	for _, a := range extSchema.Attributes {
		if _, inCore := userSchema.Attributes.ContainsAttribute(a.Name()); !inCore {
			names[strings.ToLower(a.Name())] = a.Name()
		}
	}
	return names
}

// subAttribute returns the sub-attribute of attr named name, case-insensitively.
func subAttribute(attr schema.CoreAttribute, name string) (schema.CoreAttribute, bool) {
	return attr.SubAttributes().ContainsAttribute(name)
}

// scimErr returns a copy of base with a precise detail. Always a value: elimity turns a
// *ScimError into a 500.
func scimErr(base scimerrors.ScimError, format string, args ...interface{}) error {
	e := base
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// lookupKey finds key in m case-insensitively, preferring an exact match.
func lookupKey(m map[string]interface{}, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	for k := range m {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

// sortedKeys gives path-less PATCH values a stable order, so "name" is applied before
// "name.givenName" and a retried request does the same thing.
func sortedKeys(m map[string]interface{}) []string {
	return slices.Sorted(maps.Keys(m))
}

// deepCopy copies maps and lists so a PATCH can be applied to a scratch document and committed
// only when every operation succeeded, and so the document never aliases request values.
func deepCopy(v interface{}) interface{} {
	switch v := v.(type) {
	case map[string]interface{}:
		return deepCopyMap(v)
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	case []map[string]interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = deepCopyMap(e)
		}
		return out
	default:
		return v
	}
}

func deepCopyMap(m map[string]interface{}) map[string]interface{} {
	if m == nil {
		return nil
	}
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

// asList returns v as a list of values; a single value becomes a one-element list.
func asList(v interface{}) []interface{} {
	switch v := v.(type) {
	case nil:
		return nil
	case []interface{}:
		return v
	case []map[string]interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out
	default:
		return []interface{}{v}
	}
}

// commit replaces the contents of dst with those of src.
func commit(dst, src map[string]interface{}) {
	for k := range dst {
		delete(dst, k)
	}
	for k, v := range src {
		dst[k] = v
	}
}

// isEmpty reports whether v carries no value: absent, null, "", or an empty list or object.
func isEmpty(v interface{}) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []interface{}:
		return len(v) == 0
	case map[string]interface{}:
		return len(v) == 0
	default:
		return false
	}
}
