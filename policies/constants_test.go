package policies

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

const constantsModule = `package p

table := {lower(x): x | some x in data.p.names}

schema := "urn:x"

from_input := input.a

reads_input_var := object.get(input, "a", 1)

via_function := _f(1)

_f(x) := x + input.b

via_rule := from_input

clock := time.now_ns()

mocked := t if {
	t := table with data.p.names as ["Z"]
}

chained := count(table)

set_rule contains x if some x in data.p.names

obj_rule[x] := 1 if some x in data.p.names

answer := {"table": table, "input": from_input, "mocked": mocked}
`

func compileConstantsModule(t *testing.T) *ast.Compiler {
	t.Helper()
	c := newCompiler(false)
	if c.Compile(map[string]*ast.Module{"p.rego": ast.MustParseModuleWithOpts(constantsModule, ast.ParserOptions{RegoVersion: ast.RegoV1})}); c.Failed() {
		t.Fatal(c.Errors)
	}
	return c
}

func TestFindConstants(t *testing.T) {
	k := findConstants(compileConstantsModule(t))
	var got []string
	for _, r := range k.refs {
		got = append(got, r.String())
	}
	want := []string{"data.p.chained", "data.p.schema", "data.p.table"}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("constant rules (-want +got):\n%s", diff)
	}
}

// TestConstantsServeLaterEvaluations: the second evaluation reads the table
// the first computed, never inside a `with` that replaces its data, and
// answers as without the cache.
func TestConstantsServeLaterEvaluations(t *testing.T) {
	c := compileConstantsModule(t)
	store := inmem.NewFromObject(map[string]any{"p": map[string]any{"names": []any{"A", "B"}}})
	q, err := rego.New(rego.Query("data.p.answer"), rego.Compiler(c), rego.Store(store)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{consts: findConstants(c), withConsts: map[string]bool{"data.p.answer": true}}
	input := ast.NewObject(ast.Item(ast.StringTerm("a"), ast.IntNumberTerm(1)))
	first, err := e.eval(context.Background(), q, "data.p.answer", input)
	if err != nil {
		t.Fatal(err)
	}
	table := e.consts.values[e.consts.index(ast.MustParseRef("data.p.table"))].Load()
	if table == nil {
		t.Fatal("data.p.table not remembered after an evaluation")
	}
	// A remembered value is what later evaluations read: replace it, and
	// the answer shows it (outside the with only).
	marked := ast.ObjectTerm(ast.Item(ast.StringTerm("m"), ast.StringTerm("M")))
	e.consts.values[e.consts.index(ast.MustParseRef("data.p.table"))].Store(marked)
	second, err := e.eval(context.Background(), q, "data.p.answer", input)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"table":  map[string]any{"m": "M"},
		"input":  any(ast.Number("1")),
		"mocked": map[string]any{"z": "Z"},
	}
	got, ok := second.(map[string]any)
	if !ok {
		t.Fatalf("answer %T", second)
	}
	if diff := cmp.Diff(want["table"], got["table"]); diff != "" {
		t.Errorf("table after the first evaluation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want["mocked"], got["mocked"]); diff != "" {
		t.Errorf("table inside with (-want +got):\n%s", diff)
	}
	firstMap := first.(map[string]any)
	if diff := cmp.Diff(map[string]any{"a": "A", "b": "B"}, firstMap["table"]); diff != "" {
		t.Errorf("first evaluation's table (-want +got):\n%s", diff)
	}
}

// TestConstantsLocks: the locks decision reads the SCIM-owned attribute
// table once per Engine, and the role decisions never use the cache.
func TestConstantsLocks(t *testing.T) {
	e := mustNew(t)
	if !e.withConsts[queryDecision] {
		t.Errorf("%s does not use the constant rules", queryDecision)
	}
	for _, q := range []string{queryAccess, queryExplain, queryScores, queryCatalog} {
		if e.withConsts[q] {
			t.Errorf("%s uses the constant rules, reads none", q)
		}
	}
	if _, err := e.CheckEdit(context.Background(), EditInput{Mode: ModeIDP, Action: ActionUpdate, ManagedBy: ManagedBySCIM, Attributes: []string{"emails"}}); err != nil {
		t.Fatal(err)
	}
	i := e.consts.index(ast.MustParseRef("data.locks._scim_owned"))
	if i < 0 || e.consts.values[i].Load() == nil {
		t.Errorf("data.locks._scim_owned not remembered (index %d)", i)
	}
}

// TestWriteEmbedded: the copy is the built-in policies, to the revision.
func TestWriteEmbedded(t *testing.T) {
	dir := t.TempDir()
	if err := WriteEmbedded(dir); err != nil {
		t.Fatal(err)
	}
	copied, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := copied.Revision(), mustNew(t).Revision(); got != want {
		t.Errorf("revision of the copy %s, of the built-in policies %s", got, want)
	}
}
