package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

const healthcheckUsage = `Usage: scimd healthcheck [--url URL] [--ca-file FILE] [--timeout D]

Asks a running scimd whether it is alive (GET /healthz) and exits 0 on 200,
1 otherwise: the image's HEALTHCHECK, since a distroless image has no curl.
Without --url it asks the server this machine's settings describe, from the
same variables and --config file as scimd serve (SCIMD_ADDR, SCIMD_TLS_CERT,
SCIMD_CONFIG): loopback on the port of --addr, over HTTPS when serve has a
certificate. That loopback check does not verify the certificate (it sends
nothing secret and asks only the local process); a --url is verified
against the system's roots, or --ca-file.

Flags:
`

func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), healthcheckUsage)
		fs.PrintDefaults()
	}
	target := fs.String("url", "", "URL to ask; empty: /healthz of the local server the serve settings describe")
	caFile := fs.String("ca-file", "", "PEM file of the CA certificates to trust for an https --url")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	client, err := newHTTPClient(*caFile, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "scimd healthcheck: %v\n", err)
		return 2
	}
	if *target == "" {
		cfg, err := parseServeEnv(nil, io.Discard, os.LookupEnv)
		if err != nil {
			fmt.Fprintf(stderr, "scimd healthcheck: the serve settings: %v\n", err)
			return 1
		}
		*target = localHealthURL(cfg.Addr, cfg.TLSCert != "")
		if cfg.TLSCert != "" {
			// 127.0.0.1 is rarely a name on the server's certificate.
			client.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // loopback liveness only, see healthcheckUsage
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "scimd healthcheck: --url: %v\n", err)
		return 2
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "scimd healthcheck: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "scimd healthcheck: %s answered %s\n", *target, resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", *target)
	return 0
}

// localHealthURL is /healthz of a server listening on addr, reached over
// loopback when addr listens on every interface.
func localHealthURL(addr string, tls bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "127.0.0.1", "8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
}

// newHTTPClient is the CLI's client: it trusts the system's roots, or only
// the certificates of caFile when one is given (a private CA, or a
// self-signed --tls-cert).
func newHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}
