package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/storage"
)

// TenantChange is an operator's change to a tenant; nil fields stay.
type TenantChange struct {
	Name         *string
	LicenseLimit *int64
	// Quotas sets the tenant's own quotas; a nil field stays, 0 goes back
	// to the operator's default.
	Quotas QuotaChange
}

// QuotaChange changes some of a tenant's quotas; nil fields stay.
type QuotaChange struct {
	Users, Groups, Members *int64
}

// UpdateTenant changes a tenant's name, license limit or quotas. A raised
// limit or quota takes effect for the next request.
// Returns KindInvalid, KindNotFound, KindUnavailable.
func (s *Service) UpdateTenant(ctx context.Context, id string, c TenantChange, a Actor) (Tenant, error) {
	return s.changeTenant(ctx, id, a, "tenant.update", func(t *storage.Tenant) ([]Change, error) {
		var changes []Change
		if c.Name != nil {
			name := strings.TrimSpace(*c.Name)
			if name == "" {
				return nil, &Error{Kind: KindInvalid, Attribute: "name", Detail: "name must not be empty"}
			}
			changes = append(changes, Change{Attribute: "name", Old: t.Name, New: name})
			t.Name = name
		}
		if c.LicenseLimit != nil {
			if *c.LicenseLimit < 0 {
				return nil, &Error{Kind: KindInvalid, Attribute: "licenseLimit", Detail: "licenseLimit must not be negative"}
			}
			changes = append(changes, Change{Attribute: "licenseLimit", Old: t.LicenseLimit, New: *c.LicenseLimit})
			t.LicenseLimit = *c.LicenseLimit
		}
		for _, q := range []struct {
			name string
			set  *int64
			cur  *int64
		}{
			{"quotas.users", c.Quotas.Users, &t.Quotas.Users},
			{"quotas.groups", c.Quotas.Groups, &t.Quotas.Groups},
			{"quotas.membersPerGroup", c.Quotas.Members, &t.Quotas.Members},
		} {
			if q.set == nil {
				continue
			}
			if *q.set < 0 {
				return nil, &Error{Kind: KindInvalid, Attribute: q.name, Detail: q.name + " must not be negative (0 means the default)"}
			}
			if *q.set != *q.cur {
				changes = append(changes, Change{Attribute: q.name, Old: *q.cur, New: *q.set})
				*q.cur = *q.set
			}
		}
		return changes, nil
	})
}

// ProvisioningChange is a tenant admin's change to how provisioning works;
// nil fields stay.
type ProvisioningChange struct {
	Mode           *string   // "idp" or "manual"
	MatchBy        *[]string // identifiers linking matches on, in order
	UnmatchedUsers *string   // "keep" or "deactivate"
}

// UpdateProvisioning changes the provisioning mode, the linking identifiers
// or the unmatched-users setting, audited.
// Returns KindInvalid, KindNotFound, KindUnavailable.
func (s *Service) UpdateProvisioning(ctx context.Context, tenant string, c ProvisioningChange, a Actor) (Tenant, error) {
	return s.changeTenant(ctx, tenant, a, "provisioning.update", func(t *storage.Tenant) ([]Change, error) {
		var changes []Change
		if c.Mode != nil {
			if *c.Mode != "idp" && *c.Mode != "manual" {
				return nil, &Error{Kind: KindInvalid, Attribute: "mode", Detail: `mode must be "idp" or "manual"`}
			}
			changes = append(changes, Change{Attribute: "mode", Old: t.Mode, New: *c.Mode})
			t.Mode = *c.Mode
		}
		if c.MatchBy != nil {
			seen := map[string]bool{}
			for _, m := range *c.MatchBy {
				if m != MatchUserName && m != MatchEmail && m != MatchEmployeeNumber {
					return nil, &Error{Kind: KindInvalid, Attribute: "matchBy", Detail: fmt.Sprintf(`matchBy lists "userName", "email" or "employeeNumber", not %q`, m)}
				}
				if seen[m] {
					return nil, &Error{Kind: KindInvalid, Attribute: "matchBy", Detail: fmt.Sprintf("matchBy names %q twice", m)}
				}
				seen[m] = true
			}
			changes = append(changes, Change{Attribute: "matchBy", Old: t.MatchBy, New: *c.MatchBy})
			t.MatchBy = append([]string{}, *c.MatchBy...)
		}
		if c.UnmatchedUsers != nil {
			if *c.UnmatchedUsers != "keep" && *c.UnmatchedUsers != "deactivate" {
				return nil, &Error{Kind: KindInvalid, Attribute: "unmatchedUsers", Detail: `unmatchedUsers must be "keep" or "deactivate"`}
			}
			changes = append(changes, Change{Attribute: "unmatchedUsers", Old: t.UnmatchedUsers, New: *c.UnmatchedUsers})
			t.UnmatchedUsers = *c.UnmatchedUsers
		}
		return changes, nil
	})
}

func (s *Service) changeTenant(ctx context.Context, id string, a Actor, action string, change func(*storage.Tenant) ([]Change, error)) (Tenant, error) {
	if err := s.writeTenant(ctx, id, a, action, change); err != nil {
		return Tenant{}, err
	}
	return s.GetTenant(ctx, id)
}

// writeTenant is changeTenant without reading the result back: a change
// that landed is not reported as failed because a later read did.
func (s *Service) writeTenant(ctx context.Context, id string, a Actor, action string, change func(*storage.Tenant) ([]Change, error)) error {
	for attempt := 0; attempt < s.opts.WriteRetries; attempt++ {
		prev, err := s.store.GetTenant(ctx, id)
		if err != nil {
			return fromStorage(err, "tenant")
		}
		t := prev
		t.MatchBy = slices.Clone(prev.MatchBy)
		changes, err := change(&t)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		ev := s.event(a, action, "Tenant", id, changes)
		err = s.store.UpdateTenant(ctx, prev, t, ev.encode())
		if errors.Is(err, storage.ErrVersionConflict) {
			continue // another change landed: apply this one to it
		}
		return fromStorage(err, "tenant")
	}
	return fromStorage(storage.ErrVersionConflict, "tenant")
}

// License is the license state an enterprise admin sees.
type License struct {
	Limit       int64
	SeatsUsed   int64
	Refusals    int64
	LastRefusal time.Time // zero if never refused
	// Quotas in force, and what the tenant holds of them.
	Quotas        Quotas
	Users, Groups int64
}

// License reports the tenant's seats. Returns KindNotFound, KindUnavailable.
func (s *Service) License(ctx context.Context, tenant string) (License, error) {
	t, err := s.GetTenant(ctx, tenant)
	if err != nil {
		return License{}, err
	}
	return License{Limit: t.LicenseLimit, SeatsUsed: t.SeatsUsed, Refusals: t.LicenseRefusals, LastRefusal: t.LastLicenseRefusal,
		Quotas: t.Quotas, Users: t.Users, Groups: t.Groups}, nil
}

// noteRefusal counts a refused seat for the license report; err is passed
// through. Counting is best effort: the refusal itself already happened.
func (s *Service) noteRefusal(ctx context.Context, tenant string, err error) error {
	if KindOf(err) == KindLicenseExhausted {
		if rerr := s.store.RecordLicenseRefusal(ctx, tenant, s.now().UTC()); rerr != nil {
			return err
		}
	}
	return err
}
