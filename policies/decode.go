package policies

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The role decisions are read straight from the AST terms the evaluation
// produced (see asTermOption), as encoding/json would read their JSON: a
// missing or null field is the zero value, an empty set an empty slice.
// Converting them to Go values and through JSON cost more than evaluating.

var (
	keyActive     = ast.StringTerm("active")
	keyCandidates = ast.StringTerm("candidates")
	keyIgnored    = ast.StringTerm("ignored")
	keyReason     = ast.StringTerm("reason")
)

// termOf is the term an evaluation with asTermOption answered.
func termOf(v any) (*ast.Term, error) {
	t, ok := v.(*ast.Term)
	if !ok {
		return nil, fmt.Errorf("%T is not a term", v)
	}
	return t, nil
}

// decodeAccess reads an answer of data.roles.access.
func decodeAccess(v any) (Access, error) {
	t, err := termOf(v)
	if err != nil {
		return Access{}, err
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Access{}, fmt.Errorf("%s is not an object", ast.ValueName(t.Value))
	}
	var out Access
	if out.Active, err = boolField(obj, keyActive); err != nil {
		return Access{}, err
	}
	if out.Enterprise, err = effectiveRole(obj.Get(keyEnterprise)); err != nil {
		return Access{}, fmt.Errorf("enterprise: %w", err)
	}
	out.Accounts, err = byAccount(obj.Get(keyAccounts), effectiveRole)
	return out, err
}

// decodeExplanation reads an answer of data.roles.explain.
func decodeExplanation(v any) (Explanation, error) {
	t, err := termOf(v)
	if err != nil {
		return Explanation{}, err
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Explanation{}, fmt.Errorf("%s is not an object", ast.ValueName(t.Value))
	}
	var out Explanation
	if out.Active, err = boolField(obj, keyActive); err != nil {
		return Explanation{}, err
	}
	if out.Enterprise, err = explainedRole(obj.Get(keyEnterprise)); err != nil {
		return Explanation{}, fmt.Errorf("enterprise: %w", err)
	}
	if out.Accounts, err = byAccount(obj.Get(keyAccounts), explainedRole); err != nil {
		return Explanation{}, err
	}
	out.Ignored, err = list(obj.Get(keyIgnored), func(o ast.Object) (g IgnoredGrant, err error) {
		if g.Grant, err = grant(o); err != nil {
			return g, err
		}
		reason, err := stringField(o, keyReason)
		g.Reason = IgnoreReason(reason)
		return g, err
	})
	if err != nil {
		return Explanation{}, fmt.Errorf("ignored: %w", err)
	}
	return out, nil
}

// byAccount reads an object of answers by sub-account.
func byAccount[T any](t *ast.Term, read func(*ast.Term) (*T, error)) (map[string]*T, error) {
	if isNull(t) {
		return nil, nil
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("accounts: %s is not an object", ast.ValueName(t.Value))
	}
	out := make(map[string]*T, obj.Len())
	err := obj.Iter(func(k, v *ast.Term) error {
		name, ok := k.Value.(ast.String)
		if !ok {
			return fmt.Errorf("accounts: key %v is not a string", k)
		}
		r, err := read(v)
		if err != nil {
			return fmt.Errorf("accounts[%s]: %w", name, err)
		}
		out[string(name)] = r
		return nil
	})
	return out, err
}

// effectiveRole reads null or {"role", "score", "rule"}.
func effectiveRole(t *ast.Term) (*EffectiveRole, error) {
	if isNull(t) {
		return nil, nil
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", ast.ValueName(t.Value))
	}
	var r EffectiveRole
	if err := readEffectiveRole(obj, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func readEffectiveRole(obj ast.Object, r *EffectiveRole) (err error) {
	if r.Role, err = stringField(obj, keyRole); err != nil {
		return err
	}
	if r.Score, err = intField(obj, keyScore); err != nil {
		return err
	}
	rule, err := stringField(obj, keyRule)
	r.Rule = Rule(rule)
	return err
}

// explainedRole reads null or an effective role with its candidates.
func explainedRole(t *ast.Term) (*ExplainedRole, error) {
	if isNull(t) {
		return nil, nil
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", ast.ValueName(t.Value))
	}
	var (
		r   ExplainedRole
		err error
	)
	if err = readEffectiveRole(obj, &r.EffectiveRole); err != nil {
		return nil, err
	}
	r.Candidates, err = list(obj.Get(keyCandidates), func(o ast.Object) (c Candidate, err error) {
		if c.Role, err = stringField(o, keyRole); err != nil {
			return c, err
		}
		if c.Score, err = intField(o, keyScore); err != nil {
			return c, err
		}
		if c.Group, err = stringField(o, keyGroup); err != nil {
			return c, err
		}
		scope, err := stringField(o, keyScope)
		c.Scope = Level(scope)
		if err != nil {
			return c, err
		}
		c.Account, err = stringField(o, keyAccount)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	return &r, nil
}

func grant(o ast.Object) (g Grant, err error) {
	if g.Group, err = stringField(o, keyGroup); err != nil {
		return g, err
	}
	scope, err := stringField(o, keyScope)
	g.Scope = Level(scope)
	if err != nil {
		return g, err
	}
	if g.Account, err = stringField(o, keyAccount); err != nil {
		return g, err
	}
	g.Role, err = stringField(o, keyRole)
	return g, err
}

// list reads an array or a set (in order) of objects; null is a nil slice.
func list[T any](t *ast.Term, read func(ast.Object) (T, error)) ([]T, error) {
	if isNull(t) {
		return nil, nil
	}
	var (
		out  []T
		each = func(e *ast.Term) error {
			o, ok := e.Value.(ast.Object)
			if !ok {
				return fmt.Errorf("%s is not an object", ast.ValueName(e.Value))
			}
			x, err := read(o)
			if err != nil {
				return err
			}
			out = append(out, x)
			return nil
		}
		err error
	)
	switch v := t.Value.(type) {
	case ast.Set:
		out = make([]T, 0, v.Len())
		err = v.Iter(each)
	case *ast.Array:
		out = make([]T, 0, v.Len())
		err = v.Iter(each)
	default:
		return nil, fmt.Errorf("%s is not an array", ast.ValueName(t.Value))
	}
	return out, err
}

func isNull(t *ast.Term) bool {
	if t == nil {
		return true
	}
	_, ok := t.Value.(ast.Null)
	return ok
}

// stringField reads a string field; missing or null is "".
func stringField(obj ast.Object, key *ast.Term) (string, error) {
	t := obj.Get(key)
	if isNull(t) {
		return "", nil
	}
	s, ok := t.Value.(ast.String)
	if !ok {
		return "", fmt.Errorf("%v: %s is not a string", key, ast.ValueName(t.Value))
	}
	return string(s), nil
}

// boolField reads a boolean field that must be there: a policy that does not
// say whether the user is active has not decided on it.
func boolField(obj ast.Object, key *ast.Term) (bool, error) {
	t := obj.Get(key)
	if t == nil {
		return false, fmt.Errorf("%v: missing", key)
	}
	b, ok := t.Value.(ast.Boolean)
	if !ok {
		return false, fmt.Errorf("%v: %s is not a boolean", key, ast.ValueName(t.Value))
	}
	return bool(b), nil
}

// intField reads an integer field; missing or null is 0.
func intField(obj ast.Object, key *ast.Term) (int, error) {
	t := obj.Get(key)
	if isNull(t) {
		return 0, nil
	}
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, fmt.Errorf("%v: %s is not a number", key, ast.ValueName(t.Value))
	}
	i, ok := n.Int()
	if !ok {
		return 0, fmt.Errorf("%v: %v is not an integer", key, n)
	}
	return i, nil
}
