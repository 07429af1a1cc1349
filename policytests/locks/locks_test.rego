# METADATA
# title: Tests of edit locks
# description: One or more tests per rule of data.locks, named test_<rule>_<case>.
package locks_test

import data.locks

_edit(mode, managed_by, attributes) := {"mode": mode, "action": "update", "managed_by": managed_by, "attributes": attributes}

_action(mode, action, managed_by) := {"mode": mode, "action": action, "managed_by": managed_by, "attributes": []}

# A SCIM-managed user's provisioned attributes are locked in mode idp.

test_edit_locks_each_scim_attribute_refused if {
	every attribute in ["name", "emails", "userName", "externalId", "active", "groups", "displayName", "title", "phoneNumbers", "addresses"] {
		got := locks.decision with input as _edit("idp", "scim", [attribute])
		got.allow == false
		got.locked_attributes == [attribute]
		got.warnings == []
	}
}

_enterprise := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

test_edit_locks_each_enterprise_attribute_refused if {
	every attribute in ["employeeNumber", "costCenter", "organization", "division", "department", "manager"] {
		path := sprintf("%s:%s", [_enterprise, attribute])
		got := locks.decision with input as _edit("idp", "scim", [path])
		got.allow == false
		got.locked_attributes == [path]
	}
}

test_edit_locks_extension_path_keeps_the_urn_whole if {
	every path in [
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
		"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER",
		"employeeNumber",
	] {
		got := locks.decision with input as _edit("idp", "scim", [path])
		got.allow == false
		got.locked_attributes == ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"]
	}
}

test_edit_locks_extension_sub_attribute_refused if {
	got := locks.decision with input as _edit("idp", "scim", ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"])
	got.locked_attributes == ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"]
}

test_edit_locks_whole_extension_refused if {
	got := locks.decision with input as _edit("idp", "scim", [_enterprise])
	got.allow == false
	count(got.locked_attributes) == 6
}

test_edit_locks_other_extension_not_locked if {
	got := locks.decision with input as _edit("idp", "scim", ["urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User:costCenter"])
	got.allow == true
}

test_edit_locks_reason_names_extension_attributes_briefly if {
	got := locks.decision with input as _edit("idp", "scim", [
		"displayName",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
	])
	contains(got.reason, ": displayName, department and employeeNumber can only be changed there.")
}

test_edit_locks_filter_values_do_not_split_the_path if {
	got := locks.decision with input as _edit("idp", "scim", [`emails[value eq "a:b.c"].primary`])
	got.locked_attributes == ["emails"]
}

test_edit_locks_core_roles_and_entitlements_editable if {
	got := locks.decision with input as _edit("idp", "scim", [
		"roles",
		`entitlements[value eq "x"].display`,
		"urn:ietf:params:scim:schemas:core:2.0:User:roles",
	])
	got.allow == true
	got.locked_attributes == []
}

test_edit_locks_attribute_paths_normalised if {
	every path in [
		"name.givenName",
		"Name.FamilyName",
		`emails[type eq "work"].value`,
		"urn:ietf:params:scim:schemas:core:2.0:User:name.formatted",
		"USERNAME",
	] {
		got := locks.decision with input as _edit("idp", "scim", [path])
		got.allow == false
		count(got.locked_attributes) == 1
	}
}

test_edit_locks_reason_names_the_locked_attributes if {
	got := locks.decision with input as _edit("idp", "scim", ["userName", "emails", "roles", "externalId"])
	got.allow == false
	got.locked_attributes == ["emails", "externalId", "userName"]
	got.reason == "This user is managed by your identity provider (SCIM): emails, externalId and userName can only be changed there. App settings, such as roles granted here, stay editable."
}

test_edit_locks_two_attributes_joined_by_and if {
	got := locks.decision with input as _edit("idp", "scim", ["name.givenName", "name.familyName", "emails"])
	got.locked_attributes == ["emails", "name"]
	contains(got.reason, ": emails and name can only")
}

test_edit_locks_app_only_settings_editable if {
	got := locks.decision with input as _edit("idp", "scim", ["roles", "grants"])
	got == {
		"allow": true,
		"reason": "This user is managed by your identity provider (SCIM), but the change touches only app settings.",
		"warnings": [],
		"locked_attributes": [],
	}
}

test_edit_locks_deactivation_touches_active if {
	every action in ["deactivate", "reactivate"] {
		got := locks.decision with input as _action("idp", action, "scim")
		got.allow == false
		got.locked_attributes == ["active"]
	}
}

test_edit_locks_delete_refused if {
	got := locks.decision with input as _action("idp", "delete", "scim")
	got.allow == false
	contains(got.reason, "delete or deactivate it there")
}

test_edit_locks_locked_set_comes_from_data if {
	got := locks.decision with input as _edit("idp", "scim", ["emails", "title"])
		with data.locks.scim_owned_attributes as ["title"]
	got.locked_attributes == ["title"]
}

test_edit_locks_non_string_attributes_ignored if {
	got := locks.decision with input as _edit("idp", "scim", [42, null])
	got.allow == true
}

# A manual user is editable.

test_manual_user_editable if {
	every action in ["update", "deactivate", "reactivate", "delete"] {
		got := locks.decision with input as object.union(_action("idp", action, "manual"), {"attributes": ["userName", "emails"]})
		got == {
			"allow": true,
			"reason": "This user was created manually: it is editable.",
			"warnings": [],
			"locked_attributes": [],
		}
	}
}

# Mode manual allows manual changes again, with a warning for SCIM-managed users.

test_manual_mode_scim_user_editable_with_warning if {
	got := locks.decision with input as _edit("manual", "scim", ["userName"])
	got.allow == true
	got.locked_attributes == []
	got.warnings == ["This user is managed by your identity provider (SCIM): its next provisioning cycle may overwrite this change."]
}

test_manual_mode_scim_user_deactivation_warned if {
	got := locks.decision with input as _action("manual", "deactivate", "scim")
	got.allow == true
	count(got.warnings) == 1
}

test_manual_mode_scim_user_delete_warned if {
	got := locks.decision with input as _action("manual", "delete", "scim")
	got.allow == true
	got.warnings == ["This user is managed by your identity provider (SCIM): its next provisioning cycle may create it again."]
}

test_manual_mode_app_settings_need_no_warning if {
	got := locks.decision with input as _edit("manual", "scim", ["roles"])
	got.allow == true
	got.warnings == []
}

test_manual_mode_manual_user_no_warning if {
	got := locks.decision with input as _edit("manual", "manual", ["userName"])
	got.allow == true
	got.warnings == []
}

test_manual_mode_create_allowed_with_warning if {
	got := locks.decision with input as _action("manual", "create", null)
	got.allow == true
	got.warnings == ["If your identity provider also provisions this user, its next provisioning cycle may take the user over and overwrite these values."]
}

# Mode idp refuses manual creates.

test_idp_mode_create_refused if {
	got := locks.decision with input as object.union(_action("idp", "create", null), {"attributes": ["userName"]})
	got.allow == false
	got.reason == "The tenant is in idp mode: users are created by your identity provider. Switch the tenant to manual mode to add users here."
}

# Malformed input is refused, never allowed by accident.

test_unknown_input_refused if {
	every case in [
		{"mode": "auto", "action": "update", "managed_by": "manual"},
		{"action": "update", "managed_by": "manual"},
		{"mode": "idp", "action": "promote", "managed_by": "manual"},
		{"mode": "idp", "managed_by": "manual"},
		{"mode": "idp", "action": "update", "managed_by": "ldap"},
		{"mode": "idp", "action": "update"},
	] {
		got := locks.decision with input as case
		got.allow == false
		got.reason != ""
	}
}

test_unknown_input_reason_names_the_value if {
	got := locks.decision with input as _action("idp", "promote", "manual")
	got.reason == "Unknown action promote."
}

# Groups: a SCIM-managed group's name, external id and members are locked in
# mode idp; groups made in the app are editable.

_group(mode, action, managed_by, attributes) := {
	"resource": "group", "mode": mode, "action": action,
	"managed_by": managed_by, "attributes": attributes,
}

test_group_locks_each_scim_attribute_refused if {
	every attribute in ["displayName", "externalId", "members"] {
		got := locks.decision with input as _group("idp", "update", "scim", [attribute])
		got.allow == false
		got.locked_attributes == [attribute]
	}
}

test_group_locks_attribute_paths_normalised if {
	every path in [`members[value eq "u1"]`, "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "DISPLAYNAME", "members.value"] {
		got := locks.decision with input as _group("idp", "update", "scim", [path])
		got.allow == false
		count(got.locked_attributes) == 1
	}
}

test_group_locks_reason_names_the_locked_attributes if {
	got := locks.decision with input as _group("idp", "update", "scim", ["members", "displayName", "grants"])
	got.locked_attributes == ["displayName", "members"]
	got.reason == "This group is managed by your identity provider (SCIM): displayName and members can only be changed there. Roles granted to the group stay editable."
}

test_group_locks_app_settings_editable if {
	got := locks.decision with input as _group("idp", "update", "scim", ["grants"])
	got == {
		"allow": true,
		"reason": "This group is managed by your identity provider (SCIM), but the change touches only app settings.",
		"warnings": [],
		"locked_attributes": [],
	}
}

test_group_locks_delete_refused if {
	got := locks.decision with input as _group("idp", "delete", "scim", [])
	got.allow == false
	got.reason == "This group is managed by your identity provider (SCIM): delete it there."
}

test_group_locks_app_group_editable if {
	every action in ["update", "delete"] {
		got := locks.decision with input as _group("idp", action, "manual", ["members", "displayName"])
		got.allow == true
		got.warnings == []
		got.reason == "This group was made in the app: it is editable."
	}
}

test_group_locks_create_allowed_in_both_modes_with_warning if {
	every mode in ["idp", "manual"] {
		got := locks.decision with input as _group(mode, "create", null, ["displayName", "members"])
		got.allow == true
		got.warnings == ["If your identity provider provisions a group with the same name, it will take this group over."]
	}
}

test_group_locks_manual_mode_scim_group_warned if {
	update := locks.decision with input as _group("manual", "update", "scim", ["members"])
	update.allow == true
	update.warnings == ["This group is managed by your identity provider (SCIM): its next provisioning cycle may overwrite this change."]
	delete := locks.decision with input as _group("manual", "delete", "scim", [])
	delete.allow == true
	delete.warnings == ["This group is managed by your identity provider (SCIM): its next provisioning cycle may create it again."]
}

test_group_locks_manual_mode_no_warning_needed if {
	every tc in [["scim", ["grants"]], ["manual", ["members"]]] {
		got := locks.decision with input as _group("manual", "update", tc[0], tc[1])
		got.allow == true
		got.warnings == []
	}
}

test_group_locks_locked_set_comes_from_data if {
	got := locks.decision with input as _group("idp", "update", "scim", ["members", "description"])
		with data.locks.scim_owned_group_attributes as ["description"]
	got.locked_attributes == ["description"]
}

test_group_locks_unknown_input_refused if {
	every tc in [
		[_group("cloud", "update", "scim", []), "Unknown provisioning mode cloud."],
		[_group("idp", "deactivate", "scim", []), "Unknown group action deactivate."],
		[_group("idp", "update", "ldap", []), "Unknown group manager ldap."],
		[object.union(_group("idp", "update", "scim", []), {"resource": "role"}), "Unknown resource role."],
	] {
		got := locks.decision with input as tc[0]
		got.allow == false
		got.reason == tc[1]
	}
}

test_group_locks_user_is_the_default_resource if {
	without := locks.decision with input as {"mode": "idp", "action": "create", "managed_by": null, "attributes": []}
	with_user := locks.decision with input as {"resource": "user", "mode": "idp", "action": "create", "managed_by": null, "attributes": []}
	without == with_user
	without.allow == false
}
