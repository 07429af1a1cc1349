package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// runTenant manages tenants through a running server's operator API, so
// that the CLI and any other client go through the same checks.
func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "scimd tenant: create, list, get, delete or rotate-scim-token\n")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("scimd tenant "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverURL := fs.String("server", envOr("SCIMD_URL", "http://127.0.0.1:8080"), "base URL of the scimd server (env SCIMD_URL)")
	token := fs.String("operator-token", envOr("SCIMD_OPERATOR_TOKEN", ""), "operator bearer token (env SCIMD_OPERATOR_TOKEN)")
	id := fs.String("id", "", "tenant id: lower-case letters, digits and dashes")
	name := fs.String("name", "", "display name (create)")
	limit := fs.Int64("license-limit", -1, "license seats (create)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *token == "" {
		fmt.Fprint(stderr, "scimd tenant: --operator-token or SCIMD_OPERATOR_TOKEN is required\n")
		return 2
	}
	c := operatorClient{base: strings.TrimRight(*serverURL, "/"), token: *token, http: &http.Client{Timeout: 30 * time.Second}}
	var (
		status int
		body   []byte
		err    error
	)
	switch sub {
	case "create":
		if *id == "" || *name == "" || *limit < 0 {
			fmt.Fprint(stderr, "scimd tenant create: --id, --name and --license-limit are required\n")
			return 2
		}
		req, _ := json.Marshal(map[string]any{"id": *id, "name": *name, "licenseLimit": *limit})
		status, body, err = c.do(ctx, http.MethodPost, "/admin/v1/tenants", req)
	case "list":
		status, body, err = c.do(ctx, http.MethodGet, "/admin/v1/tenants", nil)
	case "get", "delete":
		if *id == "" {
			fmt.Fprintf(stderr, "scimd tenant %s: --id is required\n", sub)
			return 2
		}
		method := map[string]string{"get": http.MethodGet, "delete": http.MethodDelete}[sub]
		status, body, err = c.do(ctx, method, "/admin/v1/tenants/"+url.PathEscape(*id), nil)
	case "rotate-scim-token":
		if *id == "" {
			fmt.Fprintf(stderr, "scimd tenant %s: --id is required\n", sub)
			return 2
		}
		status, body, err = c.do(ctx, http.MethodPost, "/admin/v1/tenants/"+url.PathEscape(*id)+"/scim-token", nil)
	default:
		fmt.Fprintf(stderr, "scimd tenant: unknown subcommand %q\n", sub)
		return 2
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
		fmt.Fprintf(stdout, "deleted tenant %s\n", *id)
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
