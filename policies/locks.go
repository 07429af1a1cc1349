package policies

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Mode is a tenant's provisioning mode.
type Mode string

// The provisioning modes.
const (
	ModeIDP    Mode = "idp"    // the identity provider manages users
	ModeManual Mode = "manual" // users are managed in the app
)

// Resource is what a manual change is made to.
type Resource string

// The resources the locks policy knows. The zero value means a user.
const (
	ResourceUser  Resource = "user"
	ResourceGroup Resource = "group"
)

// Action is a manual change an admin asks to make to a user or a group
// (groups know create, update and delete).
type Action string

// The actions the locks policy knows.
const (
	ActionCreate     Action = "create"
	ActionUpdate     Action = "update"
	ActionDeactivate Action = "deactivate"
	ActionReactivate Action = "reactivate"
	ActionDelete     Action = "delete"
)

// ManagedBy records who manages a user.
type ManagedBy string

// Who manages a user. The zero value means "no user yet" (a create).
const (
	ManagedBySCIM   ManagedBy = "scim"
	ManagedByManual ManagedBy = "manual"
)

// EditInput asks whether a manual change to a user or a group is allowed.
type EditInput struct {
	Resource  Resource // empty for a user
	Mode      Mode
	Action    Action
	ManagedBy ManagedBy // empty for a create
	// Attributes are the SCIM attribute paths the change touches, such as
	// "userName", "name.givenName" or `emails[type eq "work"].value` (for a
	// group, "displayName" or "members"), and the app-only settings it
	// touches, such as "roles".
	Attributes []string
}

// EditDecision is the answer of the locks policy. A refusal is a decision, not
// an error.
type EditDecision struct {
	Allow bool `json:"allow"`
	// Reason is a sentence an admin can read; a refusal names the locked
	// attributes.
	Reason   string   `json:"reason"`
	Warnings []string `json:"warnings"`
	// LockedAttributes are the locked attributes the change touches, by their
	// canonical SCIM names.
	LockedAttributes []string `json:"locked_attributes"`
}

// CheckEdit asks the locks policy whether a manual change is allowed. Errors
// wrap ctx.Err(), ErrEval, ErrUndefined or ErrMultipleResults; a refusal is an
// EditDecision with Allow false.
func (e *Engine) CheckEdit(ctx context.Context, in EditInput) (EditDecision, error) {
	var out EditDecision
	v, err := e.eval(ctx, e.decision, queryDecision, in.value())
	if err != nil {
		return out, err
	}
	err = decode(v, queryDecision, &out)
	return out, err
}

func (in EditInput) value() ast.Value {
	attrs := make([]*ast.Term, len(in.Attributes))
	for i, a := range in.Attributes {
		attrs[i] = ast.StringTerm(a)
	}
	managedBy := ast.NullTerm()
	if in.ManagedBy != "" {
		managedBy = ast.StringTerm(string(in.ManagedBy))
	}
	resource := in.Resource
	if resource == "" {
		resource = ResourceUser
	}
	return ast.NewObject(
		ast.Item(ast.InternedTerm("resource"), ast.StringTerm(string(resource))),
		ast.Item(ast.InternedTerm("mode"), ast.StringTerm(string(in.Mode))),
		ast.Item(ast.InternedTerm("action"), ast.StringTerm(string(in.Action))),
		ast.Item(ast.InternedTerm("managed_by"), managedBy),
		ast.Item(ast.InternedTerm("attributes"), ast.ArrayTerm(attrs...)),
	)
}
