package provision

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Actor kinds of audit events. The kind is structural: no admin token name,
// whatever it spells, is ever shown as another kind.
const (
	ActorOperator = "operator" // the operator token; no name
	ActorAdmin    = "admin"    // a tenant admin token, by its name
	ActorLegacy   = "legacy"   // an event written before kinds: its actor was a bare string
)

// The sources of audit events: the SCIM API (no actor, no IP: the identity
// provider's calls name neither), the admin API and console, and scimd's
// access resolver (server/access writes "resolver" events itself: one
// access.change per cause, no actor, no IP).
const (
	SourceSCIM     = "scim"
	SourceAdmin    = "admin"
	SourceResolver = "resolver"
)

// ValidAuditSource reports whether s is a source the audit log can be
// filtered by.
func ValidAuditSource(s string) bool {
	return s == SourceSCIM || s == SourceAdmin || s == SourceResolver
}

// ActorRef is who made an audited change: {"kind":"operator"},
// {"kind":"admin","name":...}, or {"kind":"legacy","name":...} for an event
// stored as a bare string by an older scimd (whose "operator" could be the
// operator or a token named so: it is shown as what is known). SCIM
// events have none (null).
type ActorRef struct {
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
}

// UnmarshalJSON reads both forms: the object, and the bare string that
// events written before actor kinds hold.
func (r *ActorRef) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*r = ActorRef{Kind: ActorLegacy, Name: name}
		return nil
	}
	type plain ActorRef
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = ActorRef(p)
	return nil
}

// maxAdminNameRunes bounds an admin token's name (an email fits).
const maxAdminNameRunes = 100

// reservedAdminNames are names of actor kinds and of the system itself:
// a token named so would read like them wherever names are shown bare.
var reservedAdminNames = []string{ActorOperator, ActorAdmin, ActorLegacy, "scim", "system"}

// ValidAdminName checks an admin token's name: 1-100 printable characters
// (no control, format such as bidi or zero-width, or separator other than
// the plain space), no leading or trailing space, and not a reserved name.
// It returns why not, or "".
func ValidAdminName(name string) string {
	switch {
	case name == "":
		return "an admin token needs a name, such as the admin's email"
	case !utf8.ValidString(name):
		return "the name is not valid UTF-8"
	case utf8.RuneCountInString(name) > maxAdminNameRunes:
		return fmt.Sprintf("the name is longer than %d characters", maxAdminNameRunes)
	case strings.TrimSpace(name) != name:
		return "the name starts or ends with a space"
	}
	for _, r := range name {
		// IsPrint excludes control characters, format characters (bidi
		// overrides, zero-width joiners and spaces, the BOM) and every
		// space but U+0020.
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("the name holds the character %U, which is not printable", r)
		}
	}
	for _, reserved := range reservedAdminNames {
		if strings.EqualFold(name, reserved) {
			return fmt.Sprintf("%q is reserved", name)
		}
	}
	return ""
}
