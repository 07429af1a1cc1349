package policies

import (
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// constants remembers, across evaluations, the values of the rules whose
// value depends on data alone, such as the locks policy's table of
// SCIM-owned attributes. OPA computes a rule once per evaluation and forgets
// it; data does not change under an Engine, so such a rule has the same value
// in every evaluation, and computing it again each time cost more than the
// decision itself. The value is still the policy's: the first evaluation that
// needs it computes it, the later ones read it.
type constants struct {
	refs   []ast.Ref                  // the rules, by their paths
	values []atomic.Pointer[ast.Term] // by index of refs; nil until computed
}

// findConstants returns the complete rules of the compiled policies (no
// arguments, no key, a ground path) that read neither input, nor a rule or
// function that does, nor a non-deterministic built-in, and use no `with`.
func findConstants(c *ast.Compiler) *constants {
	a := constAnalysis{compiler: c, state: map[*ast.Rule]int{}}
	k := &constants{}
	seen := map[string]bool{}
	for _, m := range c.Modules {
		for _, r := range m.Rules {
			if r.Head.Key != nil || len(r.Head.Args) > 0 || r.Head.Value == nil || !r.Head.Ref().IsGround() {
				continue
			}
			path := r.Ref()
			if seen[path.String()] {
				continue
			}
			seen[path.String()] = true
			rules := c.GetRules(path)
			constant := len(rules) > 0
			for _, rule := range rules {
				if len(rule.Head.Args) > 0 || rule.Head.Key != nil || !a.constant(rule) {
					constant = false
					break
				}
			}
			if constant {
				k.refs = append(k.refs, path)
			}
		}
	}
	k.values = make([]atomic.Pointer[ast.Term], len(k.refs))
	return k
}

type constAnalysis struct {
	compiler *ast.Compiler
	state    map[*ast.Rule]int // 1 visiting, 2 constant, 3 not
}

// constant: the rule (its else branches included) depends on data alone. A
// rule that depends on itself through others is taken as not constant.
func (a constAnalysis) constant(r *ast.Rule) bool {
	switch a.state[r] {
	case 1, 3:
		return false
	case 2:
		return true
	}
	a.state[r] = 1
	ok := true
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if len(e.With) > 0 {
			ok = false
		}
		return !ok
	})
	ast.WalkTerms(r, func(t *ast.Term) bool {
		if !ok {
			return true
		}
		switch v := t.Value.(type) {
		case ast.Var:
			if v.Equal(ast.InputRootDocument.Value) {
				ok = false
			}
		case ast.Ref:
			switch {
			case v.HasPrefix(ast.InputRootRef):
				ok = false
			case v.HasPrefix(ast.DefaultRootRef):
				for _, dep := range a.compiler.GetRulesDynamicWithOpts(v, ast.RulesOptions{}) {
					if !a.constant(dep) {
						ok = false
						break
					}
				}
			default:
				if b, found := ast.BuiltinMap[v.String()]; found && b.Nondeterministic {
					ok = false
				}
			}
		}
		return !ok
	})
	if ok {
		a.state[r] = 2
	} else {
		a.state[r] = 3
	}
	return ok
}

// reaches reports whether evaluating query may evaluate one of the constant
// rules: the evaluations of other queries skip the cache.
func (k *constants) reaches(c *ast.Compiler, query ast.Ref) bool {
	seen := map[*ast.Rule]bool{}
	var visit func(ref ast.Ref) bool
	visit = func(ref ast.Ref) bool {
		for _, r := range c.GetRulesDynamicWithOpts(ref, ast.RulesOptions{}) {
			if seen[r] {
				continue
			}
			seen[r] = true
			if k.index(r.Ref()) >= 0 {
				return true
			}
			found := false
			ast.WalkRefs(r, func(dep ast.Ref) bool {
				if !found && dep.HasPrefix(ast.DefaultRootRef) {
					found = visit(dep)
				}
				return found
			})
			if found {
				return true
			}
		}
		return false
	}
	return len(k.refs) > 0 && visit(query)
}

func (k *constants) index(ref ast.Ref) int {
	for i, r := range k.refs {
		if len(r) == len(ref) && r.Equal(ref) {
			return i
		}
	}
	return -1
}

// cache returns the virtual cache for one evaluation: the evaluation's own,
// which answers the constant rules from k once known. Call commit after the
// evaluation succeeded, so that a value is only remembered from an
// evaluation that finished.
func (k *constants) cache() *constCache {
	return &constCache{VirtualCache: topdown.NewVirtualCache(), k: k}
}

// constCache is a topdown.VirtualCache for one evaluation.
type constCache struct {
	topdown.VirtualCache
	k *constants
	// depth counts the frames pushed by `with`: inside one, data may be
	// replaced, so the remembered values do not apply.
	depth int
	fresh []int // the constant rules this evaluation computed
}

func (v *constCache) Push() { v.depth++; v.VirtualCache.Push() }
func (v *constCache) Pop()  { v.depth--; v.VirtualCache.Pop() }

func (v *constCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if v.depth == 0 {
		if i := v.k.index(ref); i >= 0 {
			if t := v.k.values[i].Load(); t != nil {
				return t, false
			}
		}
	}
	return v.VirtualCache.Get(ref)
}

func (v *constCache) Put(ref ast.Ref, value *ast.Term) {
	v.VirtualCache.Put(ref, value)
	if v.depth == 0 && value != nil {
		if i := v.k.index(ref); i >= 0 {
			v.fresh = append(v.fresh, i)
		}
	}
}

// commit remembers the constant rules the evaluation computed.
func (v *constCache) commit() {
	for _, i := range v.fresh {
		if t, _ := v.VirtualCache.Get(v.k.refs[i]); t != nil {
			v.k.values[i].CompareAndSwap(nil, t)
		}
	}
}
