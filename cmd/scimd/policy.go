package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/scimd/scimd/policies"
)

// runPolicy serves policy authors: explain a decision over an input file, or
// run tests, against the built-in policies or an edited directory.
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "explain" && args[0] != "test") {
		fmt.Fprint(stderr, "scimd policy: explain or test\n")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("scimd policy "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("policy-dir", envOr("SCIMD_POLICY_DIR", ""), "directory of edited policies; empty uses the built-in ones")
	tests := fs.String("tests", "", "directory of Rego tests (test: required)")
	decisions := policies.Decisions()
	names := make([]string, 0, len(decisions))
	for n, d := range decisions {
		names = append(names, fmt.Sprintf("%s: %s", n, d))
	}
	sort.Strings(names)
	decision := fs.String("decision", "roles", fmt.Sprintf("the decision to explain: %v", names))
	input := fs.String("input", "", "JSON input file (explain), - for standard input")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if sub == "test" {
		if *tests == "" {
			fmt.Fprint(stderr, "scimd policy test: --tests is required\n")
			return 2
		}
		if err := policies.Verify(ctx, policies.Options{Dir: *dir, TestDir: *tests}); err != nil {
			fmt.Fprintf(stderr, "scimd policy test: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "PASS")
		return 0
	}
	if *input == "" {
		fmt.Fprint(stderr, "scimd policy explain: --input is required\n")
		return 2
	}
	var raw []byte
	var err error
	if *input == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(*input)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy explain: %v\n", err)
		return 1
	}
	engine, err := policies.New(policies.Options{Dir: *dir, TestDir: *tests})
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy explain: %v\n", err)
		return 1
	}
	out, err := engine.ExplainJSON(ctx, *decision, raw)
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy explain: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(out))
	return 0
}
