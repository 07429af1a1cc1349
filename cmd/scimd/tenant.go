package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// tenantSubcommands are `scimd tenant`'s, as help lists them.
var tenantSubcommands = []subcommand{
	{"create", "create a tenant (prints its SCIM and admin tokens once)"},
	{"list", "list tenants"},
	{"get", "show one tenant"},
	{"delete", "delete a tenant and all its data (asks first unless --yes)"},
	{"rotate-scim-token", "give a tenant a new SCIM token; the old one stops working"},
}

// tenantFlags are the flags of one tenant subcommand: the connection's,
// then only those the subcommand uses.
type tenantFlags struct {
	fs                       *flag.FlagSet
	id, name, caFile         *string
	limit                    *int64
	yes                      *bool
	serverURL, operatorToken string // from the flags or the environment, after parsing
}

func newTenantFlags(sub string, stderr io.Writer) *tenantFlags {
	f := &tenantFlags{fs: flag.NewFlagSet("scimd tenant "+sub, flag.ContinueOnError)}
	fs := f.fs
	fs.SetOutput(stderr)
	// No environment value as a default: usage text would show it.
	fs.String("server", "http://127.0.0.1:8080", "base URL of the scimd server (env SCIMD_URL)")
	fs.String("operator-token", "", "operator bearer token (env SCIMD_OPERATOR_TOKEN)")
	f.caFile = fs.String("ca-file", "", "PEM file of the CA certificates to trust for an https --server, instead of the system's (env SCIMD_CA_FILE)")
	switch sub {
	case "create":
		f.id = fs.String("id", "", "tenant id: 1-63 lower-case letters, digits and dashes (required)")
		f.name = fs.String("name", "", "display name (required)")
		f.limit = fs.Int64("license-limit", -1, "license seats (required)")
	case "get", "delete", "rotate-scim-token":
		f.id = fs.String("id", "", "tenant id (required)")
	}
	if sub == "delete" {
		f.yes = fs.Bool("yes", false, "delete without asking (needed when standard input is not a terminal)")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: scimd tenant %s [flags]\n\n", sub)
		for _, s := range tenantSubcommands {
			if s.name == sub {
				fmt.Fprintf(fs.Output(), "%s, through a running server's operator API.\n\nFlags:\n", strings.ToUpper(s.summary[:1])+s.summary[1:])
			}
		}
		fs.PrintDefaults()
	}
	return f
}

func (f *tenantFlags) parse(args []string) int {
	if code := parseFlags(f.fs, args); code >= 0 {
		return code
	}
	f.serverURL = fromEnv(f.fs, "server", "SCIMD_URL")
	f.operatorToken = fromEnv(f.fs, "operator-token", "SCIMD_OPERATOR_TOKEN")
	*f.caFile = fromEnv(f.fs, "ca-file", "SCIMD_CA_FILE")
	return -1
}

// runTenant manages tenants through a running server's operator API, so
// that the CLI and any other client go through the same checks.
func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, subUsage("tenant", tenantSubcommands))
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub := args[0]
	known := false
	for _, s := range tenantSubcommands {
		known = known || s.name == sub
	}
	if !known {
		fmt.Fprintf(stderr, "scimd tenant: unknown subcommand %q\n\n%s", sub, subUsage("tenant", tenantSubcommands))
		return 2
	}
	f := newTenantFlags(sub, stderr)
	if code := f.parse(args[1:]); code >= 0 {
		return code
	}
	switch {
	case f.operatorToken == "":
		fmt.Fprint(stderr, "scimd tenant: --operator-token or SCIMD_OPERATOR_TOKEN is required\n")
		return 2
	case sub == "create" && (*f.id == "" || *f.name == "" || *f.limit < 0):
		fmt.Fprint(stderr, "scimd tenant create: --id, --name and --license-limit are required\n")
		return 2
	case f.id != nil && *f.id == "":
		fmt.Fprintf(stderr, "scimd tenant %s: --id is required\n", sub)
		return 2
	}
	httpClient, err := newHTTPClient(*f.caFile, 30*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "scimd tenant %s: %v\n", sub, err)
		return 2
	}
	if sub == "delete" && !*f.yes {
		if code := confirmDelete(*f.id, stderr); code >= 0 {
			return code
		}
	}
	c := operatorClient{base: strings.TrimRight(f.serverURL, "/"), token: f.operatorToken, http: httpClient}
	var (
		status int
		body   []byte
	)
	switch sub {
	case "create":
		req, _ := json.Marshal(map[string]any{"id": *f.id, "name": *f.name, "licenseLimit": *f.limit})
		status, body, err = c.do(ctx, http.MethodPost, "/admin/v1/tenants", req)
	case "list":
		status, body, err = c.do(ctx, http.MethodGet, "/admin/v1/tenants", nil)
	case "get":
		status, body, err = c.do(ctx, http.MethodGet, "/admin/v1/tenants/"+url.PathEscape(*f.id), nil)
	case "delete":
		status, body, err = c.do(ctx, http.MethodDelete, "/admin/v1/tenants/"+url.PathEscape(*f.id), nil)
	case "rotate-scim-token":
		status, body, err = c.do(ctx, http.MethodPost, "/admin/v1/tenants/"+url.PathEscape(*f.id)+"/scim-token", nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scimd tenant %s: %v\n", sub, err)
		return 1
	}
	if status >= 300 {
		var p struct{ Detail string }
		if json.Unmarshal(body, &p) == nil && p.Detail != "" {
			fmt.Fprintf(stderr, "scimd tenant %s: %d %s: %s\n", sub, status, http.StatusText(status), p.Detail)
		} else {
			fmt.Fprintf(stderr, "scimd tenant %s: %d %s\n", sub, status, http.StatusText(status))
		}
		return 1
	}
	switch sub {
	case "list":
		return printTenants(body, stdout, stderr)
	case "delete":
		fmt.Fprintf(stdout, "deleted tenant %s\n", *f.id)
		return 0
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	fmt.Fprintln(stdout, pretty.String())
	switch sub {
	case "create":
		fmt.Fprintln(stderr, "Store scimToken and adminToken now: they are shown only once.")
	case "rotate-scim-token":
		fmt.Fprintln(stderr, "Paste the new scimToken into the identity provider now: it is shown only once, and the old one no longer works.")
	}
	return 0
}

// terminal is where `tenant delete` asks for its confirmation: standard
// input, and whether it is a terminal. Tests replace it.
var terminal = func() (io.Reader, bool) {
	st, err := os.Stdin.Stat()
	return os.Stdin, err == nil && st.Mode()&os.ModeCharDevice != 0
}

// confirmDelete asks the person at the terminal to type the tenant's id.
// It returns -1 to go on, else the exit code: a script without a terminal
// must say --yes, so that a pipe's stray line never deletes a tenant.
func confirmDelete(id string, stderr io.Writer) int {
	in, tty := terminal()
	if !tty {
		fmt.Fprintf(stderr, "scimd tenant delete: standard input is not a terminal, so there is no one to ask; pass --yes to delete tenant %s and all its data\n", id)
		return 2
	}
	fmt.Fprintf(stderr, "Delete tenant %s and ALL its data (users, groups, grants, audit log)? It cannot be undone.\nType the tenant id to confirm: ", id)
	line, err := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) != id {
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "\nscimd tenant delete: %v\n", err)
		}
		fmt.Fprintln(stderr, "\nscimd tenant delete: not confirmed; nothing deleted")
		return 1
	}
	return -1
}

type operatorClient struct {
	base, token string
	http        *http.Client
}

func (c operatorClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, out, err
}

func printTenants(body []byte, stdout, stderr io.Writer) int {
	var list struct {
		Tenants []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			LicenseLimit int64  `json:"licenseLimit"`
			Mode         string `json:"provisioningMode"`
			SCIMBaseURL  string `json:"scimBaseUrl"`
		} `json:"tenants"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		fmt.Fprintf(stderr, "scimd tenant list: unexpected answer: %v\n", err)
		return 1
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tLICENSES\tMODE\tSCIM BASE URL")
	for _, t := range list.Tenants {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", t.ID, t.Name, t.LicenseLimit, t.Mode, t.SCIMBaseURL)
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}
