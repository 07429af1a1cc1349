package policies

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Verify runs the Rego tests in opts.TestDir (every .rego file under it,
// data.json files included) against the policies selected by opts.Dir, as
// `opa test` would, compiling both in strict mode; `scimd policy test` can
// call it. It returns an error wrapping ErrInvalidPolicy when the policies or
// tests do not load or compile, or ErrTestsFailed when opts.TestDir is empty
// or missing, holds no tests, or a test fails (every failing test is named).
func Verify(ctx context.Context, opts Options) error {
	testFS, label, ok := opts.testSource()
	if !ok {
		return fmt.Errorf("%w: no test directory", ErrTestsFailed)
	}
	policies, err := opts.policySource()
	if err != nil {
		return err
	}
	return verify(ctx, policies, testFS, label)
}

func verify(ctx context.Context, policies *source, testFS fs.FS, label string) error {
	if _, err := fs.Stat(testFS, "."); err != nil {
		return fmt.Errorf("%w: %w", ErrTestsFailed, err)
	}
	tests, err := readSource(testFS, label, true)
	if err != nil {
		return err
	}
	results, err := runTests(ctx, policies, tests, nil, false)
	if err != nil {
		return err
	}
	var failed []string
	for _, r := range results {
		if !r.Pass() && !r.Skip {
			failed = append(failed, describe(r))
		}
	}
	if len(results) == 0 {
		return fmt.Errorf("%w: %s holds no test_ rules", ErrTestsFailed, label)
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%w: %d of %d failed: %s", ErrTestsFailed, len(failed), len(results), strings.Join(failed, "; "))
	}
	return nil
}

// testTimeout bounds one Rego test. OPA's default, 5 s, failed scimd's
// start on a busy machine (two of 102 tests passed late under a load of 19
// on 2 cores with -race); a test that runs a minute loops, while the
// caller's context bounds the whole run.
const testTimeout = time.Minute

// runTests runs every test_ rule of policies and tests together, compiled in
// strict mode, and returns the results sorted by package and name. A non-nil
// tracer (a *cover.Cover) records coverage. With trace, each result keeps
// the trace that shows the failing expression and its variables' values.
func runTests(ctx context.Context, policies, tests *source, tracer topdown.QueryTracer, trace bool) ([]*tester.Result, error) {
	all, err := policies.union(tests)
	if err != nil {
		return nil, err
	}
	// Each test opens its own read transaction (a nil txn).
	ch, err := tester.NewRunner().
		SetTimeout(testTimeout).
		SetCompiler(newCompiler(true).WithRewriteTestRules(trace)).
		SetStore(inmem.NewFromObject(all.data)).
		SetModules(all.modules).
		SetCoverageQueryTracer(tracer).
		EnableTracing(trace).
		CapturePrintOutput(true).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].Package != results[j].Package {
			return results[i].Package < results[j].Package
		}
		return results[i].Name < results[j].Name
	})
	return results, nil
}

// describe names a failed test and says how it failed.
func describe(r *tester.Result) string {
	name := strings.TrimPrefix(r.Package, "data.") + "." + r.Name
	if r.Error != nil {
		return fmt.Sprintf("%s (error: %v)", name, r.Error)
	}
	return name + " (fail)"
}
