package scimapi

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// dropUnknown takes out of a PATCH body (already normalised) what names an
// attribute this resource type does not keep: password, an unknown core
// attribute or sub-attribute, an attribute of an extension it does not
// define, whether as an operation's path or as a key of a path-less value.
// Entra sends whatever an admin mapped, and refusing the whole request
// would fail that user on every cycle; POST and PUT drop such attributes
// too. It returns the body to validate, the names dropped (for the audit
// event's droppedAttributes) and whether no operation is left.
//
// What does not parse is left in place: a malformed operation is still a
// 400 from validation. A body it cannot read is returned as it is.
func (v *patchValidator) dropUnknown(body []byte) (out []byte, dropped []string, empty bool) {
	var req map[string]json.RawMessage
	if decodeNumbers(body, &req) != nil {
		return body, nil, false
	}
	opsKey := ""
	for k := range req {
		if strings.EqualFold(k, "Operations") {
			opsKey = k
		}
	}
	var ops []json.RawMessage
	if opsKey == "" || decodeNumbers(req[opsKey], &ops) != nil {
		return body, nil, false
	}
	kept := make([]json.RawMessage, 0, len(ops))
	for _, raw := range ops {
		op, names, keep := v.dropFromOperation(raw)
		dropped = append(dropped, names...)
		if keep {
			kept = append(kept, op)
		}
	}
	if len(dropped) == 0 {
		return body, nil, false
	}
	enc, err := encodeValue(kept)
	if err != nil {
		return body, nil, false
	}
	req[opsKey] = enc
	if out, err = encodeValue(req); err != nil {
		return body, nil, false
	}
	sort.Strings(dropped)
	return out, dropped, len(kept) == 0
}

// dropFromOperation is dropUnknown for one operation: the operation as it
// is to be validated, the names dropped, and whether anything is left.
func (v *patchValidator) dropFromOperation(raw json.RawMessage) (json.RawMessage, []string, bool) {
	var o map[string]any
	if decodeNumbers(raw, &o) != nil {
		return raw, nil, true
	}
	pathKey, valueKey := "", ""
	for k := range o {
		switch strings.ToLower(k) {
		case "path":
			pathKey = k
		case "value":
			valueKey = k
		}
	}
	if pathKey != "" {
		p, ok := o[pathKey].(string)
		if !ok || strings.TrimSpace(p) == "" || v.keeps(p) {
			return raw, nil, true
		}
		return nil, []string{p}, false
	}
	values, ok := o[valueKey].(map[string]any)
	if valueKey == "" || !ok {
		return raw, nil, true
	}
	var dropped []string
	for key, val := range values {
		if ext, isExt := v.extension(key); isExt {
			inner, ok := val.(map[string]any)
			if !ok {
				continue // validation says what is wrong with it
			}
			for sub := range inner {
				if !v.keeps(ext + ":" + sub) {
					dropped = append(dropped, key+":"+sub)
					delete(inner, sub)
				}
			}
			if len(inner) == 0 {
				delete(values, key)
			}
			continue
		}
		if strings.EqualFold(key, "id") || v.keeps(key) {
			continue
		}
		dropped = append(dropped, key)
		delete(values, key)
	}
	if len(dropped) == 0 {
		return raw, nil, true
	}
	if len(values) == 0 {
		return nil, dropped, false
	}
	out, err := encodeValue(o)
	if err != nil {
		return raw, nil, true
	}
	return out, dropped, true
}

// extension reports whether key names one of the resource type's extension
// schemas (a path-less value may nest its attributes under it), and its id.
func (v *patchValidator) extension(key string) (string, bool) {
	for _, e := range v.exts {
		if strings.EqualFold(key, e.ID) {
			return e.ID, true
		}
	}
	return "", false
}

// keeps reports whether path names something the resource keeps, or does
// not parse (left for validation to refuse).
func (v *patchValidator) keeps(path string) bool {
	if _, ok := v.extension(path); ok {
		return true
	}
	p, err := parsePath(path)
	if err != nil {
		return true
	}
	return v.checkPath(p) == nil
}

// encodeValue is json.Marshal without HTML escaping, so values go on as sent.
func encodeValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
