# METADATA
# title: Edit locks
# description: >-
#   Decides whether an admin may make a manual change to a user or a group.
#   The identity provider is the system of record for what it provisions: in
#   mode idp, the attributes it sends (data.locks.scim_owned_attributes and
#   data.locks.scim_owned_extension_attributes for users,
#   data.locks.scim_owned_group_attributes for groups) are locked on a
#   SCIM-managed user or group, while app-only settings, such as roles granted
#   in the app, and the core roles and entitlements, which are not synced,
#   stay editable. A user or group made in the app is editable. In
#   mode manual, manual changes are allowed again, with a warning when the
#   next SCIM cycle may overwrite them. In mode idp, creating a user manually
#   is refused; creating a group is allowed (an app group, for granting roles).
package locks

# METADATA
# title: Edit decision
# description: >-
#   Input: resource ("user", the default, or "group"), mode ("idp" or
#   "manual"), action (one of data.locks.actions for a user,
#   data.locks.group_actions for a group), managed_by ("scim", "manual", or
#   null for a create) and attributes (the SCIM attribute paths being
#   changed). Output: allow, reason (a sentence an admin can read), warnings
#   and locked_attributes (the locked attributes the change touches).
# entrypoint: true
decision := _refuse(sprintf("Unknown resource %v.", [_resource]), []) if {
	not _resource in data.locks.resources
} else := _decide_group(
	object.get(input, "mode", null),
	object.get(input, "action", null),
	object.get(input, "managed_by", null),
	_locked_group(_changed(object.get(input, "action", null), object.get(input, "attributes", []))),
) if {
	_resource == "group"
} else := _decide(
	object.get(input, "mode", null),
	object.get(input, "action", null),
	object.get(input, "managed_by", null),
	_locked(_changed(object.get(input, "action", null), object.get(input, "attributes", []))),
)

_resource := object.get(input, "resource", "user")

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
		[_and_list([_display(name) | some name in locked])],
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
# touch, sorted: a core attribute by its name ("displayName"), an extension
# attribute by its full path (the extension's URN, a colon, its name).
_locked(changed) := sort({name |
	some path in changed
	name := _scim_owned[_attribute(path, _user_schema)]
} | {name |
	# A whole extension (a path-less change hands it over as one value).
	some path in changed
	some urn, names in data.locks.scim_owned_extension_attributes
	lower(path) == lower(urn)
	some attribute in names
	name := sprintf("%s:%s", [urn, attribute])
})

# The SCIM-owned user attributes, canonical names by their lower-cased
# [schema, attribute] pairs: those of the core User schema, and those of each
# extension the identity provider sends (the enterprise extension), each also
# under the core schema, since an unqualified path names the core schema and a
# bare extension attribute name must not slip past the lock.
_scim_owned := object.union(
	{[_user_schema, lower(name)]: name | some name in data.locks.scim_owned_attributes},
	object.union(
		{[_user_schema, lower(name)]: sprintf("%s:%s", [urn, name]) |
			some urn, names in data.locks.scim_owned_extension_attributes
			some name in names
		},
		{[lower(urn), lower(name)]: sprintf("%s:%s", [urn, name]) |
			some urn, names in data.locks.scim_owned_extension_attributes
			some name in names
		},
	),
)

_user_schema := "urn:ietf:params:scim:schemas:core:2.0:user"

_group_schema := "urn:ietf:params:scim:schemas:core:2.0:group"

# _attribute reduces a SCIM attribute path to the [schema, top-level
# attribute] it changes, lower-cased; core is the schema of an unqualified
# path. "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName" and
# "Name.GivenName" both give [core User, "name"]; `emails[type eq
# "work"].value` gives [core, "emails"]; `members[value eq "x"]` gives [core,
# "members"]; "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:
# manager.value" gives [that URN, "manager"]: the URN is everything before
# the last colon of the path outside any filter, since an attribute name has
# no colon while a URN has several.
_attribute(path, core) := [core, _root(unqualified)] if {
	unqualified := split(lower(path), "[")[0]
	not startswith(unqualified, "urn:")
} else := [concat(":", array.slice(parts, 0, count(parts) - 1)), _root(parts[count(parts) - 1])] if {
	parts := split(split(lower(path), "[")[0], ":")
}

_root(attribute) := split(attribute, ".")[0]

# The name the reason gives an attribute: an extension attribute without its
# URN.
_display(name) := parts[count(parts) - 1] if {
	parts := split(name, ":")
}

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

# Groups. A SCIM-managed group's name, external id and members come from the
# identity provider; the roles the app grants through it stay editable (they
# are not a change to the group). A group made in the app is editable, also in
# mode idp, and may hold SCIM-managed users: membership of an app group is an
# app setting.
_decide_group(mode, action, managed_by, locked) := _refuse(sprintf("Unknown provisioning mode %v.", [mode]), []) if {
	not mode in data.locks.modes
} else := _refuse(sprintf("Unknown group action %v.", [action]), []) if {
	not action in data.locks.group_actions
} else := _permit(
	"Groups made in the app are not managed by your identity provider: this one will be editable here.",
	["If your identity provider provisions a group with the same name, it will take this group over."],
) if {
	action == "create"
} else := _permit(
	"The tenant is in manual mode: manual changes are allowed.",
	_manual_mode_group_warnings(action, managed_by, locked),
) if {
	mode == "manual"
} else := _permit("This group was made in the app: it is editable.", []) if {
	managed_by == "manual"
} else := _refuse(sprintf("Unknown group manager %v.", [managed_by]), []) if {
	managed_by != "scim"
} else := _refuse("This group is managed by your identity provider (SCIM): delete it there.", []) if {
	action == "delete"
} else := _refuse(
	sprintf(
		"This group is managed by your identity provider (SCIM): %s can only be changed there. Roles granted to the group stay editable.",
		[_and_list(locked)],
	),
	locked,
) if {
	count(locked) > 0
} else := _permit(
	"This group is managed by your identity provider (SCIM), but the change touches only app settings.",
	[],
)

_manual_mode_group_warnings(action, managed_by, locked) := [
	"This group is managed by your identity provider (SCIM): its next provisioning cycle may create it again.",
] if {
	managed_by == "scim"
	action == "delete"
} else := [
	"This group is managed by your identity provider (SCIM): its next provisioning cycle may overwrite this change.",
] if {
	managed_by == "scim"
	count(locked) > 0
} else := []

# The SCIM-owned group attributes, by their canonical names, that the changed
# paths touch, sorted.
_locked_group(changed) := sort({name |
	some path in changed
	name := _scim_owned_group[_attribute(path, _group_schema)]
})

_scim_owned_group := {[_group_schema, lower(name)]: name | some name in data.locks.scim_owned_group_attributes}
