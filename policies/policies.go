// Package policies asks scimd's decisions of Rego: a user's effective role in
// each sub-account (package roles), the power scores of roles (roles.scores)
// and whether a manual change to a user is allowed (package locks). The rules
// live in the .rego files beside this one, never in Go; this package only
// shapes inputs and decodes decisions.
//
// The policies and their data are embedded. An operator can replace them with
// a directory of the same layout (Options.Dir): each folder holds a package
// whose path matches the folder, and a folder's data.json appears in the data
// document under the folder's path (roles/data.json is data.roles), which is
// what `opa test policies policytests` gives too.
//
// New compiles the policies once, in strict mode, and prepares one query per
// decision. An Engine is safe for concurrent use.
package policies

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

//go:embed roles/*.rego roles/*.json locks/*.rego locks/*.json
var embedded embed.FS

// The decisions the engine asks, by query path.
const (
	queryAccess   = "data.roles.access"
	queryExplain  = "data.roles.explain"
	queryScores   = "data.roles.scores"
	queryCatalog  = "data.roles.catalog"
	queryDecision = "data.locks.decision"
)

// Errors returned by this package. Evaluation failures that come from the
// caller's context wrap ctx.Err() instead.
var (
	// ErrInvalidPolicy: the policies or their data do not load, do not compile
	// in strict mode, lack an entrypoint, or answer a smoke query wrongly.
	ErrInvalidPolicy = errors.New("policies: invalid policy")
	// ErrTestsFailed: a policy test failed or could not run.
	ErrTestsFailed = errors.New("policies: policy tests failed")
	// ErrUndefined: a decision was undefined (a policy bug, never read as "no").
	ErrUndefined = errors.New("policies: decision undefined")
	// ErrMultipleResults: a decision had more than one result.
	ErrMultipleResults = errors.New("policies: decision has several results")
	// ErrEval: evaluating a decision failed, or its result has the wrong shape.
	ErrEval = errors.New("policies: evaluation failed")
	// ErrUnknownDecision: ExplainJSON was asked for a decision it does not know.
	ErrUnknownDecision = errors.New("policies: unknown decision")
)

// Options selects the policies an Engine runs.
type Options struct {
	// Dir is a directory of .rego and data.json files laid out like the
	// embedded policies. Empty means the embedded policies. Files named
	// *_test.rego are not loaded into the engine.
	Dir string
	// TestDir, when set, is a directory of Rego tests that New runs against
	// the policies before accepting them (see Verify).
	TestDir string
	// FS, when set, replaces Dir: policy files held in memory (the
	// operator's policy diff), laid out as Dir. Errors and positions name
	// its files "policies/<path>".
	FS fs.FS
	// TestFS, when set, replaces TestDir, as FS replaces Dir; its files
	// are named "tests/<path>".
	TestFS fs.FS
}

// The labels of FS and TestFS files in errors and positions.
const (
	fsLabel     = "policies"
	testFSLabel = "tests"
)

// Engine holds the compiled policies and one prepared query per decision.
type Engine struct {
	revision string
	catalogs *catalogs
	consts   *constants
	// withConsts: the query paths whose evaluation may read a constant rule.
	withConsts map[string]bool
	access     rego.PreparedEvalQuery
	explain    rego.PreparedEvalQuery
	scores     rego.PreparedEvalQuery
	catalogQ   rego.PreparedEvalQuery
	decision   rego.PreparedEvalQuery
}

// New loads, compiles (strict) and prepares the policies selected by opts. With
// opts.TestDir it first runs those tests, and refuses policies that fail them.
// It returns an error wrapping ErrInvalidPolicy or ErrTestsFailed, naming the
// file, rule or test at fault.
func New(opts Options) (*Engine, error) {
	return NewContext(context.Background(), opts)
}

// NewContext is New, bounded by ctx: the tests, the preparation and the
// smoke queries stop when it is done (then the error wraps ctx.Err()).
func NewContext(ctx context.Context, opts Options) (*Engine, error) {
	policies, err := opts.policySource()
	if err != nil {
		return nil, err
	}
	if tests, label, ok := opts.testSource(); ok {
		if err := verify(ctx, policies, tests, label); err != nil {
			return nil, err
		}
	}
	if err := policies.checkFullAccess(); err != nil {
		return nil, err
	}
	compiler, err := compile(policies.modules, false)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromObjectWithOpts(policies.data, inmem.OptReturnASTValuesOnRead(true))
	e := &Engine{revision: policies.revision(), catalogs: newCatalogs(), consts: findConstants(compiler), withConsts: map[string]bool{}}
	for _, q := range []struct {
		path string
		into *rego.PreparedEvalQuery
	}{
		{queryAccess, &e.access},
		{queryExplain, &e.explain},
		{queryScores, &e.scores},
		{queryCatalog, &e.catalogQ},
		{queryDecision, &e.decision},
	} {
		e.withConsts[q.path] = e.consts.reaches(compiler, ast.MustParseRef(q.path))
		if len(compiler.GetRules(ast.MustParseRef(q.path))) == 0 {
			return nil, fmt.Errorf("%w: %s: no rule defines %s", ErrInvalidPolicy, policies.label, q.path)
		}
		*q.into, err = rego.New(
			rego.Query(q.path),
			rego.Compiler(compiler),
			rego.Store(store),
			rego.Strict(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: prepare %s: %w", ErrInvalidPolicy, policies.label, q.path, err)
		}
	}
	if err := e.smoke(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, policies.label, err)
	}
	return e, nil
}

var noMetrics = metrics.NoOp()

// asTermOption has an evaluation hand its answer back as the AST term it
// produced, for the callers that read it without converting it to Go values
// first.
var asTermOption = rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil })

// Revision identifies the policies and data the engine runs: a digest of their
// files. Cache decisions by it (with the user's group set), never by guesswork.
func (e *Engine) Revision() string { return e.revision }

// smoke asks every decision once, so that a policy answering in the wrong
// shape fails the start rather than the first request.
func (e *Engine) smoke(ctx context.Context) error {
	if _, err := e.RoleScores(ctx, nil); err != nil {
		return err
	}
	in := RoleInput{Accounts: []string{"smoke"}}
	if _, err := e.ResolveRoles(ctx, in); err != nil {
		return err
	}
	if _, err := e.ExplainRoles(ctx, in); err != nil {
		return err
	}
	if err := e.smokePrepared(ctx); err != nil {
		return err
	}
	_, err := e.CheckEdit(ctx, EditInput{Mode: ModeIDP, Action: ActionUpdate, ManagedBy: ManagedBySCIM})
	return err
}

// smokePrepared checks that the policies decide on the input the engine
// prepares (input.catalog and input.granted, see README.md) what they decide
// on the documented input (input.roles and input.grants): policies written
// before the prepared input would otherwise answer as if nobody had a role.
func (e *Engine) smokePrepared(ctx context.Context) error {
	in := RoleInput{
		Roles:    map[string]Role{"Smoke Tester": {Level: LevelAccount, Permissions: []string{"view_reports", "view_content"}}},
		Accounts: []string{"news", "sports", "weather"},
		Grants: []Grant{
			{Group: "a", Scope: LevelEnterprise, Role: "Enterprise Admin"},
			{Group: "b", Scope: LevelAccount, Account: "news", Role: "Smoke Tester"},
			{Group: "c", Scope: LevelAccount, Account: "news", Role: "Viewer"},
			{Group: "d", Scope: LevelAccount, Account: "sports", Role: "Editor"},
		},
	}
	prepared, err := e.ResolveRoles(ctx, in)
	if err != nil {
		return err
	}
	v, err := e.eval(ctx, e.access, queryAccess, in.value(nil, true))
	if err != nil {
		return err
	}
	var plain Access
	if err := decode(v, queryAccess, &plain); err != nil {
		return err
	}
	if !reflect.DeepEqual(prepared, plain) {
		return fmt.Errorf("%s decides on input.catalog and input.granted otherwise than on input.roles and input.grants", queryAccess)
	}
	// The policy reads full_access: a custom enterprise role is inherited by
	// the sub-accounts when it says so, and only then.
	for _, full := range []bool{false, true} {
		in := RoleInput{
			Roles:    map[string]Role{"Smoke Chief": {Level: LevelEnterprise, Permissions: []string{"view_reports"}, FullAccess: &full}},
			Accounts: []string{"news"},
			Grants:   []Grant{{Group: "a", Scope: LevelEnterprise, Role: "Smoke Chief"}},
		}
		got, err := e.ResolveRoles(ctx, in)
		if err != nil {
			return err
		}
		if inherited := got.Accounts["news"] != nil; inherited != full {
			return fmt.Errorf("%s ignores full_access: a custom enterprise role with full_access %v is inherited by the sub-accounts: %v (see policies/README.md)", queryAccess, full, inherited)
		}
	}
	// The policy reads input.active: it says back whether the user is active.
	for _, inactive := range []bool{false, true} {
		in := in
		in.Inactive = inactive
		got, err := e.ResolveRoles(ctx, in)
		if err != nil {
			return err
		}
		if got.Active == inactive {
			return fmt.Errorf("%s answers active %v for a user whose input.active is %v", queryAccess, got.Active, !inactive)
		}
	}
	return nil
}

func (o Options) policySource() (*source, error) {
	if o.FS != nil {
		return readSource(o.FS, fsLabel, false)
	}
	if o.Dir == "" {
		return readSource(embedded, "policies", false)
	}
	if _, err := os.Stat(o.Dir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	return readSource(os.DirFS(o.Dir), o.Dir, false)
}

// testSource is the tests' file system and label, if any.
func (o Options) testSource() (fs.FS, string, bool) {
	switch {
	case o.TestFS != nil:
		return o.TestFS, testFSLabel, true
	case o.TestDir != "":
		return os.DirFS(o.TestDir), o.TestDir, true
	}
	return nil, "", false
}

// compile compiles modules in strict mode. forTests leaves print() calls in.
func compile(modules map[string]*ast.Module, forTests bool) (*ast.Compiler, error) {
	c := newCompiler(forTests)
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, c.Errors)
	}
	return c, nil
}

func newCompiler(forTests bool) *ast.Compiler {
	return ast.NewCompiler().
		WithStrict(true).
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(forTests)
}

// eval runs a prepared query and returns its single value.
func (e *Engine) eval(ctx context.Context, q rego.PreparedEvalQuery, path string, input ast.Value) (any, error) {
	return e.evalWith(ctx, q, path, input)
}

// evalWith is eval with more evaluation options.
//
// Each evaluation would start a goroutine to cancel it when ctx is done, and
// collect metrics nobody reads; a callback registered with context.AfterFunc
// cancels it instead, at no cost until ctx is done. The rules that depend on
// data alone are computed once per Engine, not once per evaluation (see
// constants).
func (e *Engine) evalWith(ctx context.Context, q rego.PreparedEvalQuery, path string, input ast.Value, opts ...rego.EvalOption) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policies: %s: %w", path, err)
	}
	cancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, cancel.Cancel)
	defer stop()
	opts = append(opts,
		rego.EvalParsedInput(input),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(noMetrics),
	)
	var vc *constCache
	if e.withConsts[path] {
		vc = e.consts.cache()
		opts = append(opts, rego.EvalVirtualCache(vc))
	}
	rs, err := q.Eval(ctx, opts...)
	if err == nil && vc != nil {
		vc.commit()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("policies: %s: %w", path, ctxErr)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrEval, path, err)
	}
	switch {
	case len(rs) == 0:
		return nil, fmt.Errorf("%w: %s", ErrUndefined, path)
	case len(rs) > 1 || len(rs[0].Expressions) != 1:
		return nil, fmt.Errorf("%w: %s", ErrMultipleResults, path)
	}
	return rs[0].Expressions[0].Value, nil
}

// EmbeddedFiles returns the built-in policies and their data by path, as
// Options.Dir lays them out (roles/roles.rego, roles/data.json), the start
// of an edited set for the operator's policy diff. Returns fs errors.
func EmbeddedFiles() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		bs, err := fs.ReadFile(embedded, p)
		out[p] = string(bs)
		return err
	})
	return out, err
}
