// Command scimload loads a scimd tenant the way Microsoft Entra ID
// provisions one, and measures what each step costs.
//
// It replays an initial cycle (for each user a userName filter, then a POST;
// groups created empty, then member PATCHes in batches; filtered GETs of
// existing users), an incremental cycle (attribute PATCHes, disables,
// single-member PATCHes) and, when asked, one PATCH adding many members to a
// single group. The request bodies have the shapes of the Entra fixtures in
// server/testdata/entra. At the end it prints, per phase, the requests,
// errors, requests per second and exact latency percentiles.
//
// Usage:
//
//	scimload --url http://127.0.0.1:8080/scim/v2/acme --token $TOKEN --users 5000 --groups 50
//
// Exit codes: 0 no request failed, 1 some did, 2 bad flags or target.
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The phase groups --phases names.
const (
	phaseInitial     = "initial"
	phaseIncremental = "incremental"
	phaseBigGroup    = "big-group"
)

// config is what one run is told by its flags.
type config struct {
	URL         string
	Token       string
	AllowRemote bool
	Prefix      string
	JSON        bool
	Phases      []string

	Users               int
	Posts               int
	Groups              int
	MembersPerGroup     int
	Batch               int
	Gets                int
	GetsByID            int
	UserPatches         int
	Disables            int
	SingleMemberPatches int
	BigGroup            int

	Concurrency int
	// Rate, when above 0, starts that many jobs per second in each phase
	// whatever the server's pace (an open loop), instead of Concurrency
	// workers each waiting for its last answer.
	Rate     float64
	Duration time.Duration
	Timeout  time.Duration
	CPU      cpuPIDs
}

// has tells whether the phase group was asked for.
func (c config) has(phase string) bool { return slices.Contains(c.Phases, phase) }

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

// parseFlags reads and checks the flags; the token may come from
// SCIMLOAD_TOKEN instead. It returns flag.ErrHelp for -h.
func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (config, error) {
	var c config
	var phases string
	fs := flag.NewFlagSet("scimload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.URL, "url", "", "the tenant's SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2/acme (required)")
	// No environment value as a default: usage text would show the token.
	fs.StringVar(&c.Token, "token", "", "the tenant's SCIM bearer token (env SCIMLOAD_TOKEN)")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a --url whose host is not a loopback address (only for servers you own)")
	fs.StringVar(&c.Prefix, "prefix", "", "prefix of generated userNames and group names (default: a random run id, so reruns do not collide)")
	fs.BoolVar(&c.JSON, "json", false, "also print the final table as JSON on stdout (the text table then goes to stderr)")
	fs.StringVar(&phases, "phases", phaseInitial+","+phaseIncremental, "phases to run: initial, incremental, big-group (incremental needs initial)")
	fs.IntVar(&c.Users, "users", 1000, "users the initial cycle creates")
	fs.IntVar(&c.Posts, "posts", 0, "further users created by a POST /Users alone (no filter first), after the create phase: POSTs per second and CPU per POST without Entra's filters (0: none)")
	fs.IntVar(&c.Groups, "groups", 10, "groups the initial cycle creates")
	fs.IntVar(&c.MembersPerGroup, "members-per-group", 100, "members the initial cycle adds to each group")
	fs.IntVar(&c.Batch, "batch", 100, "members per PATCH in the initial cycle")
	fs.IntVar(&c.Gets, "gets", -1, "filtered GETs of existing users (-1: as many as --users)")
	fs.IntVar(&c.GetsByID, "gets-by-id", 0, "GET /Users/{id} of random existing users (0: none)")
	fs.Var(&c.CPU, "cpu-pid", "name=pid of a local process (scimd, redis-server) whose CPU time per request each phase reports; repeatable")
	fs.IntVar(&c.UserPatches, "user-patches", -1, "attribute PATCHes in the incremental cycle (-1: a fifth of --users)")
	fs.IntVar(&c.Disables, "disables", -1, "users disabled in the incremental cycle (-1: a twentieth of --users)")
	fs.IntVar(&c.SingleMemberPatches, "single-member-patches", -1, "one-member add/remove PATCHes in the incremental cycle (-1: a fifth of --users)")
	fs.IntVar(&c.BigGroup, "big-group", 0, "members added to one group in a single PATCH (0: no big-group phase; >0 adds it)")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "concurrent workers (and keep-alive connections)")
	fs.Float64Var(&c.Rate, "rate", 0, "offered load: jobs started per second in each phase, whether or not earlier ones have been answered (an open loop; latencies count from when each job was due, so a server that falls behind shows it); a job is one request, or a filter and a POST in the create phases (0: --concurrency workers, each sending when answered)")
	fs.DurationVar(&c.Duration, "duration", 5*time.Minute, "hard time bound: when it passes every phase stops and what ran is reported")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Second, "time bound of one request (Entra gives up after 60s)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Token == "" {
		c.Token = getenv("SCIMLOAD_TOKEN")
	}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if p != phaseInitial && p != phaseIncremental && p != phaseBigGroup {
			return c, fmt.Errorf("--phases: unknown phase %q (want initial, incremental, big-group)", p)
		}
		if !c.has(p) {
			c.Phases = append(c.Phases, p)
		}
	}
	if c.BigGroup > 0 && !c.has(phaseBigGroup) {
		c.Phases = append(c.Phases, phaseBigGroup)
	}
	auto := func(v *int, def int) {
		if *v == -1 {
			*v = def
		}
	}
	auto(&c.Gets, c.Users)
	auto(&c.UserPatches, c.Users/5)
	auto(&c.Disables, c.Users/20)
	auto(&c.SingleMemberPatches, c.Users/5)
	if c.Prefix == "" {
		var b [4]byte
		if _, err := crand.Read(b[:]); err != nil {
			return c, fmt.Errorf("no randomness for --prefix: %w", err)
		}
		c.Prefix = "sl" + hex.EncodeToString(b[:])
	}
	switch {
	case c.URL == "":
		return c, errors.New("--url is required")
	case c.Token == "":
		return c, errors.New("--token (or SCIMLOAD_TOKEN) is required")
	case !prefixPattern.MatchString(c.Prefix):
		return c, fmt.Errorf("--prefix %q: use 1-40 letters, digits, dots, dashes or underscores", c.Prefix)
	case c.Users < 0 || c.Posts < 0 || c.Groups < 0 || c.MembersPerGroup < 0 || c.BigGroup < 0:
		return c, errors.New("--users, --posts, --groups, --members-per-group and --big-group must not be negative")
	case c.Gets < 0 || c.GetsByID < 0 || c.UserPatches < 0 || c.Disables < 0 || c.SingleMemberPatches < 0:
		return c, errors.New("--gets, --user-patches, --disables and --single-member-patches must be -1 (automatic) or more")
	case c.Batch < 1:
		return c, errors.New("--batch must be at least 1")
	case c.Rate < 0 || c.Rate > 1e6:
		return c, fmt.Errorf("--rate must be between 0 and 1000000 jobs per second")
	case c.Concurrency < 1:
		return c, errors.New("--concurrency must be at least 1")
	case c.Duration <= 0 || c.Timeout <= 0:
		return c, errors.New("--duration and --timeout must be positive")
	case c.has(phaseIncremental) && !c.has(phaseInitial):
		return c, errors.New("--phases: incremental needs initial (it patches the users and groups initial creates)")
	case c.has(phaseBigGroup) && c.BigGroup == 0:
		return c, errors.New("--phases big-group needs --big-group N")
	case c.has(phaseInitial) && c.Groups > 0 && c.MembersPerGroup > c.Users:
		return c, fmt.Errorf("--members-per-group %d is more than --users %d", c.MembersPerGroup, c.Users)
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first Ctrl-C the run stops and reports; a second one
		// kills the process as usual.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, net.DefaultResolver.LookupIPAddr))
}

// report is the --json output.
type report struct {
	Target      string    `json:"target"`
	Prefix      string    `json:"prefix"`
	Concurrency int       `json:"concurrency"`
	Rate        float64   `json:"rate,omitempty"` // jobs offered per second and phase
	Stopped     string    `json:"stopped,omitempty"`
	Phases      []Summary `json:"phases"`
	FirstErrors []string  `json:"firstErrors,omitempty"`
}

// run is the whole program: ctx ends on Ctrl-C. It returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, lookup lookupFunc) int {
	cfg, err := parseFlags(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "scimload: %v\n", err)
		return 2
	}
	checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	base, err := checkTarget(checkCtx, cfg.URL, cfg.AllowRemote, lookup)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "scimload: %v\n", err)
		return 2
	}
	c := newClient(base, cfg.Token, cfg.Concurrency, cfg.Timeout, cfg.AllowRemote)
	defer c.close()
	r := newRunner(cfg, c)
	fmt.Fprintf(stderr, "scimload: %s, prefix %s, concurrency %d, bound %s\n", c.base, cfg.Prefix, cfg.Concurrency, cfg.Duration)
	if cfg.Rate > 0 {
		fmt.Fprintf(stderr, "scimload: open loop: %g jobs offered per second in each phase\n", cfg.Rate)
	}
	if cfg.has(phaseInitial) {
		fmt.Fprintf(stderr, "scimload: initial: %d users, %d groups of %d members (%d a PATCH), %d filtered GETs\n",
			cfg.Users, cfg.Groups, cfg.MembersPerGroup, cfg.Batch, cfg.Gets)
	}
	if cfg.has(phaseIncremental) {
		fmt.Fprintf(stderr, "scimload: incremental: %d user PATCHes, %d disables, %d single-member PATCHes\n",
			cfg.UserPatches, cfg.Disables, cfg.SingleMemberPatches)
	}
	if cfg.has(phaseBigGroup) {
		fmt.Fprintf(stderr, "scimload: big group: %d members in one PATCH, then 10 removed\n", cfg.BigGroup)
	}

	runCtx, cancelRun := context.WithTimeout(ctx, cfg.Duration)
	defer cancelRun()
	stopProgress := r.reportProgress(stderr, time.Second)
	r.runAll(runCtx)
	stopProgress()

	rep := report{Target: c.base, Prefix: cfg.Prefix, Concurrency: cfg.Concurrency, Rate: cfg.Rate, FirstErrors: r.errs.list()}
	switch {
	case ctx.Err() != nil:
		rep.Stopped = "interrupted"
	case runCtx.Err() != nil:
		rep.Stopped = "time bound (--duration " + cfg.Duration.String() + ") reached"
	}
	errs := 0
	for _, p := range r.phases {
		s := p.Summary()
		rep.Phases = append(rep.Phases, s)
		errs += s.Errors
	}
	table := stdout
	if cfg.JSON {
		table = stderr
	}
	if rep.Stopped != "" {
		fmt.Fprintf(table, "stopped early: %s; the table shows what ran\n", rep.Stopped)
	}
	if err := writeTable(table, rep.Phases); err != nil {
		fmt.Fprintf(stderr, "scimload: %v\n", err)
	}
	writeCPU(table, cfg.CPU, rep.Phases)
	if len(rep.FirstErrors) > 0 {
		fmt.Fprintf(table, "\n%d failed requests; the first ones:\n", errs)
		for _, e := range rep.FirstErrors {
			fmt.Fprintf(table, "  %s\n", e)
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "scimload: %v\n", err)
		}
	}
	if errs > 0 {
		return 1
	}
	return 0
}
