package scimdoc

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// matchElement reports whether one element of the multi-valued attribute attr passes the value
// filter expr (the part between brackets in emails[type eq "work"]).
// Returns an error for expressions a value filter cannot hold (nested value paths).
func matchElement(attr schema.CoreAttribute, elem interface{}, expr filter.Expression) (bool, error) {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		return matchAttrExpr(attr, elem, e), nil
	case *filter.LogicalExpression:
		left, err := matchElement(attr, elem, e.Left)
		if err != nil {
			return false, err
		}
		right, err := matchElement(attr, elem, e.Right)
		if err != nil {
			return false, err
		}
		if e.Operator == filter.OR {
			return left || right, nil
		}
		return left && right, nil
	case *filter.NotExpression:
		ok, err := matchElement(attr, elem, e.Expression)
		return !ok, err
	default:
		return false, fmt.Errorf("unsupported expression %v in a value filter", expr)
	}
}

func matchAttrExpr(attr schema.CoreAttribute, elem interface{}, e *filter.AttributeExpression) bool {
	var (
		have    interface{}
		present bool
		def     schema.CoreAttribute
	)
	if attr.HasSubAttributes() {
		m, ok := elem.(map[string]interface{})
		if !ok {
			return false
		}
		d, ok := subAttribute(attr, e.AttributePath.AttributeName)
		if !ok {
			return false
		}
		def = d
		if k, ok := lookupKey(m, d.Name()); ok {
			have, present = m[k], true
		}
	} else {
		// A multi-valued simple attribute is filtered through a virtual "value" sub-attribute.
		def, have, present = attr, elem, true
	}
	if e.Operator == filter.PR {
		return present && !isEmpty(have)
	}
	if e.CompareValue == nil {
		absent := !present || have == nil
		if e.Operator == filter.NE {
			return !absent
		}
		return e.Operator == filter.EQ && absent
	}
	if !present || have == nil {
		return e.Operator == filter.NE
	}
	return compare(def, have, e.Operator, e.CompareValue)
}

// compare applies op to a stored value and a filter literal. Strings compare case-insensitively
// unless the attribute is caseExact (RFC 7644 §3.4.2.2); a boolean or number stored as such also
// matches its string spelling, since Entra quotes everything.
func compare(def schema.CoreAttribute, have interface{}, op filter.CompareOperator, want interface{}) bool {
	if s, ok := want.(string); ok {
		want = unescapeFilterString(s)
	}
	switch h := have.(type) {
	case bool:
		w, ok := toBool(want)
		if !ok {
			return op == filter.NE
		}
		switch op {
		case filter.EQ:
			return h == w
		case filter.NE:
			return h != w
		}
		return false
	case string:
		w, ok := want.(string)
		if !ok {
			return op == filter.NE
		}
		if !def.CaseExact() {
			h, w = strings.ToLower(h), strings.ToLower(w)
		}
		return compareOrdered(op, strings.Compare(h, w), func() bool {
			switch op {
			case filter.CO:
				return strings.Contains(h, w)
			case filter.SW:
				return strings.HasPrefix(h, w)
			case filter.EW:
				return strings.HasSuffix(h, w)
			}
			return false
		})
	default:
		hn, ok1 := toFloat(have)
		wn, ok2 := toFloat(want)
		if !ok1 || !ok2 {
			return op == filter.NE
		}
		c := 0
		if hn < wn {
			c = -1
		} else if hn > wn {
			c = 1
		}
		return compareOrdered(op, c, func() bool { return false })
	}
}

func compareOrdered(op filter.CompareOperator, c int, other func() bool) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	default:
		return other()
	}
}

func toBool(v interface{}) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

func toFloat(v interface{}) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

// unescapeFilterString undoes JSON escapes: filter-parser strips the quotes of a string literal
// but leaves `\"` and `\\` as written.
func unescapeFilterString(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return s
	}
	return out
}

// equalities returns the element a value filter made only of "sub eq literal" terms joined by
// "and" describes, e.g. {"type": "work"} for emails[type eq "work"]; ok is false for any other
// filter. Literals are converted to the sub-attribute's type (Entra writes "True" for true).
func equalities(attr schema.CoreAttribute, expr filter.Expression) (map[string]interface{}, bool) {
	out := map[string]interface{}{}
	var walk func(filter.Expression) bool
	walk = func(expr filter.Expression) bool {
		switch e := expr.(type) {
		case *filter.LogicalExpression:
			return e.Operator == filter.AND && walk(e.Left) && walk(e.Right)
		case *filter.AttributeExpression:
			if e.Operator != filter.EQ || e.CompareValue == nil || e.AttributePath.SubAttribute != nil {
				return false
			}
			def, ok := subAttribute(attr, e.AttributePath.AttributeName)
			if !ok {
				return false
			}
			v, ok := literalFor(def, e.CompareValue)
			if !ok {
				return false
			}
			if prev, dup := out[def.Name()]; dup && prev != v {
				return false
			}
			out[def.Name()] = v
			return true
		default:
			return false
		}
	}
	if !attr.HasSubAttributes() || !walk(expr) {
		return nil, false
	}
	return out, true
}

func literalFor(def schema.CoreAttribute, v interface{}) (interface{}, bool) {
	if s, ok := v.(string); ok {
		v = unescapeFilterString(s)
	}
	switch def.AttributeType() {
	case "boolean":
		return toBool(v)
	case "string", "reference", "dateTime", "binary":
		s, ok := v.(string)
		return s, ok
	case "integer", "decimal":
		return toFloat(v)
	}
	return nil, false
}
