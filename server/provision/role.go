package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// DeleteRole deletes a custom role that no grant names.
// Returns KindInvalid (a built-in role), KindNotFound (no such custom role),
// KindInUse (granted, naming the grants), KindUnavailable.
func (s *Service) DeleteRole(ctx context.Context, tenant, name string, a Actor) error {
	roles, err := s.ListRoles(ctx, tenant)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if r.Name == name && r.Builtin {
			return &Error{Kind: KindInvalid, Attribute: "name", Detail: fmt.Sprintf("%q is a built-in role and cannot be deleted", name)}
		}
	}
	ev := s.event(a, "role.delete", "Role", name, nil)
	return roleError(s.store.DeleteRole(ctx, tenant, name, ev.encode()), name, "delete it", "role "+name)
}

// checkRoleFlags refuses flags a role's level does not allow: the Group
// Manager flag is for enterprise roles (the FAQ's Enterprise Roles), and
// full access to all sub-accounts only for an enterprise role that is not a
// Group Manager role.
func checkRoleFlags(spec RoleSpec) error {
	enterprise := spec.Level == string(policies.LevelEnterprise)
	fullAccess := spec.FullAccess != nil && *spec.FullAccess
	switch {
	case spec.GroupManager && !enterprise:
		return &Error{Kind: KindInvalid, Attribute: "groupManager", Detail: "only an enterprise role can be a Group Manager role"}
	case fullAccess && !enterprise:
		return &Error{Kind: KindInvalid, Attribute: "fullAccess", Detail: "only an enterprise role can grant full access to all sub-accounts"}
	case fullAccess && spec.GroupManager:
		return &Error{Kind: KindInvalid, Attribute: "fullAccess", Detail: "a Group Manager role grants no access to the sub-accounts: fullAccess must be false"}
	}
	return nil
}

// builtinNamed returns the built-in role of the catalog whose name equals
// name but for case, or "".
func builtinNamed(catalog []RoleInfo, name string) string {
	for _, r := range catalog {
		if r.Builtin && r.Name != name && strings.EqualFold(r.Name, name) {
			return r.Name
		}
	}
	return ""
}

// customLevels maps each custom role the grants name to its level, for the
// store to check that none moved since.
func customLevels(catalog []RoleInfo, grants []Grant) map[string]string {
	custom := make(map[string]string, len(catalog))
	for _, r := range catalog {
		if !r.Builtin {
			custom[r.Name] = string(r.Level)
		}
	}
	out := map[string]string{}
	for _, g := range grants {
		if level, ok := custom[g.Role]; ok {
			out[g.Role] = level
		}
	}
	return out
}

// roleError translates a store error about the role name; doing says what
// grants prevent ("delete it"), missing what was not found.
func roleError(err error, name, doing, missing string) error {
	var inUse *storage.RoleInUseError
	if errors.As(err, &inUse) {
		uses := make([]string, 0, len(inUse.Uses))
		for _, u := range inUse.Uses {
			where := u.Scope
			if u.Account != "" {
				where += " " + u.Account
			}
			uses = append(uses, fmt.Sprintf("group %s (%s)", u.Group, where))
		}
		return &Error{Kind: KindInUse, Attribute: "name", cause: err,
			Detail: fmt.Sprintf("the role %q is granted by %s: remove those grants to %s", name, strings.Join(uses, ", "), doing)}
	}
	return fromStorage(err, missing)
}
