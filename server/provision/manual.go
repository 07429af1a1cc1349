package provision

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// CreateManualUser creates a user by hand, as an enterprise admin does in
// the app, if the edit-lock policy allows it in the tenant's mode; it
// returns the policy's warnings with the user.
// Returns KindForbidden (the policy's reason), and what CreateUser returns.
func (s *Service) CreateManualUser(ctx context.Context, tenant string, attrs map[string]any, a Actor) (User, []string, error) {
	doc, raw, rec, err := newUserRecord(attrs)
	if err != nil {
		return User{}, nil, err
	}
	attributes := make([]string, 0, len(doc))
	for k := range doc {
		attributes = append(attributes, k)
	}
	sort.Strings(attributes)
	warnings, err := s.checkEdit(ctx, tenant, policies.EditInput{Action: policies.ActionCreate, Attributes: attributes})
	if err != nil {
		return User{}, nil, err
	}
	u, err := s.create(ctx, tenant, doc, raw, rec, a, "user.create", nil)
	return u, warnings, err
}

// UpdateManualUser changes a user by hand: apply mutates its document. The
// edit-lock policy decides, given the tenant's mode, who manages the user
// and which attributes change; a SCIM-managed user stays SCIM-managed.
// Returns KindForbidden (the policy's reason), and what PatchUser returns.
func (s *Service) UpdateManualUser(ctx context.Context, tenant, id, ifMatch string, a Actor, apply func(doc map[string]any) error) (User, []string, error) {
	check := func(ctx context.Context, prev storage.User, old, new map[string]any) ([]string, error) {
		changed := diff(old, new)
		attributes := make([]string, 0, len(changed))
		for _, c := range changed {
			attributes = append(attributes, c.Attribute)
		}
		action := policies.ActionUpdate
		wasActive, isActive := activeOf(old), activeOf(new)
		switch {
		case wasActive && !isActive:
			action = policies.ActionDeactivate
		case !wasActive && isActive:
			action = policies.ActionReactivate
		}
		return s.checkEdit(ctx, tenant, policies.EditInput{Action: action, ManagedBy: policies.ManagedBy(prev.ManagedBy), Attributes: attributes})
	}
	return s.updateUser(ctx, tenant, id, ifMatch, a, "user.update", check, func(doc map[string]any) (map[string]any, error) {
		if err := apply(doc); err != nil {
			return nil, err
		}
		return doc, nil
	})
}

// checkEdit asks the edit-lock policy about a manual change, in the
// tenant's mode (in.Mode is set here).
func (s *Service) checkEdit(ctx context.Context, tenant string, in policies.EditInput) ([]string, error) {
	t, err := s.store.GetTenant(ctx, tenant)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	in.Mode = policies.Mode(t.Mode)
	d, err := s.policy.CheckEdit(ctx, in)
	if err != nil {
		return nil, policyError(err)
	}
	if !d.Allow {
		return nil, &Error{Kind: KindForbidden, Detail: d.Reason}
	}
	return d.Warnings, nil
}

// CreateManualGroup makes a group in the app (an app group, to grant roles
// through), if the edit-lock policy allows it in the tenant's mode; members
// are user ids. It returns the policy's warnings with the group.
// Returns KindForbidden (the policy's reason), and what CreateGroup returns.
func (s *Service) CreateManualGroup(ctx context.Context, tenant, displayName string, members []string, a Actor) (Group, []string, error) {
	attributes := []string{"displayName"}
	if len(members) > 0 {
		attributes = append(attributes, "members")
	}
	warnings, err := s.checkEdit(ctx, tenant, policies.EditInput{Resource: policies.ResourceGroup, Action: policies.ActionCreate, Attributes: attributes})
	if err != nil {
		return Group{}, nil, err
	}
	g, err := s.CreateGroup(ctx, tenant, map[string]any{"displayName": strings.TrimSpace(displayName)}, members, a)
	return g, warnings, err
}

// UpdateManualGroup renames a group (when displayName is not nil) and
// changes its members by hand. The edit-lock policy decides, given the
// tenant's mode, who manages the group and what changes, against the very
// version the change is written over.
// Returns KindForbidden (the policy's reason), and what PatchGroup returns.
func (s *Service) UpdateManualGroup(ctx context.Context, tenant, id, ifMatch string, displayName *string, members MemberChange, a Actor) (Group, []string, error) {
	check := func(ctx context.Context, prev storage.Group, old, new map[string]any, mc MemberChange) ([]string, error) {
		var attributes []string
		for _, c := range diff(old, new) {
			attributes = append(attributes, c.Attribute)
		}
		if !mc.empty() {
			attributes = append(attributes, "members")
		}
		return s.checkEdit(ctx, tenant, policies.EditInput{Resource: policies.ResourceGroup, Action: policies.ActionUpdate,
			ManagedBy: groupManager(prev), Attributes: attributes})
	}
	return s.updateGroupChecked(ctx, tenant, id, ifMatch, a, "group.update", check, func(doc map[string]any) (map[string]any, MemberChange, error) {
		if displayName != nil {
			doc["displayName"] = strings.TrimSpace(*displayName)
		}
		return doc, members, nil
	})
}

// DeleteManualGroup deletes a group by hand if the edit-lock policy allows
// it, and returns the policy's warnings.
// Returns KindForbidden (the policy's reason), and what DeleteGroup returns.
func (s *Service) DeleteManualGroup(ctx context.Context, tenant, id, ifMatch string, a Actor) ([]string, error) {
	for attempt := 0; attempt < s.opts.WriteRetries; attempt++ {
		prev, err := s.store.GetGroup(ctx, tenant, id)
		if err != nil {
			return nil, fromStorage(err, "group "+id)
		}
		if !etagMatches(ifMatch, prev.Version) {
			return nil, errPrecondition
		}
		warnings, err := s.checkEdit(ctx, tenant, policies.EditInput{Resource: policies.ResourceGroup, Action: policies.ActionDelete, ManagedBy: groupManager(prev)})
		if err != nil {
			return nil, err
		}
		// Delete the version the policy decided on: a SCIM takeover in
		// between must not be deleted by a decision about an app group.
		ev := s.event(a, "group.delete", "Group", id, nil)
		err = s.store.DeleteGroupAt(ctx, tenant, id, prev.Version, ev.encode())
		if errors.Is(err, storage.ErrVersionConflict) {
			if ifMatch != "" {
				return nil, errPrecondition
			}
			continue
		}
		return warnings, fromStorage(err, "group "+id)
	}
	return nil, &Error{Kind: KindConflict, Detail: "group " + id + " kept changing concurrently; try again"}
}

// groupManager is who manages a stored group; records written before groups
// could be made in the app have none and came from SCIM.
func groupManager(g storage.Group) policies.ManagedBy {
	if g.ManagedBy == "" {
		return policies.ManagedBySCIM
	}
	return policies.ManagedBy(g.ManagedBy)
}

func activeOf(doc map[string]any) bool {
	b, ok := doc["active"].(bool)
	return !ok || b // absent means active
}
