package provision

import (
	"context"
	"sort"

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
	warnings, err := s.checkEdit(ctx, tenant, policies.ActionCreate, "", attributes)
	if err != nil {
		return User{}, nil, err
	}
	u, err := s.create(ctx, tenant, doc, raw, rec, a, "user.create")
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
		return s.checkEdit(ctx, tenant, action, policies.ManagedBy(prev.ManagedBy), attributes)
	}
	return s.updateUser(ctx, tenant, id, ifMatch, a, "user.update", check, func(doc map[string]any) (map[string]any, error) {
		if err := apply(doc); err != nil {
			return nil, err
		}
		return doc, nil
	})
}

// checkEdit asks the edit-lock policy about a manual change.
func (s *Service) checkEdit(ctx context.Context, tenant string, action policies.Action, managedBy policies.ManagedBy, attributes []string) ([]string, error) {
	t, err := s.store.GetTenant(ctx, tenant)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	d, err := s.policy.CheckEdit(ctx, policies.EditInput{Mode: policies.Mode(t.Mode), Action: action, ManagedBy: managedBy, Attributes: attributes})
	if err != nil {
		return nil, policyError(err)
	}
	if !d.Allow {
		return nil, &Error{Kind: KindForbidden, Detail: d.Reason}
	}
	return d.Warnings, nil
}

func activeOf(doc map[string]any) bool {
	b, ok := doc["active"].(bool)
	return !ok || b // absent means active
}
