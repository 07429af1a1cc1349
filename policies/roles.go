package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Level is where a role applies, and where a grant is made.
type Level string

// The levels.
const (
	LevelEnterprise Level = "enterprise"
	LevelAccount    Level = "account"
)

// Rule names the rule that decided an effective role.
type Rule string

// The rules of role resolution.
const (
	// RuleHighestScore: the role with the highest power score won outright.
	RuleHighestScore Rule = "highest_score"
	// RuleTieByName: several roles had the highest score; the alphabetically
	// first won.
	RuleTieByName Rule = "tie_by_name"
	// RuleSubAccountOverride: an explicit grant for the sub-account won over
	// the role inherited from enterprise level, even if lower.
	RuleSubAccountOverride Rule = "sub_account_override"
	// RuleInheritedEnterpriseAdmin: no explicit grant for the sub-account; the
	// enterprise role applies there.
	RuleInheritedEnterpriseAdmin Rule = "inherited_enterprise_admin"
	// RuleGroupManagerPenalty: the Group Manager penalty decided between
	// enterprise roles.
	RuleGroupManagerPenalty Rule = "group_manager_penalty"
)

// IgnoreReason says why a grant took no part in a decision.
type IgnoreReason string

// The reasons a grant is ignored.
const (
	IgnoredUnknownRole    IgnoreReason = "unknown_role"    // no built-in or custom role has that name
	IgnoredInvalidScope   IgnoreReason = "invalid_scope"   // scope is neither enterprise nor account
	IgnoredLevelMismatch  IgnoreReason = "level_mismatch"  // the role's level is not the grant's scope
	IgnoredUnknownAccount IgnoreReason = "unknown_account" // the sub-account is not the tenant's
)

// Role is a custom role of a tenant, as the tenant defined it.
type Role struct {
	Level        Level    `json:"level"`
	Permissions  []string `json:"permissions"`
	GroupManager bool     `json:"group_manager"`
}

// Grant maps a group to a role, at enterprise level or for one sub-account.
type Grant struct {
	Group   string `json:"group"`
	Scope   Level  `json:"scope"`
	Account string `json:"account,omitempty"` // the sub-account, for an account grant
	Role    string `json:"role"`
}

// RoleInput asks for a user's effective roles.
type RoleInput struct {
	Roles    map[string]Role // the tenant's custom roles, by name
	Accounts []string        // the tenant's sub-accounts
	Grants   []Grant         // every grant of every group the user belongs to
}

// Access is a user's effective roles: the decision, without its explanation.
type Access struct {
	// Enterprise is the role at enterprise level; nil without one.
	Enterprise *EffectiveRole `json:"enterprise"`
	// Accounts has an entry for each sub-account of the input; nil means no
	// access there.
	Accounts map[string]*EffectiveRole `json:"accounts"`
}

// EffectiveRole is the role that applies at one level and the rule that
// chose it.
type EffectiveRole struct {
	Role  string `json:"role"`
	Score int    `json:"score"` // power score
	Rule  Rule   `json:"rule"`
}

// Explanation is the access decision with, for each answer, the candidates it
// was chosen from, and the grants that took no part.
type Explanation struct {
	Enterprise *ExplainedRole            `json:"enterprise"`
	Accounts   map[string]*ExplainedRole `json:"accounts"`
	Ignored    []IgnoredGrant            `json:"ignored"`
}

// ExplainedRole is an effective role with the grants it was chosen from. For a
// sub-account these include the grants of an inherited enterprise role.
type ExplainedRole struct {
	EffectiveRole
	Candidates []Candidate `json:"candidates"`
}

// Candidate is one grant that took part in a decision, with its role's score.
type Candidate struct {
	Role    string `json:"role"`
	Score   int    `json:"score"`
	Group   string `json:"group"`
	Scope   Level  `json:"scope"`
	Account string `json:"account"` // empty for an enterprise grant
}

// IgnoredGrant is a grant that took no part in a decision.
type IgnoredGrant struct {
	Grant
	Reason IgnoreReason `json:"reason"`
}

// RoleScore is a role of the catalog with the power score the policies give it.
type RoleScore struct {
	Name         string   `json:"name"`
	Level        Level    `json:"level"`
	Permissions  []string `json:"permissions"`
	GroupManager bool     `json:"group_manager"`
	Builtin      bool     `json:"builtin"`
	Score        int      `json:"score"`
	// UnknownPermissions are permissions the matrix does not know; they weigh
	// nothing. The admin API can refuse a custom role that has some.
	UnknownPermissions []string `json:"unknown_permissions"`
}

// ResolveRoles returns the user's effective role at enterprise level and in
// every sub-account of in.Accounts, in one evaluation. Errors wrap ctx.Err(),
// ErrEval, ErrUndefined or ErrMultipleResults.
func (e *Engine) ResolveRoles(ctx context.Context, in RoleInput) (Access, error) {
	var out Access
	if err := e.roles(ctx, e.access, queryAccess, in, &out); err != nil {
		return Access{}, err
	}
	for _, a := range in.Accounts {
		if _, ok := out.Accounts[a]; !ok {
			return Access{}, fmt.Errorf("%w: %s: no answer for sub-account %q", ErrEval, queryAccess, a)
		}
	}
	return out, nil
}

// ExplainRoles returns what ResolveRoles returns, with the candidates of each
// answer and the ignored grants. It is a second query over the same rules,
// several times dearer: ask it on demand, not on every request. Errors wrap
// ctx.Err(), ErrEval, ErrUndefined or ErrMultipleResults.
func (e *Engine) ExplainRoles(ctx context.Context, in RoleInput) (Explanation, error) {
	var out Explanation
	if err := e.roles(ctx, e.explain, queryExplain, in, &out); err != nil {
		return Explanation{}, err
	}
	return out, nil
}

func (e *Engine) roles(ctx context.Context, q rego.PreparedEvalQuery, path string, in RoleInput, out any) error {
	v, err := eval(ctx, q, path, in.value())
	if err != nil {
		return err
	}
	return decode(v, path, out)
}

// RoleScores returns the built-in roles and the given custom roles with their
// power scores, highest first, then by name. Errors wrap ctx.Err(), ErrEval,
// ErrUndefined or ErrMultipleResults.
func (e *Engine) RoleScores(ctx context.Context, custom map[string]Role) ([]RoleScore, error) {
	input := ast.NewObject(ast.Item(ast.InternedTerm("roles"), rolesTerm(custom)))
	v, err := eval(ctx, e.scores, queryScores, input)
	if err != nil {
		return nil, err
	}
	var byName map[string]RoleScore
	if err := decode(v, queryScores, &byName); err != nil {
		return nil, err
	}
	out := make([]RoleScore, 0, len(byName))
	for name, rs := range byName {
		rs.Name = name
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// value builds the input document directly as an AST value, the cheapest
// input to evaluate (no conversion from Go values at each call). Role, account
// and scope names repeat across grants, so each gets one term.
func (in RoleInput) value() ast.Value {
	terms := make(map[string]*ast.Term, len(in.Accounts)+16)
	term := func(s string) *ast.Term {
		t, ok := terms[s]
		if !ok {
			t = ast.StringTerm(s)
			terms[s] = t
		}
		return t
	}
	accounts := make([]*ast.Term, len(in.Accounts))
	for i, a := range in.Accounts {
		accounts[i] = term(a)
	}
	grants := make([]*ast.Term, len(in.Grants))
	for i, g := range in.Grants {
		if g.Account == "" {
			grants[i] = ast.ObjectTerm(
				ast.Item(ast.InternedTerm("group"), ast.StringTerm(g.Group)),
				ast.Item(ast.InternedTerm("scope"), term(string(g.Scope))),
				ast.Item(ast.InternedTerm("role"), term(g.Role)),
			)
			continue
		}
		grants[i] = ast.ObjectTerm(
			ast.Item(ast.InternedTerm("group"), ast.StringTerm(g.Group)),
			ast.Item(ast.InternedTerm("scope"), term(string(g.Scope))),
			ast.Item(ast.InternedTerm("role"), term(g.Role)),
			ast.Item(ast.InternedTerm("account"), term(g.Account)),
		)
	}
	return ast.NewObject(
		ast.Item(ast.InternedTerm("roles"), rolesTerm(in.Roles)),
		ast.Item(ast.InternedTerm("accounts"), ast.ArrayTerm(accounts...)),
		ast.Item(ast.InternedTerm("grants"), ast.ArrayTerm(grants...)),
	)
}

func rolesTerm(roles map[string]Role) *ast.Term {
	obj := ast.NewObject()
	for name, r := range roles {
		perms := make([]*ast.Term, len(r.Permissions))
		for i, p := range r.Permissions {
			perms[i] = ast.StringTerm(p)
		}
		obj.Insert(ast.StringTerm(name), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("level"), ast.StringTerm(string(r.Level))),
			ast.Item(ast.InternedTerm("permissions"), ast.ArrayTerm(perms...)),
			ast.Item(ast.InternedTerm("group_manager"), ast.BooleanTerm(r.GroupManager)),
		))
	}
	return ast.NewTerm(obj)
}

// decode converts a decision into its typed struct, by way of JSON.
func decode(v any, path string, out any) error {
	bs, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrEval, path, err)
	}
	if err := json.Unmarshal(bs, out); err != nil {
		return fmt.Errorf("%w: %s: decision has the wrong shape: %w", ErrEval, path, err)
	}
	return nil
}
