# METADATA
# title: Edit locks
# description: >-
#   Decides whether an admin may make a manual change to a user. The identity
#   provider is the system of record for a SCIM-managed user: in mode idp, the
#   attributes it provisions (data.locks.scim_owned_attributes) are locked,
#   while app-only settings, such as roles granted in the app, stay editable.
#   A manual user is editable. In mode manual, manual changes are allowed
#   again, with a warning when the next SCIM cycle may overwrite them. In mode
#   idp, creating a user manually is refused.
package locks

# METADATA
# title: Edit decision
# description: >-
#   Input: mode ("idp" or "manual"), action (one of data.locks.actions),
#   managed_by ("scim", "manual", or null for a create) and attributes (the
#   SCIM attribute paths being changed). Output: allow, reason (a sentence an
#   admin can read), warnings and locked_attributes (the locked attributes the
#   change touches).
# entrypoint: true
decision := _decide(
	object.get(input, "mode", null),
	object.get(input, "action", null),
	object.get(input, "managed_by", null),
	_locked(_changed(object.get(input, "action", null), object.get(input, "attributes", []))),
)

# The attribute paths a change touches: those named in the input plus those
# its action implies (deactivate changes active).
_changed(action, attributes) := {a | some a in attributes; is_string(a)} | {a | some a in data.locks.action_attributes[action]}

# _decide takes the SCIM-owned attributes the change touches, locked in mode
# idp for a SCIM-managed user.
_decide(mode, action, managed_by, locked) := _refuse(sprintf("Unknown provisioning mode %v.", [mode]), []) if {
	not mode in data.locks.modes
} else := _refuse(sprintf("Unknown action %v.", [action]), []) if {
	not action in data.locks.actions
} else := _refuse(
	"The tenant is in idp mode: users are created by your identity provider. Switch the tenant to manual mode to add users here.",
	[],
) if {
	mode == "idp"
	action == "create"
} else := _permit(
	"The tenant is in manual mode: manual changes are allowed.",
	_manual_mode_warnings(action, managed_by, locked),
) if {
	mode == "manual"
} else := _permit("This user was created manually: it is editable.", []) if {
	managed_by == "manual"
} else := _refuse(sprintf("Unknown user manager %v.", [managed_by]), []) if {
	managed_by != "scim"
} else := _refuse(
	"This user is managed by your identity provider (SCIM): delete or deactivate it there.",
	[],
) if {
	action == "delete"
} else := _refuse(
	sprintf(
		"This user is managed by your identity provider (SCIM): %s can only be changed there. App settings, such as roles granted here, stay editable.",
		[_and_list(locked)],
	),
	locked,
) if {
	count(locked) > 0
} else := _permit(
	"This user is managed by your identity provider (SCIM), but the change touches only app settings.",
	[],
)

_manual_mode_warnings(action, managed_by, locked) := [
	"This user is managed by your identity provider (SCIM): its next provisioning cycle may create it again.",
] if {
	managed_by == "scim"
	action == "delete"
} else := [
	"This user is managed by your identity provider (SCIM): its next provisioning cycle may overwrite this change.",
] if {
	managed_by == "scim"
	count(locked) > 0
} else := [
	"If your identity provider also provisions this user, its next provisioning cycle may take the user over and overwrite these values.",
] if {
	action == "create"
} else := []

# The SCIM-owned attributes, by their canonical names, that the changed paths
# touch, sorted.
_locked(changed) := sort({name |
	some path in changed
	name := _scim_owned[_root(path)]
})

# The canonical names of the SCIM-owned attributes, by their lower-case names.
_scim_owned := {lower(name): name | some name in data.locks.scim_owned_attributes}

# _root reduces a SCIM attribute path to its top-level attribute, lower-cased:
# "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName" and
# "Name.GivenName" both give "name"; `emails[type eq "work"].value` gives
# "emails".
_root(path) := split(split(trim_prefix(lower(path), "urn:ietf:params:scim:schemas:core:2.0:user:"), "[")[0], ".")[0]

_and_list(items) := items[0] if {
	count(items) == 1
} else := concat(" and ", [concat(", ", array.slice(items, 0, count(items) - 1)), items[count(items) - 1]])

_permit(reason, warnings) := {
	"allow": true,
	"reason": reason,
	"warnings": warnings,
	"locked_attributes": [],
}

_refuse(reason, locked) := {
	"allow": false,
	"reason": reason,
	"warnings": [],
	"locked_attributes": locked,
}
