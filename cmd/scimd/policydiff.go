package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

const policyDiffUsage = `Usage: scimd policy diff --policy-dir DIR --tenant ID [--base-dir DIR] [--redis-url URL] [--json]

Decides every user of the tenant with the edited policies (--policy-dir)
and with the policies they are compared to (--base-dir; default the
built-in ones), each user's groups, grants and custom roles as stored now,
and reports whose role would change, at enterprise level and in each
sub-account, grouped by change. It reads Redis and writes nothing.

Exit status: 0 the diff ran (whatever it found), 1 a policy failed on some
user or the store could not be read, 2 usage error.

Flags:
`

// runPolicyDiff runs `scimd policy diff`.
func runPolicyDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd policy diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, policyDiffUsage)
		fs.PrintDefaults()
	}
	editedDir := fs.String("policy-dir", "", "directory of the edited policies (required)")
	baseDir := fs.String("base-dir", "", "directory of the policies to compare with; empty means the built-in ones")
	tests := fs.String("tests", "", "directory of Rego tests the edited policies must pass first")
	tenant := fs.String("tenant", "", "the tenant whose users to compare (required)")
	list := fs.Int("list", 20, "users listed per change (the count is always whole); 0 lists them all")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.String("redis-url", "", "URL of the Redis the server uses (env SCIMD_REDIS_URL); required")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	switch {
	case *editedDir == "":
		fmt.Fprint(stderr, "scimd policy diff: --policy-dir is required\n")
		return 2
	case *tenant == "":
		fmt.Fprint(stderr, "scimd policy diff: --tenant is required\n")
		return 2
	case *list < 0:
		fmt.Fprint(stderr, "scimd policy diff: --list is 0 or more\n")
		return 2
	}
	base, err := policies.New(policies.Options{Dir: *baseDir})
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy diff: --base-dir: %v\n", err)
		return 1
	}
	edited, err := policies.New(policies.Options{Dir: *editedDir, TestDir: *tests})
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy diff: --policy-dir: %v\n", err)
		return 1
	}
	sc, code := openStoreCommand(ctx, "policy diff", *tenant, false, fromEnv(fs, "redis-url", "SCIMD_REDIS_URL"), storage.Options{}, stderr)
	if code >= 0 {
		return code
	}
	defer sc.close()
	if _, err := sc.st.GetTenant(ctx, *tenant); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			fmt.Fprintf(stderr, "scimd policy diff: no tenant %q\n", *tenant)
		} else {
			fmt.Fprintf(stderr, "scimd policy diff: %v\n", err)
		}
		return 1
	}
	rep, err := rollout.Diff(ctx, sc.st, base, edited, *tenant, rollout.DiffOptions{ListLimit: *list})
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy diff: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "scimd policy diff: %v\n", err)
			return 1
		}
	} else {
		printDiff(stdout, rep, *baseDir, *editedDir)
	}
	if len(rep.Errors) > 0 {
		return 1
	}
	return 0
}

// printDiff writes a diff report for a person.
func printDiff(w io.Writer, rep rollout.Report, baseDir, editedDir string) {
	if baseDir == "" {
		baseDir = "built-in"
	}
	fmt.Fprintf(w, "tenant %s: %d users; base revision %s (%s), edited revision %s (%s)\n",
		rep.Tenant, rep.Users, rep.Base, baseDir, rep.Edited, editedDir)
	if rep.Changed == 0 {
		fmt.Fprintln(w, "no user's role would change")
	} else {
		fmt.Fprintf(w, "%d users would change role:\n", rep.Changed)
	}
	for _, c := range append(rep.Changes, rep.Errors...) {
		names := make([]string, len(c.Users))
		for i, u := range c.Users {
			names[i] = fmt.Sprintf("%s (%s)", u.UserName, u.ID)
		}
		more := ""
		if n := c.Count - len(c.Users); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		fmt.Fprintf(w, "  %s: %s%s\n", c, strings.Join(names, ", "), more)
	}
}

// explainUser runs `scimd policy explain --tenant T --user U`: the user's
// roles explained as the policies decide them from what is stored now (the
// admin API's users/{id}/access), with the stored decision beside it.
func explainUser(ctx context.Context, dir, tests, tenant, user, redisURL string, stdout, stderr io.Writer) int {
	engine, err := policies.New(policies.Options{Dir: dir, TestDir: tests})
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy explain: %v\n", err)
		return 1
	}
	sc, code := openStoreCommand(ctx, "policy explain", tenant, false, redisURL, storage.Options{}, stderr)
	if code >= 0 {
		return code
	}
	defer sc.close()
	explained, err := provision.New(sc.st, engine, provision.Options{}).UserAccess(ctx, tenant, user)
	if err != nil {
		fmt.Fprintf(stderr, "scimd policy explain: %v\n", err)
		return 1
	}
	var stored json.RawMessage
	switch raw, err := sc.st.AccessDecision(ctx, tenant, user); {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		fmt.Fprintf(stderr, "scimd policy explain: stored decision: %v\n", err)
		return 1
	default:
		stored = raw
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Tenant      string               `json:"tenant"`
		User        string               `json:"user"`
		Revision    string               `json:"revision"`
		Explanation policies.Explanation `json:"explanation"`
		Stored      json.RawMessage      `json:"stored"`
	}{tenant, user, engine.Revision(), explained, stored}); err != nil {
		fmt.Fprintf(stderr, "scimd policy explain: %v\n", err)
		return 1
	}
	return 0
}
