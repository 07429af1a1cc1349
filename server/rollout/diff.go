package rollout

import (
	"context"
	"fmt"
	"sort"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/storage"
)

// DiffStore is what Diff reads: the tenant's users, page by page, and their
// policy inputs.
type DiffStore interface {
	access.Reader
	UsersAfter(ctx context.Context, tenant string, after int64, count int) ([]string, int64, error)
}

// DiffOptions bound a Diff.
type DiffOptions struct {
	// PageSize is how many users one evaluation batch reads; 0 means 500.
	PageSize int
	// ListLimit is how many users each change lists at most (the count is
	// always whole); 0 lists them all.
	ListLimit int
	// MaxUsers stops the diff after that many users (Report.Truncated); 0
	// means every user.
	MaxUsers int
}

// Report is what a policy change would change for a tenant's users.
type Report struct {
	Tenant string `json:"tenant"`
	// Base and Edited are the revisions compared.
	Base   string `json:"base"`
	Edited string `json:"edited"`
	// Users is how many users were compared; Changed how many of them
	// would change role somewhere.
	Users   int `json:"users"`
	Changed int `json:"changed"`
	// Truncated: MaxUsers stopped the diff before the last user.
	Truncated bool `json:"truncated"`
	// Changes groups the users by what changes: one entry per level (or
	// sub-account) and role before and after, most users first.
	Changes []Change `json:"changes"`
	// Errors are the users one of the policies failed to decide, grouped
	// by which policies failed.
	Errors []Change `json:"errors"`
}

// Change is a group of users whose role at one level changes the same way.
type Change struct {
	// Level is "enterprise" or "account" (then Account names the
	// sub-account).
	Level   policies.Level `json:"level"`
	Account string         `json:"account,omitempty"`
	// From and To are the role names, "" for no role.
	From string `json:"from"`
	To   string `json:"to"`
	// Count is how many users; Users lists them (up to ListLimit).
	Count int          `json:"count"`
	Users []ReportUser `json:"users"`
	// Error, for the entries of Report.Errors: which policy failed and how.
	Error string `json:"error,omitempty"`
}

// ReportUser names a user of a change.
type ReportUser struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
}

// String is the change as a line for a person:
// "Group Manager -> Account Admin in acct-1: 12 users".
func (c Change) String() string {
	role := func(r string) string {
		if r == "" {
			return "(no role)"
		}
		return r
	}
	where := "at enterprise level"
	if c.Level == policies.LevelAccount {
		where = "in " + c.Account
	}
	if c.Error != "" {
		return fmt.Sprintf("%s: %d users", c.Error, c.Count)
	}
	return fmt.Sprintf("%s -> %s %s: %d users", role(c.From), role(c.To), where, c.Count)
}

// Diff decides every user of the tenant with the base and the edited
// policies (access.Evaluate, the resolver's own evaluation, each batch read
// once for both) and reports whose roles would change, grouped by change.
// It writes nothing. Returns storage.ErrUnavailable (a read failed) or
// ctx.Err().
func Diff(ctx context.Context, st DiffStore, base, edited access.Engine, tenant string, opts DiffOptions) (Report, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	rep := Report{Tenant: tenant, Base: base.Revision(), Edited: edited.Revision(), Changes: []Change{}, Errors: []Change{}}
	changes, failures := grouping{at: map[changeKey]int{}}, grouping{at: map[changeKey]int{}}
	changed := map[string]bool{}
	var after int64
	for !rep.Truncated {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		ids, last, err := st.UsersAfter(ctx, tenant, after, opts.PageSize)
		if err != nil {
			return Report{}, err
		}
		if len(ids) == 0 {
			break
		}
		after = last
		if opts.MaxUsers > 0 && rep.Users+len(ids) > opts.MaxUsers {
			ids = ids[:opts.MaxUsers-rep.Users]
			rep.Truncated = true
		}
		in, err := st.AccessInputs(ctx, tenant, ids)
		if err != nil {
			return Report{}, err
		}
		once := inputs{in}
		before, err := access.Evaluate(ctx, base, once, tenant, ids)
		if err != nil {
			return Report{}, err
		}
		now, err := access.Evaluate(ctx, edited, once, tenant, ids)
		if err != nil {
			return Report{}, err
		}
		for _, sub := range in.Subjects {
			b, okB := before.Decisions[sub.ID]
			a, okA := now.Decisions[sub.ID]
			if !okB || !okA {
				continue // deleted since it was listed
			}
			rep.Users++
			if b.Err != nil || a.Err != nil {
				if err := ctx.Err(); err != nil {
					return Report{}, err
				}
				failures.add(changeKey{Error: failure(b.Err, a.Err)}, sub, opts.ListLimit)
				continue
			}
			for _, k := range roleChanges(b.Access, a.Access) {
				changes.add(k, sub, opts.ListLimit)
				changed[sub.ID] = true
			}
		}
	}
	rep.Changed = len(changed)
	if changes.list != nil {
		rep.Changes = changes.sorted()
	}
	if failures.list != nil {
		rep.Errors = failures.sorted()
	}
	return rep, nil
}

// changeKey is what the users of one Change share.
type changeKey struct {
	Level    policies.Level
	Account  string
	From, To string
	Error    string
}

// grouping gathers users by change.
type grouping struct {
	at   map[changeKey]int // index in list
	list []Change
}

func (g *grouping) add(k changeKey, sub storage.AccessSubject, limit int) {
	i, ok := g.at[k]
	if !ok {
		i = len(g.list)
		g.at[k] = i
		g.list = append(g.list, Change{Level: k.Level, Account: k.Account, From: k.From, To: k.To, Error: k.Error, Users: []ReportUser{}})
	}
	c := &g.list[i]
	c.Count++
	if limit <= 0 || len(c.Users) < limit {
		c.Users = append(c.Users, ReportUser{ID: sub.ID, UserName: sub.UserName})
	}
}

// sorted lists the changes most users first, then by what they say.
func (g *grouping) sorted() []Change {
	sortChanges(g.list)
	return g.list
}

func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Count != cs[j].Count {
			return cs[i].Count > cs[j].Count
		}
		return cs[i].String() < cs[j].String()
	})
}

func failure(base, edited error) string {
	switch {
	case base != nil && edited != nil:
		return "both policies failed: " + edited.Error()
	case base != nil:
		return "the base policies failed: " + base.Error()
	default:
		return "the edited policies failed: " + edited.Error()
	}
}

// roleChanges lists where a user's role differs between two decisions: at
// enterprise level and in each sub-account of either.
func roleChanges(before, after policies.Access) []changeKey {
	var out []changeKey
	if f, t := roleName(before.Enterprise), roleName(after.Enterprise); f != t {
		out = append(out, changeKey{Level: policies.LevelEnterprise, From: f, To: t})
	}
	accounts := make([]string, 0, len(after.Accounts))
	for a := range after.Accounts {
		accounts = append(accounts, a)
	}
	for a := range before.Accounts {
		if _, ok := after.Accounts[a]; !ok {
			accounts = append(accounts, a)
		}
	}
	sort.Strings(accounts)
	for _, a := range accounts {
		if f, t := roleName(before.Accounts[a]), roleName(after.Accounts[a]); f != t {
			out = append(out, changeKey{Level: policies.LevelAccount, Account: a, From: f, To: t})
		}
	}
	return out
}

func roleName(r *policies.EffectiveRole) string {
	if r == nil {
		return ""
	}
	return r.Role
}

// inputs answers Evaluate with inputs already read, so that both policies
// decide on the same reading.
type inputs struct{ in storage.AccessInputs }

func (i inputs) AccessInputs(context.Context, string, []string) (storage.AccessInputs, error) {
	return i.in, nil
}
