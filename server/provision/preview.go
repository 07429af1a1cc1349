package provision

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// MaxPreviewMembers bounds the members a grant preview evaluates: a group
// larger than this is previewed on its first MaxPreviewMembers members by
// id, and the preview says so. Each distinct group set among them costs two
// policy evaluations.
const MaxPreviewMembers = 200

// GrantPreview is what replacing a group's grants would do to its members'
// access, decided by the policies on the grants as they are and as proposed.
type GrantPreview struct {
	Grants    []Grant // the proposed grants, checked
	Members   int     // the group's members
	Evaluated int     // the members evaluated: all, or the first MaxPreviewMembers by id
	Changes   []MemberAccessChange
}

// Sampled says the preview evaluated only some of the members.
func (p GrantPreview) Sampled() bool { return p.Evaluated < p.Members }

// MemberAccessChange is one member whose access the change moves, with the
// decision after it and its explanation.
type MemberAccessChange struct {
	UserID   string
	UserName string
	Changes  []RoleChange
	After    Access
}

// RoleChange is the effective role at one level before and after; nil is
// no role there.
type RoleChange struct {
	Where         string // "enterprise", or the sub-account's id
	Before, After *policies.ExplainedRole
}

// PreviewGrants tells which of a group's members would gain, lose or change
// a role if the group's grants became grants, without changing anything: it
// asks the policies for each member's access with the grants as they are and
// as proposed (ExplainRoles), on all members or the first MaxPreviewMembers.
// Returns KindInvalid (as PutGrants), KindNotFound (group), KindUnavailable.
func (s *Service) PreviewGrants(ctx context.Context, tenant, groupID string, grants []Grant) (GrantPreview, error) {
	if len(grants) > MaxGrantsPerGroup {
		return GrantPreview{}, &Error{Kind: KindInvalid, Attribute: "grants",
			Detail: fmt.Sprintf("a group has at most %d grants, not %d", MaxGrantsPerGroup, len(grants))}
	}
	roles, err := s.ListRoles(ctx, tenant)
	if err != nil {
		return GrantPreview{}, err
	}
	clean, err := checkGrants(roles, grants)
	if err != nil {
		return GrantPreview{}, err
	}
	if _, err := s.store.GetGroup(ctx, tenant, groupID); err != nil {
		return GrantPreview{}, fromStorage(err, "group "+groupID)
	}
	members, err := s.store.GroupMembers(ctx, tenant, groupID)
	if err != nil {
		return GrantPreview{}, fromStorage(err, "members")
	}
	sort.Strings(members)
	p := GrantPreview{Grants: clean, Members: len(members)}
	sample := members[:min(len(members), MaxPreviewMembers)]
	p.Evaluated = len(sample)
	if len(sample) == 0 {
		return p, nil
	}
	users, err := s.store.GetUsers(ctx, tenant, sample)
	if err != nil {
		return GrantPreview{}, fromStorage(err, "users")
	}
	lists, err := s.store.UsersGroups(ctx, tenant, sample)
	if err != nil {
		return GrantPreview{}, fromStorage(err, "groups")
	}
	// GetUsers skips users deleted meanwhile: groups by user id.
	groupsOf := make(map[string][]string, len(sample))
	var all []string
	for i, gs := range lists {
		groupsOf[sample[i]] = gs
		all = append(all, gs...)
	}
	slices.Sort(all)
	byGroup, err := s.store.Grants(ctx, tenant, slices.Compact(all))
	if err != nil {
		return GrantPreview{}, fromStorage(err, "grants")
	}
	custom, err := s.customRoles(ctx, tenant)
	if err != nil {
		return GrantPreview{}, err
	}
	accounts, err := s.store.ListAccounts(ctx, tenant)
	if err != nil {
		return GrantPreview{}, fromStorage(err, "accounts")
	}
	accountIDs := make([]string, 0, len(accounts))
	for _, a := range accounts {
		accountIDs = append(accountIDs, a.ID)
	}
	input := func(u storage.User, groups []string, proposed bool) policies.RoleInput {
		in := policies.RoleInput{Roles: custom, Accounts: accountIDs, Inactive: !u.Active}
		for _, g := range groups {
			gs := byGroup[g]
			if proposed && g == groupID {
				gs = clean
			}
			for _, gr := range gs {
				in.Grants = append(in.Grants, policies.Grant{Group: g, Scope: policies.Level(gr.Scope), Account: gr.Account, Role: gr.Role})
			}
		}
		return in
	}
	// A decision depends on the user's group set and active flag only:
	// members alike are evaluated once.
	type decided struct {
		after   Access
		changes []RoleChange
	}
	bySignature := map[string]decided{}
	for _, u := range users {
		groups := groupsOf[u.ID]
		if !slices.Contains(groups, groupID) {
			continue // left the group since the members were read
		}
		sig := fmt.Sprint(u.Active, groups)
		d, ok := bySignature[sig]
		if !ok {
			before, err := s.policy.ExplainRoles(ctx, input(u, groups, false))
			if err != nil {
				return GrantPreview{}, policyError(err)
			}
			after, err := s.policy.ExplainRoles(ctx, input(u, groups, true))
			if err != nil {
				return GrantPreview{}, policyError(err)
			}
			d = decided{after: after, changes: roleChanges(before, after, accountIDs)}
			bySignature[sig] = d
		}
		if changes, after := d.changes, d.after; len(changes) > 0 {
			p.Changes = append(p.Changes, MemberAccessChange{UserID: u.ID, UserName: u.UserName, Changes: changes, After: after})
		}
	}
	return p, nil
}

// roleChanges lists the levels whose effective role or score differ.
func roleChanges(before, after Access, accounts []string) []RoleChange {
	var out []RoleChange
	differ := func(a, b *policies.ExplainedRole) bool {
		if a == nil || b == nil {
			return a != b
		}
		return a.Role != b.Role || a.Score != b.Score
	}
	if differ(before.Enterprise, after.Enterprise) {
		out = append(out, RoleChange{Where: "enterprise", Before: before.Enterprise, After: after.Enterprise})
	}
	for _, acc := range accounts {
		if differ(before.Accounts[acc], after.Accounts[acc]) {
			out = append(out, RoleChange{Where: acc, Before: before.Accounts[acc], After: after.Accounts[acc]})
		}
	}
	return out
}

// ScoreRole scores a custom role as it would be saved, without saving it:
// the power score the policies give it among the tenant's roles, and any
// permissions they do not know (UnknownPermissions). It is the live score
// of the console's role editor.
// Returns KindInvalid (level, flags), KindUnavailable.
func (s *Service) ScoreRole(ctx context.Context, tenant, name string, spec RoleSpec) (RoleInfo, error) {
	if spec.Level != string(policies.LevelEnterprise) && spec.Level != string(policies.LevelAccount) {
		return RoleInfo{}, &Error{Kind: KindInvalid, Attribute: "level", Detail: `level must be "enterprise" or "account"`}
	}
	if len(spec.Permissions) > MaxRolePermissions {
		return RoleInfo{}, &Error{Kind: KindInvalid, Attribute: "permissions",
			Detail: fmt.Sprintf("a role lists at most %d permissions, not %d", MaxRolePermissions, len(spec.Permissions))}
	}
	if err := checkRoleFlags(spec); err != nil {
		return RoleInfo{}, err
	}
	custom, err := s.customRoles(ctx, tenant)
	if err != nil {
		return RoleInfo{}, err
	}
	if name == "" {
		name = "\x00new role" // a name no stored role can have
	}
	custom[name] = policies.Role{Level: policies.Level(spec.Level), Permissions: spec.Permissions, GroupManager: spec.GroupManager, FullAccess: spec.FullAccess}
	scored, err := s.policy.RoleScores(ctx, custom)
	if err != nil {
		return RoleInfo{}, policyError(err)
	}
	for _, r := range scored {
		if r.Name == name && !r.Builtin {
			return r, nil
		}
	}
	return RoleInfo{}, &Error{Kind: KindInvalid, Attribute: "name", Detail: fmt.Sprintf("%q is a built-in role", name)}
}
