package scimapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	scimfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// patchValidator turns a PATCH body into the operations elimity would hand
// a ResourceHandler, with the same validation and the same errors (a test
// replays every fixture through both), but parsing paths with parsePath.
// elimity's own validation parses every path with the general parser,
// which was most of the CPU of a PATCH.
type patchValidator struct {
	core    schema.Schema            // with externalId, as elimity validates
	exts    []schema.Schema          // the resource type's extensions
	schemas map[string]schema.Schema // by id: core and extensions
}

func newPatchValidator(rt scim.ResourceType) *patchValidator {
	core := rt.Schema
	attrs := make([]schema.CoreAttribute, 0, len(core.Attributes)+1)
	attrs = append(attrs, core.Attributes...)
	core.Attributes = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact:  true,
		Mutability: schema.AttributeMutabilityReadWrite(),
		Name:       schema.CommonAttributeExternalID,
		Uniqueness: schema.AttributeUniquenessNone(),
	})))
	v := &patchValidator{core: core, schemas: map[string]schema.Schema{core.ID: core}}
	for _, e := range rt.SchemaExtensions {
		v.exts = append(v.exts, e.Schema)
		v.schemas[e.Schema.ID] = e.Schema
	}
	return v
}

// operations validates a PATCH body. The errors are elimity's for the same
// input: invalidSyntax (not JSON), invalidValue (schemas, no operations, a
// value of the wrong type), invalidPath (a path that does not parse or
// names no attribute), noTarget (remove without path).
func (v *patchValidator) operations(body []byte) ([]scim.PatchOperation, *scimerrors.ScimError) {
	var req struct {
		Schemas    []string
		Operations []json.RawMessage
	}
	if err := decodeNumbers(body, &req); err != nil {
		return nil, &scimerrors.ScimErrorInvalidSyntax
	}
	if len(req.Schemas) != 1 || req.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:PatchOp" || len(req.Operations) < 1 {
		return nil, &scimerrors.ScimErrorInvalidValue
	}
	ops := make([]scim.PatchOperation, 0, len(req.Operations))
	for _, raw := range req.Operations {
		op, path, value, err := v.parseOperation(raw)
		if err != nil {
			return nil, &scimerrors.ScimErrorInvalidPath
		}
		validated, err := v.validate(op, path, value, v.core)
		if err != nil {
			var se *scimerrors.ScimError
			if errors.As(err, &se) {
				return nil, se
			}
			return nil, &scimerrors.ScimErrorInvalidValue
		}
		ops = append(ops, scim.PatchOperation{Op: op, Path: path, Value: validated})
	}
	return ops, nil
}

func decodeNumbers(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// parseOperation is elimity's patch.NewValidator: op lower-cased, an "id"
// key dropped from an object value, the path parsed and checked against
// the schemas.
func (v *patchValidator) parseOperation(raw json.RawMessage) (string, *filter.Path, any, error) {
	var o struct {
		Op    string
		Path  string
		Value any
	}
	if err := decodeNumbers(raw, &o); err != nil {
		return "", nil, nil, err
	}
	if m, ok := o.Value.(map[string]any); ok {
		var key string
		var found bool
		for k := range m {
			if strings.ToLower(k) == "id" {
				if found {
					return "", nil, nil, fmt.Errorf("duplicate attributes: %s and %s", k, key)
				}
				found, key = true, k
			}
		}
		delete(m, key)
	}
	if o.Path == "" {
		return strings.ToLower(o.Op), nil, o.Value, nil
	}
	p, err := parsePath(o.Path)
	if err != nil {
		return "", nil, nil, err
	}
	if err := v.checkPath(p); err != nil {
		return "", nil, nil, err
	}
	return strings.ToLower(o.Op), &p, o.Value, nil
}

// checkPath is elimity's PathValidator.Validate: valid in the core schema
// or in one of the extensions.
func (v *patchValidator) checkPath(p filter.Path) error {
	err := checkPathIn(p, v.core)
	if err == nil {
		return nil
	}
	for _, e := range v.exts {
		if checkPathIn(p, e) == nil {
			return nil
		}
	}
	return err
}

func checkPathIn(p filter.Path, ref schema.Schema) error {
	ap := p.AttributePath
	if uri := ap.URI(); uri != "" && uri != ref.ID {
		return fmt.Errorf("the uri does not match the schema id: %s", uri)
	}
	attr, ok := ref.Attributes.ContainsAttribute(ap.AttributeName)
	if !ok {
		return fmt.Errorf("no attribute %s", ap.AttributeName)
	}
	if sub := ap.SubAttributeName(); sub != "" {
		if err := hasSub(attr, sub); err != nil {
			return err
		}
	}
	if p.ValueExpression != nil {
		if err := scimfilter.NewFilterValidator(p.ValueExpression, schema.Schema{
			ID:         ref.ID,
			Attributes: scimfilter.MultiValuedFilterAttributes(attr),
		}).Validate(); err != nil {
			return err
		}
	}
	if sub := p.SubAttributeName(); sub != "" {
		return hasSub(attr, sub)
	}
	return nil
}

func hasSub(attr schema.CoreAttribute, name string) error {
	if !attr.HasSubAttributes() {
		return fmt.Errorf("%s has no sub-attributes", attr.Name())
	}
	if _, ok := attr.SubAttributes().ContainsAttribute(name); !ok {
		return fmt.Errorf("%s has no sub-attribute %s", attr.Name(), name)
	}
	return nil
}

// validate is elimity's OperationValidator.Validate, resolving attributes
// in base (the core schema, or an extension inside a path-less value).
func (v *patchValidator) validate(op string, path *filter.Path, value any, base schema.Schema) (any, error) {
	switch op {
	case scim.PatchOperationAdd, scim.PatchOperationReplace:
		if value == nil {
			return nil, fmt.Errorf("an add operation must contain a value member")
		}
		if path == nil {
			return v.validateEmptyPath(op, value, base)
		}
		return v.validateValue(path, value, base, false)
	case scim.PatchOperationRemove:
		if path == nil {
			return nil, &scimerrors.ScimErrorNoTarget
		}
		return v.validateValue(path, value, base, true)
	}
	return nil, fmt.Errorf("invalid operation Op: %s", op)
}

func (v *patchValidator) validateValue(path *filter.Path, value any, base schema.Schema, remove bool) (any, error) {
	ref, err := v.refAttribute(path.AttributePath, base)
	if err != nil {
		return nil, err
	}
	if path.ValueExpression != nil {
		attrs := ref.SubAttributes()
		if remove {
			attrs = scimfilter.MultiValuedFilterAttributes(ref)
		}
		if err := scimfilter.NewFilterValidator(path.ValueExpression, schema.Schema{Attributes: attrs}).Validate(); err != nil {
			return nil, err
		}
	}
	if sub := path.SubAttributeName(); sub != "" {
		if ref, err = subAttribute(ref, sub); err != nil {
			return nil, err
		}
	}
	if remove && value == nil {
		return nil, nil
	}
	if !ref.MultiValued() {
		return singular(ref, value)
	}
	if list, ok := value.([]any); ok {
		var out []any
		for _, item := range list {
			a, err := singular(ref, item)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	a, err := singular(ref, value)
	if err != nil {
		return nil, err
	}
	if !remove && path.ValueExpression != nil {
		return a, nil
	}
	return []any{a}, nil
}

// singular wraps ValidateSingular so that a nil *ScimError stays a nil error.
func singular(attr schema.CoreAttribute, value any) (any, error) {
	a, se := attr.ValidateSingular(value)
	if se != nil {
		return nil, se
	}
	return a, nil
}

func (v *patchValidator) validateEmptyPath(op string, value any, base schema.Schema) (any, error) {
	attrs, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the given value should be a complex attribute if path is empty")
	}
	root := map[string]any{}
	for key, val := range attrs {
		if ext, ok := v.schemas[key]; ok {
			inner, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("the value of %s should be a complex attribute", key)
			}
			got, err := v.validateEmptyPath(op, inner, ext)
			if err != nil {
				return nil, err
			}
			root[key] = got
			continue
		}
		p, err := parsePath(key)
		if err != nil {
			return nil, fmt.Errorf("invalid attribute path: %s", key)
		}
		got, err := v.validate(op, &p, val, base)
		if err != nil {
			return nil, err
		}
		root[key] = got
	}
	return root, nil
}

// refAttribute is elimity's getRefAttribute: the attribute in base, or in
// the schema the path's URI names.
func (v *patchValidator) refAttribute(ap filter.AttributePath, base schema.Schema) (schema.CoreAttribute, error) {
	ref := base
	if uri := ap.URI(); uri != "" {
		var ok bool
		if ref, ok = v.schemas[uri]; !ok {
			return schema.CoreAttribute{}, fmt.Errorf("invalid uri prefix: %s", uri)
		}
	}
	var found *schema.CoreAttribute
	for _, attr := range ref.Attributes {
		if strings.EqualFold(attr.Name(), ap.AttributeName) {
			found = &attr
			break
		}
	}
	if found == nil {
		return schema.CoreAttribute{}, fmt.Errorf("could not find attribute %s", ap.AttributeName)
	}
	if sub := ap.SubAttributeName(); sub != "" {
		return subAttribute(*found, sub)
	}
	return *found, nil
}

func subAttribute(attr schema.CoreAttribute, name string) (schema.CoreAttribute, error) {
	if !attr.HasSubAttributes() {
		return schema.CoreAttribute{}, fmt.Errorf("the referred attribute has no sub-attributes")
	}
	for _, sub := range attr.SubAttributes() {
		if strings.EqualFold(sub.Name(), name) {
			return sub, nil
		}
	}
	return schema.CoreAttribute{}, fmt.Errorf("could not find attribute %s", name)
}
