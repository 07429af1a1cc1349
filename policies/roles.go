package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
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
	// RuleInheritedFullAccess: no explicit grant for the sub-account; the
	// user's best enterprise role that grants full access to all sub-accounts
	// applies there.
	RuleInheritedFullAccess Rule = "inherited_full_access"
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
	IgnoredInactiveUser   IgnoreReason = "inactive_user"   // the user is deactivated
)

// Role is a custom role of a tenant, as the tenant defined it.
type Role struct {
	Level        Level    `json:"level"`
	Permissions  []string `json:"permissions"`
	GroupManager bool     `json:"group_manager"`
	// FullAccess says whether an enterprise role grants full access to all
	// sub-accounts; nil leaves it to the policy's default (roles stored
	// before they said it).
	FullAccess *bool `json:"full_access,omitempty"`
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
	// Inactive is true for a deactivated user (input.active false); what
	// such a user gets is the policy's decision.
	Inactive bool
}

// Access is a user's effective roles: the decision, without its explanation.
type Access struct {
	// Active repeats whether the user is active (the policy grants a
	// deactivated user no role).
	Active bool `json:"active"`
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
	Active     bool                      `json:"active"`
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
	// FullAccess: the role grants full access to all sub-accounts.
	FullAccess bool `json:"full_access"`
	Builtin    bool `json:"builtin"`
	Score      int  `json:"score"`
	// UnknownPermissions are permissions the matrix does not know; they weigh
	// nothing. The admin API can refuse a custom role that has some.
	UnknownPermissions []string `json:"unknown_permissions"`
}

// ResolveRoles returns the user's effective role at enterprise level and in
// every sub-account of in.Accounts, in one evaluation. Errors wrap ctx.Err(),
// ErrEval, ErrUndefined or ErrMultipleResults.
//
// The first call for a set of custom roles asks data.roles.catalog to score
// them, and the Engine remembers the answer (see catalogs): later calls with
// the same roles only resolve.
func (e *Engine) ResolveRoles(ctx context.Context, in RoleInput) (Access, error) {
	input, err := e.roleInput(ctx, in, false)
	if err != nil {
		return Access{}, err
	}
	v, err := e.evalWith(ctx, e.access, queryAccess, input, asTermOption)
	if err != nil {
		return Access{}, err
	}
	out, err := decodeAccess(v)
	if err != nil {
		return Access{}, fmt.Errorf("%w: %s: decision has the wrong shape: %w", ErrEval, queryAccess, err)
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
	input, err := e.roleInput(ctx, in, true)
	if err != nil {
		return Explanation{}, err
	}
	v, err := e.evalWith(ctx, e.explain, queryExplain, input, asTermOption)
	if err != nil {
		return Explanation{}, err
	}
	out, err := decodeExplanation(v)
	if err != nil {
		return Explanation{}, fmt.Errorf("%w: %s: decision has the wrong shape: %w", ErrEval, queryExplain, err)
	}
	return out, nil
}

// roleInput is the input of the role decisions, with the scored catalog of
// in.Roles.
func (e *Engine) roleInput(ctx context.Context, in RoleInput, withGrants bool) (ast.Value, error) {
	catalog, err := e.catalog(ctx, in.Roles)
	if err != nil {
		return nil, err
	}
	return in.value(catalog, withGrants), nil
}

// RoleScores returns the built-in roles and the given custom roles with their
// power scores, highest first, then by name. Errors wrap ctx.Err(), ErrEval,
// ErrUndefined or ErrMultipleResults.
func (e *Engine) RoleScores(ctx context.Context, custom map[string]Role) ([]RoleScore, error) {
	input := ast.NewObject(ast.Item(ast.InternedTerm("roles"), rolesTerm(custom)))
	v, err := e.eval(ctx, e.scores, queryScores, input)
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

// The keys of the role input, built once.
var (
	keyRoles      = ast.StringTerm("roles")
	keyCatalog    = ast.StringTerm("catalog")
	keyAccounts   = ast.StringTerm("accounts")
	keyGrants     = ast.StringTerm("grants")
	keyGranted    = ast.StringTerm("granted")
	keyEnterprise = ast.StringTerm("enterprise")
	keyAccount    = ast.StringTerm("account")
	keyGroup      = ast.StringTerm("group")
	keyScope      = ast.StringTerm("scope")
	keyRole       = ast.StringTerm("role")
	keyScore      = ast.StringTerm("score")
	keyRule       = ast.StringTerm("rule")
)

// value builds the input document directly as an AST value, the cheapest
// input to evaluate (no conversion from Go values at each call). Role, account
// and scope names repeat across grants, so each gets one term.
//
// With catalog (the answer of data.roles.catalog for in.Roles) it passes
// input.catalog instead of input.roles. For the explanation (withGrants) it
// passes the grants; for the decision alone, input.granted instead: the names
// of the roles granted at enterprise level and in each sub-account, each once
// and in order. That is reshaping only, the gathering data.roles would
// otherwise do itself on every request; which of those roles count, and which
// wins, is still the policy's decision.
func (in RoleInput) value(catalog *roleCatalog, withGrants bool) ast.Value {
	var roles [2]*ast.Term
	if catalog != nil {
		roles = ast.Item(keyCatalog, catalog.term)
	} else {
		roles = ast.Item(keyRoles, rolesTerm(in.Roles))
	}
	t := interner{catalog: catalog, terms: make(map[string]*ast.Term, len(in.Accounts)+4)}
	accounts := make([]*ast.Term, len(in.Accounts))
	for i, a := range in.Accounts {
		accounts[i] = t.term(a)
	}
	active := ast.Item(keyActive, ast.BooleanTerm(!in.Inactive))
	if withGrants {
		return ast.NewObject(roles, active,
			ast.Item(keyAccounts, ast.ArrayTerm(accounts...)),
			ast.Item(keyGrants, in.grants(&t)),
		)
	}
	return ast.NewObject(roles, active,
		ast.Item(keyAccounts, ast.ArrayTerm(accounts...)),
		ast.Item(keyGranted, in.granted(&t)),
	)
}

// interner hands out one term per name: the catalog's for the role names it
// knows, else one made on first use.
type interner struct {
	catalog *roleCatalog
	terms   map[string]*ast.Term
}

func (t *interner) term(s string) *ast.Term {
	if t.catalog != nil {
		if term, ok := t.catalog.names[s]; ok {
			return term
		}
	}
	term, ok := t.terms[s]
	if !ok {
		term = ast.StringTerm(s)
		t.terms[s] = term
	}
	return term
}

func (in RoleInput) grants(t *interner) *ast.Term {
	grants := make([]*ast.Term, len(in.Grants))
	for i, g := range in.Grants {
		items := [][2]*ast.Term{
			ast.Item(keyGroup, ast.StringTerm(g.Group)),
			ast.Item(keyScope, t.term(string(g.Scope))),
			ast.Item(keyRole, t.term(g.Role)),
		}
		if g.Account != "" {
			items = append(items, ast.Item(keyAccount, t.term(g.Account)))
		}
		grants[i] = ast.ObjectTerm(items...)
	}
	return ast.ArrayTerm(grants...)
}

// granted gathers the role names of the grants, as data.roles gathers them
// when input.granted is missing: those of the grants of scope enterprise, and
// by sub-account those of the grants of scope account that name one.
func (in RoleInput) granted(t *interner) *ast.Term {
	// First the sub-accounts and how many grants name each, so that their
	// role names can share one allocation.
	index := make(map[*ast.Term]int, len(in.Accounts))
	counts := make([]int, 0, len(in.Accounts))
	for _, g := range in.Grants {
		if g.Scope != LevelAccount || g.Account == "" {
			continue
		}
		a := t.term(g.Account)
		i, ok := index[a]
		if !ok {
			i = len(counts)
			index[a] = i
			counts = append(counts, 0)
		}
		counts[i]++
	}
	backing := make([]*ast.Term, len(in.Grants))
	byAccount := make([][]*ast.Term, len(counts))
	for i, n := range counts {
		byAccount[i], backing = backing[:0:n], backing[n:]
	}
	enterprise := backing[:0]
	for _, g := range in.Grants {
		switch {
		case g.Scope == LevelEnterprise:
			enterprise = addOnce(enterprise, t.term(g.Role))
		case g.Scope == LevelAccount && g.Account != "":
			i := index[t.term(g.Account)]
			byAccount[i] = addOnce(byAccount[i], t.term(g.Role))
		}
	}
	accounts := make([][2]*ast.Term, 0, len(counts))
	for a, i := range index {
		accounts = append(accounts, ast.Item(a, sortedArray(byAccount[i])))
	}
	return ast.ObjectTerm(
		ast.Item(keyEnterprise, sortedArray(enterprise)),
		ast.Item(keyAccount, ast.ObjectTerm(accounts...)),
	)
}

// addOnce appends an interned term unless names holds it already.
func addOnce(names []*ast.Term, t *ast.Term) []*ast.Term {
	if slices.Contains(names, t) {
		return names
	}
	return append(names, t)
}

// sortedArray is an array of string terms in order, so that equal sets of
// names are equal arrays.
func sortedArray(names []*ast.Term) *ast.Term {
	slices.SortFunc(names, func(a, b *ast.Term) int {
		return strings.Compare(string(a.Value.(ast.String)), string(b.Value.(ast.String)))
	})
	return ast.ArrayTerm(names...)
}

func rolesTerm(roles map[string]Role) *ast.Term {
	obj := ast.NewObject()
	for name, r := range roles {
		perms := make([]*ast.Term, len(r.Permissions))
		for i, p := range r.Permissions {
			perms[i] = ast.StringTerm(p)
		}
		items := [][2]*ast.Term{
			ast.Item(ast.InternedTerm("level"), ast.StringTerm(string(r.Level))),
			ast.Item(ast.InternedTerm("permissions"), ast.ArrayTerm(perms...)),
			ast.Item(ast.InternedTerm("group_manager"), ast.BooleanTerm(r.GroupManager)),
		}
		if r.FullAccess != nil {
			items = append(items, ast.Item(ast.InternedTerm("full_access"), ast.BooleanTerm(*r.FullAccess)))
		}
		obj.Insert(ast.StringTerm(name), ast.ObjectTerm(items...))
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
