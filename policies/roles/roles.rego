# METADATA
# title: Role resolution
# description: >-
#   Resolves a user's effective role at enterprise level and in every
#   sub-account of the tenant, from the grants of all the user's groups, and
#   explains each answer. Power scores come from the role-priority matrix in
#   data.roles: permission_weights, group_manager_penalty and builtin_roles,
#   where each enterprise role also says whether it grants full access to all
#   sub-accounts (full_access).
#   The tenant's custom roles arrive in input.roles and are scored by the same
#   matrix; a custom role cannot shadow a built-in one.
package roles

# METADATA
# title: Effective access
# description: >-
#   The user's effective role at enterprise level (null without one) and in
#   each sub-account of input.accounts (null without access), each with its
#   power score and the rule that decided it, in one evaluation. Input: roles
#   (the tenant's custom roles by name), accounts (the tenant's sub-accounts)
#   and grants (every grant of every group the user belongs to); optionally
#   catalog (the answer of catalog for those roles) instead of roles, and
#   granted (the role names of the grants, by level) instead of grants; and
#   active (false for a deactivated user, who is granted no role; absent
#   means true, any other value false). The answer repeats active.
# entrypoint: true
access := {
	"active": _active,
	"enterprise": _enterprise,
	"accounts": _accounts,
}

# METADATA
# title: Explained access
# description: >-
#   The access decision itself, each answer extended with the candidates it
#   was chosen from (the grants that took part, with their scores), plus the
#   grants that were ignored and why. It is built on access and on the same
#   grant sets, so the explanation cannot drift from the decision.
# entrypoint: true
explain := {
	"active": _active,
	"enterprise": _explained(access.enterprise, _candidates(_enterprise_grants)),
	"accounts": {account: _explained(decision, _candidates(_account_grants[account]) | _inherited_candidates) |
		some account, decision in access.accounts
	},
	"ignored": _ignored,
}

# METADATA
# title: Role catalog
# description: >-
#   Every built-in role and every custom role of input.roles, keyed by name,
#   with its power score and the permissions the matrix does not know (which
#   weigh nothing). The admin API lists roles through it.
# entrypoint: true
scores[name] := {
	"level": role.level,
	"group_manager": role.group_manager,
	"full_access": role.full_access,
	"permissions": sort(_distinct(role.permissions)),
	"builtin": _builtin(name),
	"score": score(role),
	"unknown_permissions": sort({p |
		some p in role.permissions
		not data.roles.permission_weights[p]
	}),
} if {
	some name, role in _roles
}

# METADATA
# title: Resolution catalog
# description: >-
#   What role resolution reads of the role catalog (scores): each role's
#   level, Group Manager flag and score by name; the scores of each level's
#   roles; and the enterprise roles' scores without the Group Manager penalty.
#   It depends on data and input.roles alone, so a caller can ask it once per
#   change of the tenant's roles and hand it back as input.catalog, which
#   access and explain then read instead of scoring roles again.
# entrypoint: true
catalog := _catalog_of({name: _rating(role) | some name, role in _roles})

# METADATA
# title: Power score
# description: >-
#   The sum of the weights of a role's distinct permissions (a permission the
#   matrix does not know weighs nothing), minus group_manager_penalty when the
#   role is an enterprise role flagged Group Manager.
score(role) := _raw_score(role) - _penalty(role)

# object.filter keeps each known permission once.
_raw_score(role) := sum([w | some w in object.filter(data.roles.permission_weights, role.permissions)])

default _penalty(_) := 0

_penalty(role) := data.roles.group_manager_penalty if {
	role.level == "enterprise"
	role.group_manager == true
}

_unpenalised(role) := role.score + _penalty(role)

_distinct(xs) := {x | some x in xs}

_builtin(name) if {
	data.roles.builtin_roles[name]
} else := false

# Built-in roles win over custom roles of the same name: object.union lets its
# right operand win.
_roles := object.union(_custom_roles, data.roles.builtin_roles)

_custom_roles := {name: _custom_role(role) |
	some name, role in input.roles
	is_object(role)
}

_custom_role(role) := {
	"level": level,
	"permissions": _list(object.get(role, "permissions", [])),
	"group_manager": group_manager,
	"full_access": _full_access(level, group_manager, object.get(role, "full_access", null)),
} if {
	level := object.get(role, "level", "")
	group_manager := object.get(role, "group_manager", false) == true
}

# Only an enterprise role can grant full access to all sub-accounts, never a
# Group Manager role. A custom enterprise role says whether it does; one that
# does not say (stored before roles said it) does unless it is a Group
# Manager role, as every enterprise role but a Group Manager role did then.
_full_access(level, group_manager, said) := false if {
	level != "enterprise"
} else := false if {
	group_manager
} else := said if {
	is_boolean(said)
} else := true

_list(xs) := xs if {
	is_array(xs)
} else := []

_rating(role) := {"level": role.level, "group_manager": role.group_manager, "full_access": role.full_access, "score": score(role)}

# The catalog resolution reads: input.catalog when the caller kept the answer
# of catalog for these roles, else that of the roles the grants name, rated
# now.
_catalog := input.catalog if {
	is_object(input.catalog)
} else := _catalog_of({name: _rating(_roles[name]) | some name in _named})

_catalog_of(ratings) := {
	"roles": ratings,
	"scores": {level: {name: role.score | some name, role in ratings; role.level == level} |
		some level in ["enterprise", "account"]
	},
	"unpenalised": {name: _unpenalised(role) | some name, role in ratings; role.level == "enterprise"},
	"full_access": {name: role.score | some name, role in ratings; role.level == "enterprise"; role.full_access == true},
}

# The role names input.grants (or input.granted) name.
_named := union({
	{grant.role | some grant in input.grants},
	{name | some name in _granted.enterprise},
	{name | some names in _granted.account; some name in names},
})

# The role names granted at enterprise level and in each sub-account, each
# once: input.granted when the caller gathered them from input.grants (the
# engine does, for access), else gathered here. A role is compared once,
# however many groups grant it.
_granted := {
	"enterprise": object.get(input.granted, "enterprise", []),
	"account": object.get(input.granted, "account", {}),
} if {
	is_object(input.granted)
} else := {
	"enterprise": {grant.role | some grant in _grants_at_enterprise},
	"account": {account: {grant.role | some grant in grants} | some account, grants in _grants_by_account},
}

_grants_at_enterprise := {grant | some grant in input.grants; grant.scope == "enterprise"}

# The grants of each sub-account of input.accounts. OPA indexes the inner
# comprehension by account (it follows the binding of account), so each grant
# is visited once, not once per sub-account.
_grants_by_account := {account: grants |
	some account in input.accounts
	grants := {grant | some grant in input.grants; grant.scope == "account"; grant.account == account}
}

# A deactivated user has no access: no grant of theirs takes part. Absent
# means active (the documented input before it); anything but true or absent
# is not active, so that a malformed input grants nothing.
default _active := false

_active if object.get(input, "active", true) == true

default _enterprise := null

# The enterprise roles granted compete: roles of another level, or unknown, do
# not take part.
_enterprise := {
	"role": winner,
	"score": _catalog.scores.enterprise[winner],
	"rule": _enterprise_rule(top),
} if {
	_active
	top := _top(_catalog.scores.enterprise, _granted.enterprise)
	winner := _first_by_name(top)
}

# The penalty decided when the best roles without it are not the best roles
# with it: of Enterprise Admin and an otherwise identical Group Manager role,
# the first wins because of the penalty, not because of its name.
_enterprise_rule(top) := "group_manager_penalty" if {
	top != _top(_catalog.unpenalised, _granted.enterprise)
} else := _tie_rule(top)

# A role that grants full access to all sub-accounts (full_access) is
# inherited by every sub-account, whichever enterprise role wins at enterprise
# level: gaining an enterprise grant never takes sub-account access away. Of
# several such roles the highest score is inherited, ties going by name.
# _inherited is its name (its score is in _catalog.full_access): a name is
# handed to _account for each sub-account as it is, where an object was
# copied at each comparison, which made the decision a third dearer.
default _inherited := null

_inherited := winner if {
	_active
	top := _top(_catalog.full_access, _granted.enterprise)
	winner := _first_by_name(top)
}

# Sub-accounts granted the same role names get the same answer, which OPA
# computes once: _account depends on nothing else.
_accounts := {account: _account(object.get(granted, account, []), inherited) |
	granted := _granted.account
	inherited := _inherited
	some account in input.accounts
} if {
	_active
} else := {account: null | some account in input.accounts}

# An explicit grant for the sub-account wins over the inherited enterprise
# role, even when it scores lower. The account roles granted compete: roles of
# another level, or unknown, do not take part.
_account(names, inherited) := {
	"role": winner,
	"score": _catalog.scores.account[winner],
	"rule": _account_rule(top, inherited),
} if {
	top := _top(_catalog.scores.account, names)
	winner := _first_by_name(top)
} else := {
	"role": inherited,
	"score": _catalog.full_access[inherited],
	"rule": "inherited_full_access",
} if {
	inherited != null
} else := null

_account_rule(top, inherited) := "sub_account_override" if {
	inherited != null
} else := _tie_rule(top)

# Of role names, the first alphabetically as a person reads it: case and
# accents do not count (data.roles.collation.fold maps each lower-case
# accented letter, and each combining mark, to what it sorts as), so "apex"
# comes before "Editor" and "Éditeur" before "Editor"; names equal that way go
# by byte order.
_first_by_name(names) := name if {
	count(names) == 1
	some name in names
} else := min({[_sort_key(name), name] | some name in names})[1]

_sort_key(name) := strings.replace_n(data.roles.collation.fold, lower(name))

_tie_rule(top) := "tie_by_name" if {
	count(top) > 1
} else := "highest_score"

# Of names, those with the highest score; undefined when none has a score.
_top(scores, names) := {name | some name in names; scores[name] == high} if {
	high := max({scores[name] | some name in names})
}

# Explanation helpers: only the explain query evaluates them.

# The grants behind the roles the decision compared.
_enterprise_grants := {grant | _active; some grant in _grants_at_enterprise; _catalog.scores.enterprise[grant.role]}

_account_grants := {account: {grant | _active; some grant in grants; _catalog.scores.account[grant.role]} |
	some account, grants in _grants_by_account
}

# The candidates of the role every sub-account inherits: the grants of the
# roles that grant full access to all sub-accounts, which competed for it.
_inherited_candidates := _candidates({grant | some grant in _enterprise_grants; _catalog.full_access[grant.role]})

_explained(decision, candidates) := object.union(decision, {"candidates": candidates}) if {
	decision != null
} else := null

_candidates(grants) := {{
	"role": grant.role,
	"score": _catalog.roles[grant.role].score,
	"group": object.get(grant, "group", null),
	"scope": grant.scope,
	"account": _account_of(grant),
} |
	some grant in grants
}

_account_of(grant) := grant.account if {
	grant.scope == "account"
} else := null

# Every grant that took no part, with the reason: the grants minus those the
# decision compared, so that ignored and candidates always add up.
_ignored := {object.union(grant, {"reason": _reason(grant)}) | some grant in _unused}

_unused := ({grant | some grant in input.grants; is_object(grant)} - _enterprise_grants) - union({grants | some grants in _account_grants})

_reason(grant) := "inactive_user" if {
	not _active
} else := "unknown_role" if {
	not _catalog.roles[grant.role]
} else := "invalid_scope" if {
	not grant.scope in {"enterprise", "account"}
} else := "level_mismatch" if {
	_catalog.roles[grant.role].level != grant.scope
} else := "unknown_account"
