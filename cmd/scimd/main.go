// Command scimd is a multi-tenant SCIM 2.0 provisioning server. `scimd
// help` lists its commands; each has its own --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one line of `scimd help` and what runs it. A command with
// subcommands (tenant, policy) lists each of them on a line of its own.
type command struct {
	name    string
	subs    []subcommand // nil: a command of its own
	summary string       // for a command without subs
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

type subcommand struct{ name, summary string }

// commands is the CLI, in the order `scimd help` shows it. A function, not
// a var: the help command itself refers to it.
func commands() []command {
	return []command{
		{name: "serve", summary: "run the server", run: runServe},
		{name: "tenant", subs: tenantSubcommands, run: runTenant},
		{name: "policy", subs: policySubcommands, run: runPolicy},
		{name: "check", summary: "verify (--repair: fix) a tenant's indexes, member sets and seats against its records", run: runCheck},
		{name: "migrate", summary: "bring stored data to this release's form (--dry-run reports only)", run: runMigrate},
		{name: "healthcheck", summary: "exit 0 if a server on this machine answers /healthz (the image's HEALTHCHECK)", run: runHealthcheck},
		{name: "version", summary: "print the version, VCS revision and Go version (also --version)", run: runVersion},
	}
}

// usage is `scimd help`: every command and subcommand with one line each.
func usage() string {
	var b strings.Builder
	b.WriteString("scimd: a multi-tenant SCIM 2.0 provisioning server\n\nUsage:\n")
	line := func(name, summary string) { fmt.Fprintf(&b, "  %-32s %s\n", "scimd "+name, summary) }
	for _, c := range commands() {
		if c.subs == nil {
			line(c.name, c.summary)
			continue
		}
		for _, s := range c.subs {
			line(c.name+" "+s.name, s.summary)
		}
	}
	b.WriteString("\nEach command has its own help: scimd COMMAND [SUBCOMMAND] --help.\n")
	return b.String()
}

// subUsage is the help of a command with subcommands: them and a pointer
// to each one's own flags.
func subUsage(name string, subs []subcommand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: scimd %s SUBCOMMAND [flags]\n\nSubcommands:\n", name)
	for _, s := range subs {
		fmt.Fprintf(&b, "  %-20s %s\n", s.name, s.summary)
	}
	fmt.Fprintf(&b, "\nscimd %s SUBCOMMAND --help lists the subcommand's flags.\n", name)
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return 0
	case "-version", "--version":
		return runVersion(ctx, args[1:], stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "scimd: unknown command %q\n\n%s", args[0], usage())
	return 2
}

// isHelp reports whether arg asks for help, as the flag package reads it.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// parseFlags parses args into fs and maps the outcome to an exit code:
// -1 to go on, 0 after --help, 2 after a mistake (fs has said what).
func parseFlags(fs *flag.FlagSet, args []string) int {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2
	}
	return -1
}

// fromEnv returns the named flag's value when the command line set it,
// else the variable's when it is set and not empty, else the flag's
// default. Reading the environment only after parsing keeps its values
// (tokens, URLs with passwords) out of the defaults that usage text shows.
func fromEnv(fs *flag.FlagSet, name, variable string) string {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	f := fs.Lookup(name)
	if set {
		return f.Value.String()
	}
	if v := os.Getenv(variable); v != "" {
		return v
	}
	return f.DefValue
}
