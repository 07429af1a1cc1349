package provision

import (
	"context"
	"strings"

	"github.com/scimd/scimd/policies"
)

// UserFields are the attributes of a user an admin edits in the app, flat:
// the admin API's and the console's view of the SCIM document.
type UserFields struct {
	UserName, GivenName, FamilyName, DisplayName, Email, EmployeeNumber, Department string
}

// Fields reads a user's flat fields from its document.
func (u User) Fields() UserFields {
	var f UserFields
	f.UserName, _ = u.Attrs["userName"].(string)
	f.DisplayName, _ = u.Attrs["displayName"].(string)
	if name, ok := u.Attrs["name"].(map[string]any); ok {
		f.GivenName, _ = name["givenName"].(string)
		f.FamilyName, _ = name["familyName"].(string)
	}
	if ext, ok := u.Attrs[EnterpriseUser].(map[string]any); ok {
		f.EmployeeNumber, _ = ext["employeeNumber"].(string)
		f.Department, _ = ext["department"].(string)
	}
	f.Email = WorkEmail(u.Attrs)
	return f
}

// UserEdit is a change to a user's flat fields: a nil field stays, an empty
// (or blank) string removes the attribute.
type UserEdit struct {
	UserName       *string
	GivenName      *string
	FamilyName     *string
	DisplayName    *string
	Email          *string
	EmployeeNumber *string
	Department     *string
	Active         *bool
}

// Apply writes the fields that are present onto a SCIM user document.
func (e UserEdit) Apply(doc map[string]any) {
	set := func(m map[string]any, k string, v *string) {
		if v == nil {
			return
		}
		if strings.TrimSpace(*v) == "" {
			delete(m, k)
			return
		}
		m[k] = strings.TrimSpace(*v)
	}
	sub := func(k string) map[string]any {
		m, ok := doc[k].(map[string]any)
		if !ok {
			m = map[string]any{}
			doc[k] = m
		}
		return m
	}
	set(doc, "userName", e.UserName)
	set(doc, "displayName", e.DisplayName)
	if e.GivenName != nil || e.FamilyName != nil {
		name := sub("name")
		set(name, "givenName", e.GivenName)
		set(name, "familyName", e.FamilyName)
	}
	if e.EmployeeNumber != nil || e.Department != nil {
		ext := sub(EnterpriseUser)
		set(ext, "employeeNumber", e.EmployeeNumber)
		set(ext, "department", e.Department)
	}
	if e.Email != nil {
		setWorkEmail(doc, strings.TrimSpace(*e.Email))
	}
	if e.Active != nil {
		doc["active"] = *e.Active
	}
}

// setWorkEmail replaces the work email (adding one if there is none), or
// removes it for "", leaving other emails alone.
func setWorkEmail(doc map[string]any, email string) {
	list, _ := doc["emails"].([]any)
	out := make([]any, 0, len(list)+1)
	replaced := false
	for _, e := range list {
		m, _ := e.(map[string]any)
		if t, _ := m["type"].(string); strings.EqualFold(t, "work") {
			if email != "" && !replaced {
				m["value"] = email
				out = append(out, m)
				replaced = true
			}
			continue
		}
		out = append(out, e)
	}
	if email != "" && !replaced {
		out = append(out, map[string]any{"type": "work", "value": email, "primary": len(out) == 0})
	}
	doc["emails"] = out
}

// FieldLock is the locks policy's answer for changing one field of a user
// by hand: whether it may change, and why (or why not).
type FieldLock struct {
	Locked bool
	Reason string
}

// The fields UserLocks answers for, by their UserFields names, and the
// attribute paths a change of each touches (as UpdateManualUser's diff
// names them); "active" is a deactivation or reactivation.
var lockFields = []struct{ field, path string }{
	{"userName", "userName"},
	{"givenName", "name.givenName"},
	{"familyName", "name.familyName"},
	{"displayName", "displayName"},
	{"email", "emails"},
	{"employeeNumber", EnterpriseUser + ":employeeNumber"},
	{"department", EnterpriseUser + ":department"},
	{"groups", "groups"},
	{"active", ""},
}

// UserLocks asks the locks policy, in the tenant's mode, about a change of
// each field of u by hand, so a page can show which fields are locked and
// why before anyone tries. Edits are still decided on write.
// Returns KindNotFound, KindUnavailable.
func (s *Service) UserLocks(ctx context.Context, tenant string, u User) (map[string]FieldLock, error) {
	t, err := s.store.GetTenant(ctx, tenant)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	out := make(map[string]FieldLock, len(lockFields))
	for _, f := range lockFields {
		in := policies.EditInput{Mode: policies.Mode(t.Mode), Action: policies.ActionUpdate, ManagedBy: policies.ManagedBy(u.ManagedBy)}
		switch {
		case f.field != "active":
			in.Attributes = []string{f.path}
		case u.Active:
			in.Action = policies.ActionDeactivate
		default:
			in.Action = policies.ActionReactivate
		}
		d, err := s.policy.CheckEdit(ctx, in)
		if err != nil {
			return nil, policyError(err)
		}
		out[f.field] = FieldLock{Locked: !d.Allow, Reason: d.Reason}
	}
	return out, nil
}
