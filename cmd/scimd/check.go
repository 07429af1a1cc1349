package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

const checkUsage = `Usage: scimd check (--tenant ID | --all) [--repair] [--decisions] [--json] [--redis-url URL]

Verifies a tenant's listings, indexes, member and reverse sets, seat counter
and grants against its user and group records, talking to Redis directly.
With --repair it fixes what it found, records being the truth; each repair
is a small atomic step that re-checks its ground first, so it is safe on a
live tenant and safe to run twice. A check is not a snapshot: writes landing
while it runs can show up as findings that are not real. Run it when the
tenant is quiet, or run it twice.

With --decisions it also decides every user afresh (the policies of
--policy-dir, default the built-in ones, as the resolver decides) and
compares each stored access decision with it: missing, differs, made at
another revision, stale, unreadable, or the policies failing on the user.
--repair then queues the tenant's users for the resolver to decide again
(one 'all' cause, kind repair): the resolver's write path fixes them, when
the replicas run the active revision.

Exit status: 0 clean (or everything found was repaired), 1 inconsistencies
remain or the check could not run, 2 usage error.

Flags:
`

// runCheck runs `scimd check`: Store.Check over one tenant or all of them.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsage)
		fs.PrintDefaults()
	}
	tenant := fs.String("tenant", "", "the tenant to check")
	all := fs.Bool("all", false, "check every tenant")
	repair := fs.Bool("repair", false, "fix what the check finds, from the records")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	decisions := fs.Bool("decisions", false, "also verify the stored access decisions against a fresh evaluation")
	fs.String("policy-dir", "", "with --decisions: directory of the policies the replicas run; empty uses the built-in ones (env SCIMD_POLICY_DIR)")
	// No environment value as a default: usage text would show its password.
	fs.String("redis-url", "", "URL of the Redis the server uses (env SCIMD_REDIS_URL); required")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	redisURL := fromEnv(fs, "redis-url", "SCIMD_REDIS_URL")
	sc, code := openStoreCommand(ctx, "check", *tenant, *all, redisURL, storage.Options{BuiltinRoles: builtinRoles(stderr)}, stderr)
	if code >= 0 {
		return code
	}
	defer sc.close()
	st, ids := sc.st, sc.ids
	var engine *policies.Engine
	if *decisions {
		var err error
		if engine, err = policies.New(policies.Options{Dir: fromEnv(fs, "policy-dir", "SCIMD_POLICY_DIR")}); err != nil {
			fmt.Fprintf(stderr, "scimd check: %v\n", err)
			return 1
		}
	}
	decided := []rollout.DecisionReport{}
	if len(ids) == 0 && !*asJSON {
		fmt.Fprintln(stdout, "no tenants")
	}
	code = 0
	reports := make([]storage.CheckReport, 0, len(ids))
	for _, id := range ids {
		rep, err := st.Check(ctx, id, *repair)
		switch {
		case errors.Is(err, storage.ErrNotFound) && *all:
			continue // deleted since it was listed
		case errors.Is(err, storage.ErrNotFound):
			fmt.Fprintf(stderr, "scimd check: no tenant %q\n", id)
			code = 1
			continue
		case err != nil:
			// A report cut short would read as cleaner than the tenant is.
			fmt.Fprintf(stderr, "scimd check: tenant %s: %v\n", id, err)
			code = 1
			continue
		case rep.Unrepaired() > 0:
			code = 1
		}
		reports = append(reports, rep)
		if !*asJSON {
			printCheckReport(stdout, rep)
		}
		if engine != nil {
			drep, queued, err := checkDecisions(ctx, st, engine, id, *repair)
			if err != nil {
				fmt.Fprintf(stderr, "scimd check: tenant %s: decisions: %v\n", id, err)
				code = 1
				continue
			}
			if drep.Found() > 0 && !queued {
				code = 1
			}
			decided = append(decided, drep)
			if !*asJSON {
				printDecisionReport(stdout, drep, *repair, queued)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		out := struct {
			Reports   []storage.CheckReport    `json:"reports"`
			Decisions []rollout.DecisionReport `json:"decisions,omitempty"`
		}{Reports: reports}
		if engine != nil {
			out.Decisions = decided
		}
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "scimd check: %v\n", err)
			return 1
		}
	}
	return code
}

// printCheckReport writes one tenant's report for a person.
func printCheckReport(w io.Writer, rep storage.CheckReport) {
	fmt.Fprintf(w, "tenant %s: users %d, groups %d, index entries %d, members %d, reverse entries %d, grants %d, seat counter %d, active users %d\n",
		rep.Tenant, rep.Users, rep.Groups, rep.IndexEntries, rep.Members, rep.ReverseEntries, rep.Grants, rep.Seats, rep.ActiveUsers)
	if len(rep.Findings) == 0 {
		fmt.Fprintf(w, "tenant %s: clean\n", rep.Tenant)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tKEY\tENTRY\tSTATE\tDETAIL")
	for _, f := range rep.Findings {
		state := "found"
		switch {
		case f.Repaired:
			state = "repaired"
		case rep.Repair:
			state = "NOT REPAIRED"
		}
		// %q: entries and keys may hold any byte (a userName, the NUL of
		// the prefix index).
		entry := ""
		if f.Entry != "" {
			entry = fmt.Sprintf("%q", f.Entry)
		}
		fmt.Fprintf(tw, "  %s\t%q\t%s\t%s\t%s\n", f.Kind, f.Key, entry, state, f.Detail)
	}
	// A tabwriter over an io.Writer fails only when the writer does, and
	// then there is nowhere left to say so.
	if err := tw.Flush(); err != nil {
		return
	}
	left := rep.Unrepaired()
	switch {
	case left == 0:
		fmt.Fprintf(w, "tenant %s: findings %d, all repaired\n", rep.Tenant, len(rep.Findings))
	case rep.Repair:
		fmt.Fprintf(w, "tenant %s: findings %d, not repaired %d\n", rep.Tenant, len(rep.Findings), left)
	default:
		fmt.Fprintf(w, "tenant %s: findings %d (run with --repair to fix what can be fixed)\n", rep.Tenant, len(rep.Findings))
	}
}

// checkDecisions verifies a tenant's stored access decisions and, with
// repair and findings, queues every user of the tenant for the resolver
// (storage.EnqueueAccess, kind all, cause repair): the decisions are fixed
// through the resolver's own write path, never here.
func checkDecisions(ctx context.Context, st *storage.Store, engine *policies.Engine, tenant string, repair bool) (rollout.DecisionReport, bool, error) {
	rep, err := rollout.VerifyDecisions(ctx, st, engine, tenant, 0, 50)
	if err != nil || !repair || rep.Found() == 0 {
		return rep, false, err
	}
	cause, err := json.Marshal(map[string]string{"kind": storage.CauseRepair, "id": "scimd check"})
	if err != nil {
		return rep, false, err
	}
	if _, err := st.EnqueueAccess(ctx, tenant, storage.OutboxAll, "", cause); err != nil {
		return rep, false, err
	}
	return rep, true, nil
}

// printDecisionReport writes one tenant's decision check for a person.
func printDecisionReport(w io.Writer, rep rollout.DecisionReport, repair, queued bool) {
	fmt.Fprintf(w, "tenant %s: access decisions of %d users checked against policy revision %s\n", rep.Tenant, rep.Users, rep.Revision)
	if rep.Found() == 0 {
		fmt.Fprintf(w, "tenant %s: access decisions clean\n", rep.Tenant)
		return
	}
	kinds := make([]string, 0, len(rep.Counts))
	for k := range rep.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		var users []string
		for _, f := range rep.Findings {
			if f.Kind == k {
				users = append(users, f.User)
			}
		}
		fmt.Fprintf(w, "  decisions %s: %d (%s)\n", k, rep.Counts[k], strings.Join(users, ", "))
	}
	switch {
	case queued:
		fmt.Fprintf(w, "tenant %s: %d decisions found wrong; every user queued for the resolver to decide again (cause repair)\n", rep.Tenant, rep.Found())
	case repair:
		fmt.Fprintf(w, "tenant %s: %d decisions found wrong, not queued\n", rep.Tenant, rep.Found())
	default:
		fmt.Fprintf(w, "tenant %s: %d decisions found wrong (run with --repair to have the resolver decide them again)\n", rep.Tenant, rep.Found())
	}
}
