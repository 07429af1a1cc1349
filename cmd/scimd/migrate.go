package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/scimd/scimd/storage"
)

const migrateUsage = `Usage: scimd migrate (--tenant ID | --all) [--dry-run] [--json] [--redis-url URL]
       scimd migrate --list

Brings data stored by an earlier release to the form this release writes,
talking to Redis directly. Each step works through a tenant in batches and
records its progress in the tenant's keys: an interrupted run resumes where
it stopped, a finished step is not run again, and running migrate twice
changes nothing the second time. Every change is one atomic step that
re-checks the record it rests on, so it is safe on a live tenant. Run it
once every replica runs this release (a release reads both forms until
then). With --dry-run it writes nothing and reports what would change.

Exit status: 0 every step done (with --dry-run: nothing would change),
1 something is left (to change, to settle by hand, or the run failed or was
interrupted: run it again), 2 usage error.

Flags:
`

// runMigrate runs `scimd migrate`: Store.Migrate over one tenant or all.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, migrateUsage)
		fs.PrintDefaults()
	}
	tenant := fs.String("tenant", "", "the tenant to migrate")
	all := fs.Bool("all", false, "migrate every tenant")
	dry := fs.Bool("dry-run", false, "write nothing; report what would change")
	list := fs.Bool("list", false, "list the steps of this release and exit")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	// No environment value as a default: usage text would show its password.
	fs.String("redis-url", "", "URL of the Redis the server uses (env SCIMD_REDIS_URL); required")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	redisURL := fromEnv(fs, "redis-url", "SCIMD_REDIS_URL")
	if *list {
		for _, st := range storage.Migrations() {
			fmt.Fprintf(stdout, "%s\t%s\n", st.Name, st.Summary)
		}
		return 0
	}
	sc, code := openStoreCommand(ctx, "migrate", *tenant, *all, redisURL, storage.Options{}, stderr)
	if code >= 0 {
		return code
	}
	defer sc.close()
	st, ids := sc.st, sc.ids
	if len(ids) == 0 && !*asJSON {
		fmt.Fprintln(stdout, "no tenants")
	}
	code = 0
	reports := make([]storage.MigrateReport, 0, len(ids))
	for _, id := range ids {
		rep, err := st.Migrate(ctx, id, nil, *dry, time.Now())
		switch {
		case errors.Is(err, storage.ErrNotFound) && *all:
			continue // deleted since it was listed
		case errors.Is(err, storage.ErrNotFound):
			fmt.Fprintf(stderr, "scimd migrate: no tenant %q\n", id)
			code = 1
			continue
		case err != nil:
			fmt.Fprintf(stderr, "scimd migrate: tenant %s: %v (progress is recorded: run it again)\n", id, err)
			code = 1
			if len(rep.Steps) == 0 {
				continue // it did not get as far as a step
			}
		case !rep.Complete():
			code = 1
		}
		reports = append(reports, rep)
		if !*asJSON {
			printMigrateReport(stdout, rep)
		}
		if ctx.Err() != nil {
			break // interrupted: the remaining tenants wait for the next run
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Reports []storage.MigrateReport `json:"reports"`
		}{reports}); err != nil {
			fmt.Fprintf(stderr, "scimd migrate: %v\n", err)
			return 1
		}
	}
	return code
}

// printMigrateReport writes one tenant's run for a person.
func printMigrateReport(w io.Writer, rep storage.MigrateReport) {
	verb := "changed"
	if rep.DryRun {
		verb = "would change"
	}
	for _, st := range rep.Steps {
		from := ""
		if st.ResumedAt != "" {
			from = fmt.Sprintf(", resumed at %q", st.ResumedAt)
		}
		fmt.Fprintf(w, "tenant %s: %s: %s (examined %d, %s %d%s)\n", rep.Tenant, st.Name, st.State, st.Examined, verb, st.Changed, from)
		for _, u := range st.Unresolved {
			fmt.Fprintf(w, "  unresolved: %s\n", u)
		}
	}
	if len(rep.Steps) == 0 {
		fmt.Fprintf(w, "tenant %s: no steps in this release\n", rep.Tenant)
	}
}
