package policies

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions says what RunTests reports besides each test's outcome.
type TestOptions struct {
	// Verbose lists every test (and, with Coverage, the lines not covered),
	// not only the failures.
	Verbose bool
	// Coverage reports the line coverage of the policies (not of the tests).
	Coverage bool
	// Threshold, with Coverage, fails a run whose coverage is below it (in
	// percent); 0 never fails.
	Threshold float64
	// Format checks that every .rego file of the policies and the tests is
	// as `opa fmt` writes it.
	Format bool
}

// TestSummary is what a RunTests run counted.
type TestSummary struct {
	Passed, Failed, Errored, Skipped int
	// Coverage is the policies' line coverage in percent (with Coverage).
	Coverage float64
	// Unformatted names the .rego files `opa fmt` would change (with Format).
	Unformatted []string
}

// RunTests runs the Rego tests in opts.TestDir against the policies of
// opts.Dir (the embedded ones when empty), as `opa test --var-values` does,
// and writes the report to w: each failing test (every test with Verbose)
// under its file:line, the failing expression with the values of its
// variables, then the counts; with t.Coverage the coverage of each policy
// file, and with t.Format the files `opa fmt` would change. It returns an
// error wrapping ErrInvalidPolicy when the policies or tests do not load or
// compile, or ErrTestsFailed when no test ran, a test failed, the coverage is
// below t.Threshold, or a file is not formatted; the summary counts what ran.
func RunTests(ctx context.Context, opts Options, t TestOptions, w io.Writer) (TestSummary, error) {
	var sum TestSummary
	if opts.TestDir == "" {
		return sum, fmt.Errorf("%w: no test directory", ErrTestsFailed)
	}
	policies, err := opts.policySource()
	if err != nil {
		return sum, err
	}
	if _, err := os.Stat(opts.TestDir); err != nil {
		return sum, fmt.Errorf("%w: %w", ErrTestsFailed, err)
	}
	tests, err := readSource(os.DirFS(opts.TestDir), opts.TestDir, true)
	if err != nil {
		return sum, err
	}
	results, err := runTests(ctx, policies, tests, nil, true)
	if err != nil {
		return sum, err
	}
	for _, r := range results {
		switch {
		case r.Skip:
			sum.Skipped++
		case r.Error != nil:
			sum.Errored++
		case r.Fail:
			sum.Failed++
		default:
			sum.Passed++
		}
	}
	ch := make(chan *tester.Result, len(results))
	for _, r := range results {
		ch <- r
	}
	close(ch)
	report := tester.PrettyReporter{Output: w, Verbose: t.Verbose, FailureLine: true, LocalVars: true}
	if err := report.Report(ch); err != nil {
		return sum, fmt.Errorf("%w: report: %w", ErrTestsFailed, err)
	}
	var problems []string
	switch {
	case len(results) == 0:
		problems = append(problems, opts.TestDir+" holds no test_ rules")
	case sum.Failed+sum.Errored > 0:
		problems = append(problems, fmt.Sprintf("%d of %d tests failed", sum.Failed+sum.Errored, len(results)))
	}
	if t.Coverage {
		// OPA records coverage only in a run without traces: run again.
		cov := cover.New()
		if _, err := runTests(ctx, policies, tests, cov, false); err != nil {
			return sum, err
		}
		sum.Coverage = writeCoverage(w, cov, policies, t.Verbose)
		if sum.Coverage < t.Threshold {
			problems = append(problems, fmt.Sprintf("coverage %.1f%% is below the threshold %.1f%%", sum.Coverage, t.Threshold))
		}
	}
	if t.Format {
		policyFS, policyRoot := fs.FS(embedded), "policies"
		if opts.Dir != "" {
			policyFS, policyRoot = os.DirFS(opts.Dir), opts.Dir
		}
		for _, dir := range []struct {
			fsys fs.FS
			root string
		}{{policyFS, policyRoot}, {os.DirFS(opts.TestDir), opts.TestDir}} {
			bad, err := unformatted(dir.fsys, dir.root)
			if err != nil {
				return sum, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
			}
			sum.Unformatted = append(sum.Unformatted, bad...)
		}
		for _, f := range sum.Unformatted {
			fmt.Fprintf(w, "not formatted: %s (opa fmt -w %s)\n", f, f)
		}
		if n := len(sum.Unformatted); n > 0 {
			problems = append(problems, fmt.Sprintf("%d files are not formatted", n))
		}
	}
	if len(problems) > 0 {
		return sum, fmt.Errorf("%w: %s", ErrTestsFailed, strings.Join(problems, "; "))
	}
	return sum, nil
}

// writeCoverage writes the line coverage of each policy file (and with
// verbose the lines not covered) and returns the total, in percent.
func writeCoverage(w io.Writer, cov *cover.Cover, policies *source, verbose bool) float64 {
	report := cov.Report(policies.modules)
	names := make([]string, 0, len(policies.modules))
	for name := range policies.modules {
		names = append(names, name)
	}
	sort.Strings(names)
	var covered, notCovered int
	for _, name := range names {
		f := report.Files[name]
		if f == nil {
			fmt.Fprintf(w, "coverage %s: not run\n", name)
			continue
		}
		covered += f.CoveredLines
		notCovered += f.NotCoveredLines
		fmt.Fprintf(w, "coverage %s: %.1f%% (%d of %d lines)\n", name, f.Coverage, f.CoveredLines, f.CoveredLines+f.NotCoveredLines)
		if verbose {
			for _, r := range f.NotCovered {
				fmt.Fprintf(w, "  not covered: %s:%d-%d\n", name, r.Start.Row, r.End.Row)
			}
		}
	}
	total := 100 * float64(covered) / float64(max(covered+notCovered, 1))
	fmt.Fprintf(w, "coverage: %.1f%% of the policies' lines\n", total)
	return total
}

// unformatted lists the .rego files under fsys (named under root) that
// `opa fmt` would change.
func unformatted(fsys fs.FS, root string) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(root, "/") + "/" + p
		got, err := format.Source(name, src)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !bytes.Equal(got, src) {
			out = append(out, name)
		}
		return nil
	})
	return out, err
}
