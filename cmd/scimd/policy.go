package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/scimd/scimd/policies"
)

// policySubcommands are `scimd policy`'s, as help lists them.
var policySubcommands = []subcommand{
	{"explain", "explain a live user's roles (--tenant, --user), or a decision over a JSON input (--input)"},
	{"diff", "whose roles edited policies would change in a tenant, grouped by change; changes nothing"},
	{"test", "run Rego tests against the policies"},
}

// runPolicy serves policy authors: explain a decision over an input file, or
// run tests, against the built-in policies or an edited directory.
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stderr, subUsage("policy", policySubcommands))
		return 2
	case isHelp(args[0]):
		fmt.Fprint(stdout, subUsage("policy", policySubcommands))
		return 0
	case args[0] == "diff":
		return runPolicyDiff(ctx, args[1:], stdout, stderr)
	case args[0] != "explain" && args[0] != "test":
		fmt.Fprintf(stderr, "scimd policy: unknown subcommand %q\n\n%s", args[0], subUsage("policy", policySubcommands))
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("scimd policy "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: scimd policy %s [flags]\n\nFlags:\n", sub)
		fs.PrintDefaults()
	}
	fs.String("policy-dir", "", "directory of edited policies; empty uses the built-in ones (env SCIMD_POLICY_DIR)")
	tests := fs.String("tests", "", "directory of Rego tests (test: required)")
	decisions := policies.Decisions()
	names := make([]string, 0, len(decisions))
	for n, d := range decisions {
		names = append(names, fmt.Sprintf("%s: %s", n, d))
	}
	sort.Strings(names)
	var decision, input, tenant, user *string
	if sub == "explain" {
		decision = fs.String("decision", "roles", fmt.Sprintf("the decision to explain over --input: %v", names))
		input = fs.String("input", "", "JSON input file, - for standard input")
		tenant = fs.String("tenant", "", "with --user: the tenant of a live user whose roles to explain (reads Redis)")
		user = fs.String("user", "", "with --tenant: the id of the user")
		// No environment value as a default: usage text would show its password.
		fs.String("redis-url", "", "with --tenant: URL of the Redis the server uses (env SCIMD_REDIS_URL)")
	}
	var topts policies.TestOptions
	if sub == "test" {
		fs.BoolVar(&topts.Verbose, "v", false, "list every test, not only the failures (with --coverage, the lines not covered too)")
		fs.BoolVar(&topts.Coverage, "coverage", false, "report the line coverage of the policies")
		fs.Float64Var(&topts.Threshold, "threshold", 0, "with --coverage: fail below this coverage, in percent")
		fs.BoolVar(&topts.Format, "fmt", false, "fail when a .rego file of the policies or the tests is not as opa fmt writes it")
	}
	if code := parseFlags(fs, args[1:]); code >= 0 {
		return code
	}
	dir := fromEnv(fs, "policy-dir", "SCIMD_POLICY_DIR")
	if sub == "test" {
		if *tests == "" {
			fmt.Fprint(stderr, "scimd policy test: --tests is required\n")
			return 2
		}
		if topts.Threshold < 0 || topts.Threshold > 100 {
			fmt.Fprint(stderr, "scimd policy test: --threshold is a percentage, 0 to 100\n")
			return 2
		}
		if topts.Threshold > 0 {
			topts.Coverage = true
		}
		if _, err := policies.RunTests(ctx, policies.Options{Dir: dir, TestDir: *tests}, topts, stdout); err != nil {
			fmt.Fprintf(stderr, "scimd policy test: %v\n", err)
			return 1
		}
		return 0
	}
	if *tenant != "" || *user != "" {
		if *input != "" || *tenant == "" || *user == "" {
			fmt.Fprint(stderr, "scimd policy explain: give --tenant and --user (a live user), or --input (a hand-written input)\n")
			return 2
		}
		return explainUser(ctx, dir, *tests, *tenant, *user, fromEnv(fs, "redis-url", "SCIMD_REDIS_URL"), stdout, stderr)
	}
	if *input == "" {
		fmt.Fprint(stderr, "scimd policy explain: --input, or --tenant and --user, is required\n")
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
	engine, err := policies.New(policies.Options{Dir: dir, TestDir: *tests})
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

// builtinRoles names the built-in roles, for `scimd check` to flag custom
// roles named like one but for case; nil (and a warning) if they cannot be
// read, which only leaves that finding out.
func builtinRoles(stderr io.Writer) []string {
	names, err := policies.BuiltinRoles()
	if err != nil {
		fmt.Fprintf(stderr, "scimd check: built-in roles: %v\n", err)
	}
	return names
}

// policyTestsNone, given as --policy-tests, starts edited policies without
// testing them: an explicit choice, since an untested edit is refused.
const policyTestsNone = "none"
