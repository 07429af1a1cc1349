// Command scimd is a multi-tenant SCIM 2.0 provisioning server.
//
//	scimd serve            run the server
//	scimd tenant create    create a tenant through a running server's admin API
//	scimd tenant list      list tenants
//	scimd tenant delete    delete a tenant and all its data
//	scimd tenant rotate-scim-token   give a tenant a new SCIM token
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `scimd: a multi-tenant SCIM 2.0 provisioning server

Usage:
  scimd serve [flags]            run the server (scimd serve --help)
  scimd tenant create [flags]    create a tenant (prints its SCIM and admin tokens once)
  scimd tenant list [flags]      list tenants
  scimd tenant get --id ID       show one tenant
  scimd tenant delete --id ID    delete a tenant and all its data
  scimd policy explain [flags]   evaluate a decision over a JSON input and show the explanation
  scimd policy test [flags]      run Rego tests against the policies
  scimd check --tenant ID|--all  verify indexes, member sets and seats against the records (--repair fixes them)
  scimd migrate --tenant ID|--all  bring stored data to this release's form (--dry-run reports only)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "tenant":
		return runTenant(ctx, args[1:], stdout, stderr)
	case "policy":
		return runPolicy(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "scimd: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
