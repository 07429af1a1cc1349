package rollout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/access"
)

// Errors of Previewer.Diff besides the policies' (policies.ErrInvalidPolicy,
// policies.ErrTestsFailed), storage.ErrUnavailable and ctx.Err().
var (
	// ErrBusy: this replica is running another policy diff.
	ErrBusy = errors.New("rollout: a policy diff is running on this replica")
	// ErrInvalid: a file name is not one a policy directory holds, no
	// policy file was sent, or a bound is negative.
	ErrInvalid = errors.New("rollout: invalid policy diff")
	// ErrTooLarge: too many files, or a file over the size cap.
	ErrTooLarge = errors.New("rollout: policy files too large")
	// ErrTooManyUsers: more users asked for than the cap.
	ErrTooManyUsers = errors.New("rollout: more users than the cap")
)

// PreviewOptions bound the operator's policy diffs.
type PreviewOptions struct {
	// MaxUsers is the most users one diff decides (each twice); 0 means
	// 10,000. A tenant with more is diffed over its first MaxUsers
	// (Report.Truncated).
	MaxUsers int
	// Timeout bounds one diff: compiling, testing and deciding. 0 means 60s.
	Timeout time.Duration
	// MaxFiles and MaxFileSize cap the files of one request (policies and
	// tests together). 0 means 64 files of 256 KiB.
	MaxFiles    int
	MaxFileSize int
}

// Preview is one policy diff asked for through the admin API.
type Preview struct {
	// Policies are the edited policies, by path as in a --policy-dir
	// (roles/roles.rego, roles/data.json): the whole set, not a patch.
	Policies map[string]string
	// Tests, when not nil, are Rego tests (and data.json files) the edited
	// policies must pass first, as `scimd policy diff --tests` runs them.
	Tests map[string]string
	// List is how many users each change lists (0: all).
	List int
	// MaxUsers lowers the cap for this diff (0: the cap).
	MaxUsers int
}

// Previewer runs the operator's policy diffs: the edited policies of a
// request compiled as `scimd policy diff` compiles a --policy-dir, compared
// with the running ones over a tenant's users by Diff (the CLI's report).
// One diff runs at a time per replica (a second is refused with ErrBusy,
// not queued), within a user cap and a time budget, so that a diff uses at
// most one core for at most Timeout and never waits on another.
type Previewer struct {
	st   DiffStore
	base access.Engine
	opts PreviewOptions
	busy chan struct{}
}

// NewPreviewer returns a Previewer comparing with base, the running policies.
func NewPreviewer(st DiffStore, base access.Engine, opts PreviewOptions) *Previewer {
	if opts.MaxUsers <= 0 {
		opts.MaxUsers = 10000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 64
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 256 << 10
	}
	return &Previewer{st: st, base: base, opts: opts, busy: make(chan struct{}, 1)}
}

// Options are the bounds in force.
func (p *Previewer) Options() PreviewOptions { return p.opts }

// Diff compiles the request's policies (running its tests first, if any)
// and reports what they would change for the tenant's users. The tenant
// must exist (the caller checks). Returns ErrBusy, ErrInvalid,
// ErrTooLarge, ErrTooManyUsers, policies.ErrInvalidPolicy (see
// policies.Problems for the positions), policies.ErrTestsFailed,
// storage.ErrUnavailable, context.DeadlineExceeded (over Timeout).
func (p *Previewer) Diff(ctx context.Context, tenant string, req Preview) (Report, error) {
	if err := p.check(req); err != nil {
		return Report{}, err
	}
	select {
	case p.busy <- struct{}{}:
		defer func() { <-p.busy }()
	default:
		return Report{}, ErrBusy
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	opts := policies.Options{FS: mapFS(req.Policies)}
	if req.Tests != nil {
		opts.TestFS = mapFS(req.Tests)
	}
	edited, err := policies.NewContext(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return Report{}, ctx.Err()
		}
		return Report{}, err
	}
	users := p.opts.MaxUsers
	if req.MaxUsers > 0 {
		users = req.MaxUsers
	}
	return Diff(ctx, p.st, p.base, edited, tenant, DiffOptions{ListLimit: req.List, MaxUsers: users})
}

// check bounds the request before any parsing.
func (p *Previewer) check(req Preview) error {
	switch {
	case req.MaxUsers < 0 || req.List < 0:
		return fmt.Errorf("%w: maxUsers and list are 0 or more", ErrInvalid)
	case req.MaxUsers > p.opts.MaxUsers:
		return fmt.Errorf("%w: maxUsers %d is over this server's cap of %d", ErrTooManyUsers, req.MaxUsers, p.opts.MaxUsers)
	case len(req.Policies) == 0:
		return fmt.Errorf("%w: policies holds no file", ErrInvalid)
	case len(req.Policies)+len(req.Tests) > p.opts.MaxFiles:
		return fmt.Errorf("%w: %d files; at most %d", ErrTooLarge, len(req.Policies)+len(req.Tests), p.opts.MaxFiles)
	}
	for _, set := range []struct {
		label string
		files map[string]string
		tests bool
	}{{"policies", req.Policies, false}, {"tests", req.Tests, true}} {
		names := make([]string, 0, len(set.files))
		for name := range set.files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			// Names are echoed quoted and cut: they are the client's bytes.
			if why := badName(name, set.tests); why != "" {
				return fmt.Errorf("%w: %s/%.200q %s", ErrInvalid, set.label, name, why)
			}
			if len(set.files[name]) > p.opts.MaxFileSize {
				return fmt.Errorf("%w: %s/%.200q is %d bytes; at most %d", ErrTooLarge, set.label, name, len(set.files[name]), p.opts.MaxFileSize)
			}
		}
	}
	return nil
}

// badName says why a name is not one a policy (or test) directory holds
// that the loader reads, or "".
func badName(name string, tests bool) string {
	base := path.Base(name)
	switch {
	case !fs.ValidPath(name) || name == ".":
		return "is not a relative slash-separated path"
	case strings.HasPrefix(name, ".") || strings.Contains(name, "/."):
		return "is hidden (the loader skips it)"
	case base == "data.json":
		return ""
	case !strings.HasSuffix(base, ".rego"):
		return "is neither a .rego file nor a data.json"
	case !tests && strings.HasSuffix(base, "_test.rego"):
		return "is a test: send it in tests"
	}
	return ""
}

// mapFS holds files in memory, in the layout the policy loader reads.
func mapFS(files map[string]string) fs.FS {
	m := make(fstest.MapFS, len(files))
	for name, src := range files {
		m[name] = &fstest.MapFile{Data: []byte(src), Mode: 0o444}
	}
	return m
}
