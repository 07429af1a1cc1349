# METADATA
# title: Tests of role resolution
# description: One or more tests per rule of data.roles, named test_<rule>_<case>.
package roles_test

import data.roles

# Input builders.

_input(grants) := {"roles": {}, "accounts": ["news", "sports", "weather"], "grants": grants}

_input_with_roles(custom, grants) := {"roles": custom, "accounts": ["news", "sports", "weather"], "grants": grants}

_account_grant(group, account, role) := {"group": group, "scope": "account", "account": account, "role": role}

_enterprise_grant(group, role) := {"group": group, "scope": "enterprise", "role": role}

_account_role(level, permissions) := {"level": level, "permissions": permissions, "group_manager": false}

# The role-priority matrix.

test_score_builtin_matrix if {
	got := {name: entry.score | some name, entry in roles.scores with input as {}}
	got == {
		"Enterprise Admin": 140,
		"Enterprise Group Manager": 130,
		"Account Administrator": 60,
		"Publisher": 25,
		"Editor": 15,
		"Reports Only": 5,
		"Viewer": 2,
	}
}

test_score_duplicate_permissions_count_once if {
	roles.score(_account_role("account", ["publish", "publish", "view_reports"])) == 15
}

test_score_unknown_permissions_weigh_nothing if {
	roles.score(_account_role("account", ["view_reports", "fly"])) == 5
}

test_score_penalty_only_for_enterprise_group_managers if {
	roles.score({"level": "enterprise", "permissions": ["publish"], "group_manager": true}) == 0
	roles.score({"level": "account", "permissions": ["publish"], "group_manager": true}) == 10
	roles.score({"level": "enterprise", "permissions": ["publish"], "group_manager": false}) == 10
}

test_score_weights_come_from_data if {
	roles.score(_account_role("account", ["publish", "view_reports"])) == 3 with data.roles.permission_weights as {"publish": 1, "view_reports": 2}
}

# Rule 1: the highest power score wins.

test_highest_score_account_administrator_beats_reports_only if {
	got := roles.access with input as _input([
		_account_grant("A", "news", "Reports Only"),
		_account_grant("B", "news", "Account Administrator"),
	])
	got.accounts.news.role == "Account Administrator"
	got.accounts.news.score == 60
	got.accounts.news.rule == "highest_score"
	got.enterprise == null
}

test_highest_score_candidates_explain_every_grant if {
	got := roles.explain with input as _input([
		_account_grant("A", "news", "Reports Only"),
		_account_grant("B", "news", "Account Administrator"),
		_account_grant("C", "news", "Account Administrator"),
	])
	got.accounts.news.candidates == {
		{"role": "Reports Only", "score": 5, "group": "A", "scope": "account", "account": "news"},
		{"role": "Account Administrator", "score": 60, "group": "B", "scope": "account", "account": "news"},
		{"role": "Account Administrator", "score": 60, "group": "C", "scope": "account", "account": "news"},
	}
}

test_highest_score_no_grants if {
	got := roles.access with input as _input([])
	got == {
		"active": true,
		"enterprise": null,
		"accounts": {"news": null, "sports": null, "weather": null},
	}
	explained := roles.explain with input as _input([])
	explained == object.union(got, {"ignored": set()})
}

test_highest_score_identical_grants_collapse if {
	grant := _account_grant("A", "news", "Editor")
	got := roles.explain with input as _input([grant, grant])
	count(got.accounts.news.candidates) == 1
}

test_highest_score_between_enterprise_roles if {
	custom := {"Enterprise Auditor": {"level": "enterprise", "permissions": ["view_reports"]}}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Enterprise Auditor"),
		_enterprise_grant("B", "Enterprise Admin"),
	])
	got.enterprise.role == "Enterprise Admin"
	got.enterprise.rule == "highest_score"
}

# Rule 2: a role that grants full access to all sub-accounts is inherited by
# every sub-account, whichever enterprise role wins at enterprise level.

test_inherited_full_access_every_account if {
	got := roles.explain with input as _input([_enterprise_grant("A", "Enterprise Admin")])
	got.enterprise.role == "Enterprise Admin"
	got.enterprise.rule == "highest_score"
	every account in ["news", "sports", "weather"] {
		got.accounts[account].role == "Enterprise Admin"
		got.accounts[account].score == 140
		got.accounts[account].rule == "inherited_full_access"
		got.accounts[account].candidates == {{"role": "Enterprise Admin", "score": 140, "group": "A", "scope": "enterprise", "account": null}}
	}
}

test_inherited_full_access_candidates_are_the_full_access_grants if {
	custom := {
		"Enterprise Auditor": {"level": "enterprise", "permissions": ["view_reports"]},
		"Enterprise Observer": {"level": "enterprise", "permissions": ["view_reports"], "full_access": false},
	}
	got := roles.explain with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Enterprise Auditor"),
		_enterprise_grant("B", "Enterprise Admin"),
		_enterprise_grant("C", "Enterprise Observer"),
	])
	got.accounts.news.role == "Enterprise Admin"
	got.accounts.news.candidates == {
		{"role": "Enterprise Admin", "score": 140, "group": "B", "scope": "enterprise", "account": null},
		{"role": "Enterprise Auditor", "score": 5, "group": "A", "scope": "enterprise", "account": null},
	}
}

test_inherited_full_access_custom_enterprise_role if {
	custom := {"Enterprise Auditor": {"level": "enterprise", "permissions": ["view_reports", "view_content"], "full_access": true}}
	got := roles.access with input as _input_with_roles(custom, [_enterprise_grant("A", "Enterprise Auditor")])
	got.accounts.sports.role == "Enterprise Auditor"
	got.accounts.sports.score == 7
	got.accounts.sports.rule == "inherited_full_access"
}

test_inherited_full_access_default_for_roles_stored_without_it if {
	# A custom enterprise role stored before roles said full_access keeps
	# full access, unless it is a Group Manager role.
	custom := {
		"Old Chief": {"level": "enterprise", "permissions": ["view_reports"]},
		"Old Manager": {"level": "enterprise", "permissions": ["view_reports"], "group_manager": true},
	}
	scored := roles.scores with input as {"roles": custom}
	scored["Old Chief"].full_access == true
	scored["Old Manager"].full_access == false
	got := roles.access with input as _input_with_roles(custom, [_enterprise_grant("A", "Old Chief")])
	got.accounts.news.role == "Old Chief"
}

test_inherited_full_access_not_when_the_role_says_no if {
	custom := {"Enterprise Observer": {"level": "enterprise", "permissions": ["view_reports"], "full_access": false}}
	got := roles.access with input as _input_with_roles(custom, [_enterprise_grant("A", "Enterprise Observer")])
	got.enterprise.role == "Enterprise Observer"
	got.accounts == {"news": null, "sports": null, "weather": null}
}

test_inherited_full_access_never_for_group_managers if {
	got := roles.access with input as _input([_enterprise_grant("A", "Enterprise Group Manager")])
	got.enterprise.role == "Enterprise Group Manager"
	got.enterprise.score == 130
	got.accounts == {"news": null, "sports": null, "weather": null}
	custom := {"Says Full": {"level": "enterprise", "permissions": ["publish"], "group_manager": true, "full_access": true}}
	scored := roles.scores with input as {"roles": custom}
	scored["Says Full"].full_access == false
}

test_inherited_full_access_never_for_account_roles if {
	custom := {"Desk": {"level": "account", "permissions": ["publish"], "full_access": true}}
	scored := roles.scores with input as {"roles": custom}
	scored.Desk.full_access == false
}

test_inherited_full_access_whichever_role_wins_at_enterprise_level if {
	# Gaining Enterprise Group Manager (which wins at enterprise level) keeps
	# the sub-account access a custom full-access role gave.
	custom := {"Regional Chief": {"level": "enterprise", "permissions": ["manage_accounts", "manage_users"], "full_access": true}}
	before := roles.access with input as _input_with_roles(custom, [_enterprise_grant("A", "Regional Chief")])
	after := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Regional Chief"),
		_enterprise_grant("B", "Enterprise Group Manager"),
	])
	before.accounts.news.role == "Regional Chief"
	after.enterprise.role == "Enterprise Group Manager"
	after.accounts.news == {"role": "Regional Chief", "score": 50, "rule": "inherited_full_access"}
}

test_inherited_full_access_highest_score_of_several if {
	custom := {"Regional Chief": {"level": "enterprise", "permissions": ["manage_accounts", "manage_users"], "full_access": true}}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Regional Chief"),
		_enterprise_grant("B", "Enterprise Admin"),
	])
	got.accounts.weather.role == "Enterprise Admin"
	got.accounts.weather.score == 140
}

test_inherited_full_access_ties_by_name if {
	full := data.roles.builtin_roles["Enterprise Admin"].permissions
	custom := {
		"zenith": {"level": "enterprise", "permissions": full, "full_access": true},
		"Édition": {"level": "enterprise", "permissions": full, "full_access": true},
	}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "zenith"),
		_enterprise_grant("B", "Enterprise Admin"),
		_enterprise_grant("C", "Édition"),
	])
	got.accounts.news.role == "Édition"
	got.accounts.news.rule == "inherited_full_access"
}

# Rule 3: an explicit grant for a sub-account overrides the inherited role there only.

test_sub_account_override_lower_role_wins if {
	got := roles.explain with input as _input([
		_enterprise_grant("A", "Enterprise Admin"),
		_account_grant("B", "news", "Reports Only"),
	])
	got.accounts.news.role == "Reports Only"
	got.accounts.news.score == 5
	got.accounts.news.rule == "sub_account_override"
	got.accounts.news.candidates == {
		{"role": "Enterprise Admin", "score": 140, "group": "A", "scope": "enterprise", "account": null},
		{"role": "Reports Only", "score": 5, "group": "B", "scope": "account", "account": "news"},
	}
}

test_sub_account_override_only_that_account if {
	got := roles.access with input as _input([
		_enterprise_grant("A", "Enterprise Admin"),
		_account_grant("B", "news", "Reports Only"),
	])
	got.enterprise.role == "Enterprise Admin"
	got.accounts.sports.role == "Enterprise Admin"
	got.accounts.sports.rule == "inherited_full_access"
	got.accounts.weather.role == "Enterprise Admin"
}

test_sub_account_override_highest_explicit_grant_wins if {
	got := roles.access with input as _input([
		_enterprise_grant("A", "Enterprise Admin"),
		_account_grant("B", "news", "Reports Only"),
		_account_grant("C", "news", "Publisher"),
	])
	got.accounts.news.role == "Publisher"
	got.accounts.news.rule == "sub_account_override"
}

test_sub_account_override_needs_an_inherited_role if {
	got := roles.access with input as _input([
		_enterprise_grant("A", "Enterprise Group Manager"),
		_account_grant("B", "news", "Viewer"),
	])
	got.accounts.news.role == "Viewer"
	got.accounts.news.rule == "highest_score"
	got.accounts.sports == null
}

# Rule 4: the Group Manager penalty.

test_group_manager_penalty_decides_between_identical_roles if {
	got := roles.access with input as _input([
		_enterprise_grant("A", "Enterprise Group Manager"),
		_enterprise_grant("B", "Enterprise Admin"),
	])
	got.enterprise.role == "Enterprise Admin"
	got.enterprise.score == 140
	got.enterprise.rule == "group_manager_penalty"
	got.accounts.news.rule == "inherited_full_access"
}

test_group_manager_penalty_beats_a_higher_raw_score if {
	# Without the penalty "A Group Manager" (145) would beat Enterprise Admin (140).
	custom := {"A Group Manager": {
		"level": "enterprise",
		"group_manager": true,
		"permissions": [
			"manage_enterprise", "manage_accounts", "manage_users", "manage_groups",
			"publish", "edit_content", "view_reports", "view_content", "bonus",
		],
	}}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "A Group Manager"),
		_enterprise_grant("B", "Enterprise Admin"),
	])
		with data.roles.permission_weights.bonus as 5
	got.enterprise.role == "Enterprise Admin"
	got.enterprise.rule == "group_manager_penalty"
}

test_group_manager_penalty_not_deciding_between_group_managers if {
	custom := {"Small Group Manager": {"level": "enterprise", "group_manager": true, "permissions": ["manage_groups"]}}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Small Group Manager"),
		_enterprise_grant("B", "Enterprise Group Manager"),
	])
	got.enterprise.role == "Enterprise Group Manager"
	got.enterprise.rule == "highest_score"
}

test_group_manager_penalty_without_penalty_names_decide if {
	got := roles.access with input as _input([
		_enterprise_grant("A", "Enterprise Group Manager"),
		_enterprise_grant("B", "Enterprise Admin"),
	])
		with data.roles.group_manager_penalty as 0
	got.enterprise.role == "Enterprise Admin"
	got.enterprise.rule == "tie_by_name"
}

# Rule 5: ties go to the alphabetically first name.

test_tie_by_name_two_roles if {
	custom := {"Auditor": _account_role("account", ["edit_content", "view_reports", "view_content"])}
	got := roles.access with input as _input_with_roles(custom, [
		_account_grant("A", "news", "Editor"),
		_account_grant("B", "news", "Auditor"),
	])
	got.accounts.news.role == "Auditor"
	got.accounts.news.score == 15
	got.accounts.news.rule == "tie_by_name"
}

test_tie_by_name_three_way if {
	custom := {
		"Copy Desk": _account_role("account", ["publish", "view_reports"]),
		"Archivist": _account_role("account", ["publish", "view_reports"]),
		"Night Desk": _account_role("account", ["publish", "view_reports"]),
	}
	got := roles.explain with input as _input_with_roles(custom, [
		_account_grant("A", "news", "Copy Desk"),
		_account_grant("B", "news", "Night Desk"),
		_account_grant("C", "news", "Archivist"),
		_account_grant("D", "news", "Reports Only"),
	])
	got.accounts.news.role == "Archivist"
	got.accounts.news.score == 15
	got.accounts.news.rule == "tie_by_name"
	count(got.accounts.news.candidates) == 4
}

test_tie_by_name_custom_role_equal_to_builtin if {
	custom := {"Zine Editor": _account_role("account", ["view_content", "view_reports", "edit_content"])}
	got := roles.access with input as _input_with_roles(custom, [
		_account_grant("A", "news", "Zine Editor"),
		_account_grant("B", "news", "Editor"),
	])
	got.accounts.news.role == "Editor"
	got.accounts.news.rule == "tie_by_name"
}

test_tie_by_name_at_enterprise_level if {
	custom := {"Chief": {"level": "enterprise", "permissions": data.roles.builtin_roles["Enterprise Admin"].permissions}}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Enterprise Admin"),
		_enterprise_grant("B", "Chief"),
	])
	got.enterprise.role == "Chief"
	got.enterprise.rule == "tie_by_name"
	got.accounts.news.role == "Chief"
}

# Ties go by name as a person reads it: case and accents do not count; byte
# order decides last.

_editor_like := _account_role("account", ["edit_content", "view_reports", "view_content"])

_tie_winner(names) := got.accounts.news.role if {
	custom := {name: _editor_like | some name in names; name != "Editor"}
	got := roles.access with input as _input_with_roles(custom, [_account_grant(name, "news", name) | some name in names])
	got.accounts.news.rule == "tie_by_name"
}

test_tie_by_name_case_insensitive if {
	_tie_winner(["apex", "Editor"]) == "apex"
	_tie_winner(["Editor", "editorial"]) == "Editor"
	_tie_winner(["zeta", "Alpha", "beta"]) == "Alpha"
}

test_tie_by_name_accents_folded if {
	_tie_winner(["Éditeur", "Editor"]) == "Éditeur"
	_tie_winner(["Ödön", "Oscar"]) == "Ödön"
	_tie_winner(["Zoë", "Zoey"]) == "Zoë"
	_tie_winner(["Straße", "Strasse x"]) == "Straße"
	_tie_winner(["Ærø", "Af"]) == "Ærø"
}

test_tie_by_name_combining_marks_folded if {
	# "E" followed by U+0301 COMBINING ACUTE ACCENT reads as "É".
	_tie_winner(["E\u0301diteur", "Editor"]) == "E\u0301diteur"
}

test_tie_by_name_byte_order_last if {
	# Equal but for case or accents: byte order decides.
	_tie_winner(["zed", "Zed"]) == "Zed"
	_tie_winner(["Éditeur", "Editeur"]) == "Editeur"
	_tie_winner(["éditeur", "Éditeur"]) == "Éditeur"
}

test_tie_by_name_at_enterprise_level_case_insensitive if {
	full := data.roles.builtin_roles["Enterprise Admin"].permissions
	custom := {"chief": {"level": "enterprise", "permissions": full}, "Director": {"level": "enterprise", "permissions": full}}
	got := roles.access with input as _input_with_roles(custom, [
		_enterprise_grant("A", "Enterprise Admin"),
		_enterprise_grant("B", "chief"),
		_enterprise_grant("C", "Director"),
	])
	got.enterprise.role == "chief"
	got.enterprise.rule == "tie_by_name"
}

test_tie_by_name_fold_table_comes_from_data if {
	got := roles.access with input as _input_with_roles({"Quill": _editor_like}, [
		_account_grant("A", "news", "Quill"),
		_account_grant("B", "news", "Editor"),
	])
		with data.roles.collation.fold as {"q": "a"}
	got.accounts.news.role == "Quill"
}

test_tie_by_name_not_for_one_role_from_two_groups if {
	got := roles.access with input as _input([
		_account_grant("A", "news", "Editor"),
		_account_grant("B", "news", "Editor"),
	])
	got.accounts.news.rule == "highest_score"
}

# Rule 6: custom roles are scored by the same matrix and grantable like built-ins.

test_custom_roles_scored_and_listed if {
	custom := {"Social Media": {"level": "account", "permissions": ["publish", "view_reports", "tweet"]}}
	got := roles.scores with input as {"roles": custom}
	got["Social Media"] == {
		"level": "account",
		"group_manager": false,
		"full_access": false,
		"permissions": ["publish", "tweet", "view_reports"],
		"builtin": false,
		"score": 15,
		"unknown_permissions": ["tweet"],
	}
	got.Editor.builtin == true
	count(got) == 8
}

test_custom_roles_group_manager_penalised if {
	custom := {"Team Lead": {"level": "enterprise", "group_manager": true, "permissions": ["manage_groups", "manage_users"]}}
	got := roles.scores with input as {"roles": custom}
	got["Team Lead"].score == 25
}

test_custom_roles_grantable_and_win_on_score if {
	custom := {"Desk Chief": _account_role("account", ["manage_users", "publish", "edit_content"])}
	got := roles.access with input as _input_with_roles(custom, [
		_account_grant("A", "news", "Desk Chief"),
		_account_grant("B", "news", "Publisher"),
	])
	got.accounts.news.role == "Desk Chief"
	got.accounts.news.score == 38
	got.accounts.news.rule == "highest_score"
}

test_custom_roles_cannot_shadow_builtin if {
	custom := {"Viewer": _account_role("account", ["manage_users"])}
	got := roles.access with input as _input_with_roles(custom, [_account_grant("A", "news", "Viewer")])
	got.accounts.news.score == 2
	listed := roles.scores with input as {"roles": custom}
	listed.Viewer.builtin == true
}

test_custom_roles_missing_fields_default if {
	got := roles.scores with input as {"roles": {"Empty": {}, "Broken": "not a role", "Odd": {"level": "account", "permissions": "publish"}}}
	got.Odd.score == 0
	got.Odd.permissions == []
	got.Empty == {
		"level": "",
		"group_manager": false,
		"full_access": false,
		"permissions": [],
		"builtin": false,
		"score": 0,
		"unknown_permissions": [],
	}
	not got.Broken
}

# Grants that cannot apply are ignored and reported.

test_ignored_unknown_role if {
	got := roles.explain with input as _input([
		_account_grant("A", "news", "Astronaut"),
		_account_grant("B", "news", "Viewer"),
	])
	got.accounts.news.role == "Viewer"
	got.ignored == {object.union(_account_grant("A", "news", "Astronaut"), {"reason": "unknown_role"})}
}

test_ignored_only_unknown_roles_gives_no_access if {
	got := roles.explain with input as _input([_enterprise_grant("A", "Astronaut")])
	got.enterprise == null
	got.accounts.news == null
	count(got.ignored) == 1
}

test_ignored_unknown_account if {
	got := roles.explain with input as _input([_account_grant("A", "moon", "Editor")])
	got.ignored == {object.union(_account_grant("A", "moon", "Editor"), {"reason": "unknown_account"})}
	not got.accounts.moon
}

test_ignored_level_mismatch if {
	got := roles.explain with input as _input([
		_account_grant("A", "news", "Enterprise Admin"),
		_enterprise_grant("B", "Reports Only"),
	])
	got.ignored == {
		object.union(_account_grant("A", "news", "Enterprise Admin"), {"reason": "level_mismatch"}),
		object.union(_enterprise_grant("B", "Reports Only"), {"reason": "level_mismatch"}),
	}
	got.enterprise == null
	got.accounts.news == null
}

test_ignored_invalid_scope if {
	grant := {"group": "A", "scope": "planet", "role": "Viewer"}
	got := roles.explain with input as _input([grant])
	got.ignored == {object.union(grant, {"reason": "invalid_scope"})}
}

test_ignored_malformed_input if {
	got := roles.explain with input as {"grants": ["not a grant"], "roles": "not roles"}
	got == {"active": true, "enterprise": null, "accounts": {}, "ignored": set()}
}

# The explanation is the decision plus candidates: it cannot drift.

test_explain_extends_the_decision if {
	custom := {"Small Group Manager": {"level": "enterprise", "group_manager": true, "permissions": ["manage_groups"]}}
	every grants in [
		[],
		[_enterprise_grant("A", "Enterprise Admin"), _account_grant("B", "news", "Reports Only")],
		[_enterprise_grant("A", "Enterprise Group Manager"), _enterprise_grant("B", "Enterprise Admin")],
		[_enterprise_grant("A", "Small Group Manager"), _account_grant("B", "sports", "Viewer"), _account_grant("C", "moon", "Viewer")],
		[_account_grant("A", "news", "Editor"), _account_grant("B", "news", "Publisher"), _enterprise_grant("C", "Editor")],
	] {
		decision := roles.access with input as _input_with_roles(custom, grants)
		explained := roles.explain with input as _input_with_roles(custom, grants)
		_without_candidates(explained.enterprise) == decision.enterprise
		every account, entry in explained.accounts {
			_without_candidates(entry) == decision.accounts[account]
		}
		count(explained.accounts) == count(decision.accounts)
	}
}

test_explain_candidates_and_ignored_add_up if {
	grants := [
		_enterprise_grant("A", "Enterprise Admin"),
		_account_grant("B", "news", "Reports Only"),
		_account_grant("C", "moon", "Editor"),
		_account_grant("D", "sports", "Astronaut"),
		_enterprise_grant("E", "Viewer"),
	]
	explained := roles.explain with input as _input(grants)
	used := {[c.group, c.role] | some entry in explained.accounts; some c in entry.candidates} | {[c.group, c.role] | some c in explained.enterprise.candidates}
	ignored := {[g.group, g.role] | some g in explained.ignored}
	count(used & ignored) == 0
	used | ignored == {[g.group, g.role] | some g in grants}
}

_without_candidates(entry) := object.remove(entry, ["candidates"]) if {
	entry != null
} else := null

test_explain_enterprise_candidates_name_no_account if {
	grant := object.union(_enterprise_grant("A", "Enterprise Admin"), {"account": "news"})
	got := roles.explain with input as _input([grant])
	got.enterprise.candidates == {{"role": "Enterprise Admin", "score": 140, "group": "A", "scope": "enterprise", "account": null}}
}

test_ignored_account_grant_without_account if {
	grant := {"group": "A", "scope": "account", "role": "Editor"}
	got := roles.explain with input as _input([grant])
	got.ignored == {object.union(grant, {"reason": "unknown_account"})}
}

# The catalog resolution reads, and the prepared inputs the engine passes:
# input.catalog (an answer of catalog) and input.granted (the role names of the
# grants) decide exactly what input.roles and input.grants decide.

test_catalog_by_name_and_level if {
	custom := {
		"Desk Chief": _account_role("account", ["manage_users", "publish"]),
		"Team Lead": {"level": "enterprise", "group_manager": true, "permissions": ["manage_groups"]},
		"Viewer": _account_role("account", ["manage_users"]),
		"Broken": "not a role",
	}
	got := roles.catalog with input as {"roles": custom}
	got.roles == {
		"Enterprise Admin": {"level": "enterprise", "group_manager": false, "full_access": true, "score": 140},
		"Enterprise Group Manager": {"level": "enterprise", "group_manager": true, "full_access": false, "score": 130},
		"Account Administrator": {"level": "account", "group_manager": false, "full_access": false, "score": 60},
		"Publisher": {"level": "account", "group_manager": false, "full_access": false, "score": 25},
		"Editor": {"level": "account", "group_manager": false, "full_access": false, "score": 15},
		"Reports Only": {"level": "account", "group_manager": false, "full_access": false, "score": 5},
		"Viewer": {"level": "account", "group_manager": false, "full_access": false, "score": 2},
		"Desk Chief": {"level": "account", "group_manager": false, "full_access": false, "score": 30},
		"Team Lead": {"level": "enterprise", "group_manager": true, "full_access": false, "score": 5},
	}
	got.scores == {
		"enterprise": {"Enterprise Admin": 140, "Enterprise Group Manager": 130, "Team Lead": 5},
		"account": {
			"Account Administrator": 60, "Publisher": 25, "Editor": 15,
			"Reports Only": 5, "Viewer": 2, "Desk Chief": 30,
		},
	}
	got.unpenalised == {"Enterprise Admin": 140, "Enterprise Group Manager": 140, "Team Lead": 15}
	got.full_access == {"Enterprise Admin": 140}
}

# The role names of the grants, each once, as the engine gathers them.
_granted(grants) := {
	"enterprise": [name | some name in {grant.role | some grant in grants; grant.scope == "enterprise"}],
	"account": {account: [name | some name in {grant.role | some grant in grants; grant.scope == "account"; grant.account == account}] |
		some grant in grants
		grant.scope == "account"
		account := grant.account
	},
}

_prepared_custom := {
	"Small Group Manager": {"level": "enterprise", "group_manager": true, "permissions": ["manage_groups"]},
	"Chief": {"level": "enterprise", "permissions": data.roles.builtin_roles["Enterprise Admin"].permissions},
	"Zine Editor": _account_role("account", ["view_content", "view_reports", "edit_content"]),
}

_prepared_cases := [
	[_enterprise_grant("A", "Enterprise Admin"), _account_grant("B", "news", "Reports Only")],
	[_enterprise_grant("A", "Enterprise Group Manager"), _enterprise_grant("B", "Enterprise Admin")],
	[_enterprise_grant("A", "Chief"), _enterprise_grant("B", "Enterprise Admin"), _account_grant("C", "sports", "Zine Editor")],
	[_enterprise_grant("A", "Small Group Manager"), _account_grant("B", "sports", "Viewer"), _account_grant("C", "moon", "Viewer")],
	[
		_account_grant("A", "news", "Editor"), _account_grant("B", "news", "Zine Editor"),
		_account_grant("C", "weather", "Zine Editor"), _account_grant("D", "sports", "Astronaut"),
		_enterprise_grant("E", "Editor"),
	],
]

test_prepared_inputs_decide_alike if {
	catalog := roles.catalog with input as {"roles": _prepared_custom}
	every grants in _prepared_cases {
		plain := _input_with_roles(_prepared_custom, grants)
		decision := roles.access with input as plain
		decision == roles.access with input as {"catalog": catalog, "accounts": plain.accounts, "granted": _granted(grants)}
	}
}

test_prepared_inputs_explain_alike if {
	catalog := roles.catalog with input as {"roles": _prepared_custom}
	every grants in [_prepared_cases[2], _prepared_cases[4]] {
		plain := _input_with_roles(_prepared_custom, grants)
		explained := roles.explain with input as plain
		explained == roles.explain with input as {"catalog": catalog, "accounts": plain.accounts, "grants": grants}
	}
}

test_prepared_inputs_missing_parts if {
	catalog := roles.catalog with input as {}
	got := roles.access with input as {"catalog": catalog, "accounts": ["news"], "granted": {}}
	got == {"active": true, "enterprise": null, "accounts": {"news": null}}
}

# A deactivated user has no access.

_inactive_grants := [
	_enterprise_grant("A", "Enterprise Admin"),
	_account_grant("B", "news", "Editor"),
]

test_active_inactive_user_granted_nothing if {
	got := roles.access with input as object.union(_input(_inactive_grants), {"active": false})
	got == {
		"active": false,
		"enterprise": null,
		"accounts": {"news": null, "sports": null, "weather": null},
	}
}

test_active_inactive_user_grants_all_ignored if {
	got := roles.explain with input as object.union(_input(_inactive_grants), {"active": false})
	got.active == false
	got.enterprise == null
	got.ignored == {object.union(grant, {"reason": "inactive_user"}) | some grant in _inactive_grants}
}

test_active_malformed_is_inactive if {
	every value in ["true", null, 1] {
		got := roles.access with input as object.union(_input(_inactive_grants), {"active": value})
		got.active == false
		got.enterprise == null
	}
}

test_active_inactive_user_prepared_input if {
	catalog := roles.catalog with input as {}
	got := roles.access with input as {
		"catalog": catalog, "accounts": ["news"], "active": false,
		"granted": {"enterprise": ["Enterprise Admin"], "account": {"news": ["Editor"]}},
	}
	got == {"active": false, "enterprise": null, "accounts": {"news": null}}
}

test_active_true_or_absent_resolves if {
	every extra in [{}, {"active": true}] {
		got := roles.access with input as object.union(_input(_inactive_grants), extra)
		got.active == true
		got.enterprise.role == "Enterprise Admin"
		got.accounts.news.role == "Editor"
	}
}
