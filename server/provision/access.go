package provision

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// policy is what the service asks of the policies; declared here, where it
// is used. Every rule about roles and edits is answered there, never here.
type policy interface {
	ExplainRoles(ctx context.Context, in policies.RoleInput) (policies.Explanation, error)
	RoleScores(ctx context.Context, custom map[string]policies.Role) ([]policies.RoleScore, error)
	CheckEdit(ctx context.Context, in policies.EditInput) (policies.EditDecision, error)
}

// Account is a sub-account of a tenant.
type Account = storage.Account

// Grant maps a group to a role, at enterprise level or for one sub-account.
type Grant = storage.Grant

// RoleSpec is a custom role as an admin defines it.
type RoleSpec struct {
	Level        string
	Permissions  []string
	GroupManager bool
	// FullAccess: the enterprise role grants full access to all
	// sub-accounts; nil leaves it to the policy's default.
	FullAccess *bool
}

// RoleInfo is a role of the tenant's catalog with the score the policies give it.
type RoleInfo = policies.RoleScore

// Access is a user's effective access, explained.
type Access = policies.Explanation

// PutAccount creates or renames a sub-account and reports whether it was created.
// Returns KindInvalid, KindNotFound (tenant), KindUnavailable.
func (s *Service) PutAccount(ctx context.Context, tenant, id, name string, a Actor) (Account, bool, error) {
	if !ValidTenantID(id) {
		return Account{}, false, &Error{Kind: KindInvalid, Attribute: "id", Detail: "a sub-account id is 1-63 lower-case letters, digits or dashes"}
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return Account{}, false, &Error{Kind: KindInvalid, Attribute: "name", Detail: "name is required"}
	}
	if len(name) > MaxAccountNameBytes {
		return Account{}, false, &Error{Kind: KindInvalid, Attribute: "name",
			Detail: fmt.Sprintf("name is %d bytes; a sub-account name may be at most %d bytes", len(name), MaxAccountNameBytes)}
	}
	acc := Account{ID: id, Name: name, Created: s.now().UTC()}
	ev := s.event(a, "account.put", "Account", id, []Change{{Attribute: "name", New: name}})
	created, err := s.store.PutAccount(ctx, tenant, acc, ev.encode())
	if err != nil {
		return Account{}, false, fromStorage(err, "tenant")
	}
	return acc, created, nil
}

// ListAccounts returns the tenant's sub-accounts. Returns KindUnavailable.
func (s *Service) ListAccounts(ctx context.Context, tenant string) ([]Account, error) {
	out, err := s.store.ListAccounts(ctx, tenant)
	return out, fromStorage(err, "accounts")
}

// DeleteAccount removes a sub-account and the grants made for it.
// Returns KindNotFound, KindUnavailable.
func (s *Service) DeleteAccount(ctx context.Context, tenant, id string, a Actor) error {
	ev := s.event(a, "account.delete", "Account", id, nil)
	_, err := s.store.DeleteAccount(ctx, tenant, id, ev.encode())
	return fromStorage(err, "sub-account "+id)
}

// ListRoles returns the built-in and custom roles with their scores, as the
// policies compute them. Returns KindUnavailable, KindInternal.
func (s *Service) ListRoles(ctx context.Context, tenant string) ([]RoleInfo, error) {
	custom, err := s.customRoles(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out, err := s.policy.RoleScores(ctx, custom)
	if err != nil {
		return nil, policyError(err)
	}
	return out, nil
}

// PutRole creates or replaces a custom role and returns it as scored.
// Built-in roles cannot be overwritten, nor named again but for case; a
// Group Manager flag needs an enterprise role; a role cannot change level
// while grants name it.
// Returns KindInvalid, KindInUse (granted, naming the grants), KindNotFound
// (tenant), KindUnavailable.
func (s *Service) PutRole(ctx context.Context, tenant, name string, spec RoleSpec, a Actor) (RoleInfo, bool, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || len(name) > 100:
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "name", Detail: "a role name is 1-100 characters"}
	case spec.Level != string(policies.LevelEnterprise) && spec.Level != string(policies.LevelAccount):
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "level", Detail: `level must be "enterprise" or "account"`}
	case len(spec.Permissions) == 0:
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "permissions", Detail: "a role needs at least one permission"}
	case len(spec.Permissions) > MaxRolePermissions:
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "permissions",
			Detail: fmt.Sprintf("a role lists at most %d permissions, not %d", MaxRolePermissions, len(spec.Permissions))}
	}
	if err := checkRoleFlags(spec); err != nil {
		return RoleInfo{}, false, err
	}
	custom, err := s.customRoles(ctx, tenant)
	if err != nil {
		return RoleInfo{}, false, err
	}
	custom[name] = policies.Role{Level: policies.Level(spec.Level), Permissions: spec.Permissions, GroupManager: spec.GroupManager, FullAccess: spec.FullAccess}
	scored, err := s.policy.RoleScores(ctx, custom)
	if err != nil {
		return RoleInfo{}, false, policyError(err)
	}
	var info RoleInfo
	for _, r := range scored {
		if r.Name == name {
			info = r
		}
	}
	switch builtin := builtinNamed(scored, name); {
	case info.Builtin:
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "name", Detail: fmt.Sprintf("%q is a built-in role and cannot be changed", name)}
	case builtin != "":
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "name", Detail: fmt.Sprintf("%q differs from the built-in role %q only by case: choose another name", name, builtin)}
	case len(info.UnknownPermissions) > 0:
		return RoleInfo{}, false, &Error{Kind: KindInvalid, Attribute: "permissions",
			Detail: "unknown permissions: " + strings.Join(info.UnknownPermissions, ", ")}
	}
	ev := s.event(a, "role.put", "Role", name, []Change{{Attribute: "definition", New: spec}})
	created, err := s.store.PutRole(ctx, tenant, storage.Role{Name: name, Level: spec.Level, Permissions: info.Permissions, GroupManager: spec.GroupManager, FullAccess: spec.FullAccess}, ev.encode())
	if err != nil {
		return RoleInfo{}, false, roleError(err, name, "change its level", "tenant")
	}
	return info, created, nil
}

// PutGrants replaces a group's role grants.
// Returns KindInvalid (unknown role or sub-account, a role of the wrong
// level), KindNotFound (group), KindConflict (a custom role named was
// deleted or changed level meanwhile), KindUnavailable.
func (s *Service) PutGrants(ctx context.Context, tenant, groupID string, grants []Grant, a Actor) ([]Grant, error) {
	if len(grants) > MaxGrantsPerGroup {
		return nil, &Error{Kind: KindInvalid, Attribute: "grants",
			Detail: fmt.Sprintf("a group has at most %d grants, not %d", MaxGrantsPerGroup, len(grants))}
	}
	roles, err := s.ListRoles(ctx, tenant)
	if err != nil {
		return nil, err
	}
	clean, err := checkGrants(roles, grants)
	if err != nil {
		return nil, err
	}
	before, err := s.store.Grants(ctx, tenant, []string{groupID})
	if err != nil {
		return nil, fromStorage(err, "grants")
	}
	ev := s.event(a, "group.grants", "Group", groupID, []Change{{Attribute: "grants", Old: before[groupID], New: clean}})
	err = s.store.PutGrants(ctx, tenant, groupID, clean, customLevels(roles, clean), ev.encode())
	var missing *storage.AccountNotFoundError
	if errors.As(err, &missing) {
		return nil, &Error{Kind: KindInvalid, Attribute: "account", Detail: fmt.Sprintf("no sub-account is named %q", missing.ID)}
	}
	if errors.Is(err, storage.ErrRoleChanged) {
		return nil, &Error{Kind: KindConflict, Detail: "a role these grants name was changed or deleted meanwhile; try again", cause: err}
	}
	if err != nil {
		return nil, fromStorage(err, "group "+groupID)
	}
	return clean, nil
}

// GetGrants returns a group's role grants. Returns KindNotFound, KindUnavailable.
func (s *Service) GetGrants(ctx context.Context, tenant, groupID string) ([]Grant, error) {
	if _, err := s.store.GetGroup(ctx, tenant, groupID); err != nil {
		return nil, fromStorage(err, "group "+groupID)
	}
	all, err := s.store.Grants(ctx, tenant, []string{groupID})
	if err != nil {
		return nil, fromStorage(err, "grants")
	}
	if all[groupID] == nil {
		return []Grant{}, nil
	}
	return all[groupID], nil
}

// GroupsGrants returns the grants of each group in ids (an empty list for a
// group without any), in one read. Returns KindUnavailable.
func (s *Service) GroupsGrants(ctx context.Context, tenant string, ids []string) (map[string][]Grant, error) {
	all, err := s.store.Grants(ctx, tenant, ids)
	if err != nil {
		return nil, fromStorage(err, "grants")
	}
	out := make(map[string][]Grant, len(ids))
	for _, id := range ids {
		out[id] = all[id]
		if out[id] == nil {
			out[id] = []Grant{}
		}
	}
	return out, nil
}

// UserAccess returns the user's effective access at enterprise level and in
// every sub-account, explained, as the policies decide it from the grants of
// the user's groups. Returns KindNotFound, KindUnavailable.
func (s *Service) UserAccess(ctx context.Context, tenant, userID string) (Access, error) {
	in, err := s.roleInput(ctx, tenant, userID)
	if err != nil {
		return Access{}, err
	}
	out, err := s.policy.ExplainRoles(ctx, in)
	if err != nil {
		return Access{}, policyError(err)
	}
	return out, nil
}

func (s *Service) roleInput(ctx context.Context, tenant, userID string) (policies.RoleInput, error) {
	u, err := s.store.GetUser(ctx, tenant, userID)
	if err != nil {
		return policies.RoleInput{}, fromStorage(err, "user "+userID)
	}
	groups, err := s.store.UserGroups(ctx, tenant, userID)
	if err != nil {
		return policies.RoleInput{}, fromStorage(err, "groups")
	}
	sort.Strings(groups)
	byGroup, err := s.store.Grants(ctx, tenant, groups)
	if err != nil {
		return policies.RoleInput{}, fromStorage(err, "grants")
	}
	custom, err := s.customRoles(ctx, tenant)
	if err != nil {
		return policies.RoleInput{}, err
	}
	accounts, err := s.store.ListAccounts(ctx, tenant)
	if err != nil {
		return policies.RoleInput{}, fromStorage(err, "accounts")
	}
	in := policies.RoleInput{Roles: custom, Accounts: make([]string, 0, len(accounts)), Inactive: !u.Active}
	for _, acc := range accounts {
		in.Accounts = append(in.Accounts, acc.ID)
	}
	for _, g := range groups {
		for _, gr := range byGroup[g] {
			in.Grants = append(in.Grants, policies.Grant{Group: g, Scope: policies.Level(gr.Scope), Account: gr.Account, Role: gr.Role})
		}
	}
	return in, nil
}

func (s *Service) customRoles(ctx context.Context, tenant string) (map[string]policies.Role, error) {
	roles, err := s.store.ListRoles(ctx, tenant)
	if err != nil {
		return nil, fromStorage(err, "roles")
	}
	out := make(map[string]policies.Role, len(roles))
	for _, r := range roles {
		out[r.Name] = policies.Role{Level: policies.Level(r.Level), Permissions: r.Permissions, GroupManager: r.GroupManager, FullAccess: r.FullAccess}
	}
	return out, nil
}

// policyError: a policy that fails to answer is a fault of the deployment,
// not of the request.
func policyError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Kind: KindUnavailable, Detail: "the policy engine did not answer in time", cause: err}
	}
	return &Error{Kind: KindInternal, Detail: "internal error", cause: err}
}

// checkGrants checks grants against the roles (each names a role of its
// scope, an account grant its sub-account) and drops repeats.
// Returns KindInvalid.
func checkGrants(roles []RoleInfo, grants []Grant) ([]Grant, error) {
	levels := make(map[string]string, len(roles))
	for _, r := range roles {
		levels[r.Name] = string(r.Level)
	}
	seen := map[Grant]bool{}
	clean := make([]Grant, 0, len(grants))
	for i, g := range grants {
		where := fmt.Sprintf("grants[%d]", i)
		switch {
		case g.Scope != "enterprise" && g.Scope != "account":
			return nil, &Error{Kind: KindInvalid, Attribute: where, Detail: where + `: scope must be "enterprise" or "account"`}
		case g.Scope == "account" && g.Account == "":
			return nil, &Error{Kind: KindInvalid, Attribute: where, Detail: where + ": an account grant names its sub-account"}
		case g.Scope == "enterprise" && g.Account != "":
			return nil, &Error{Kind: KindInvalid, Attribute: where, Detail: where + ": an enterprise grant names no sub-account"}
		case levels[g.Role] == "":
			return nil, &Error{Kind: KindInvalid, Attribute: where, Detail: fmt.Sprintf("%s: no role is named %q", where, g.Role)}
		case levels[g.Role] != g.Scope:
			return nil, &Error{Kind: KindInvalid, Attribute: where, Detail: fmt.Sprintf("%s: %q is an %s role and cannot be granted at %s level", where, g.Role, levels[g.Role], g.Scope)}
		}
		if !seen[g] {
			seen[g] = true
			clean = append(clean, g)
		}
	}
	return clean, nil
}
