# METADATA
# title: Role resolution
# description: >-
#   Resolves a user's effective role at enterprise level and in every
#   sub-account of the tenant, from the grants of all the user's groups, and
#   explains each answer. Power scores come from the role-priority matrix in
#   data.roles: permission_weights, group_manager_penalty and builtin_roles.
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
#   and grants (every grant of every group the user belongs to).
# entrypoint: true
access := {
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
	"enterprise": _explained(access.enterprise, _enterprise_grants),
	"accounts": {account: _explained(access.accounts[account], grants | _inherited_grants) |
		some account, grants in _account_grants
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
	"permissions": sort(_distinct(role.permissions)),
	"builtin": _builtin(name),
	"score": score(role),
	"unknown_permissions": sort({p |
		some p in role.permissions
		not data.roles.permission_weights[p]
	}),
} if {
	some name, role in _catalog
}

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

_distinct(xs) := {x | some x in xs}

_builtin(name) if {
	data.roles.builtin_roles[name]
} else := false

# Built-in roles win over custom roles of the same name: object.union lets its
# right operand win.
_catalog := object.union(_custom_roles, data.roles.builtin_roles)

_custom_roles := {name: _custom_role(role) |
	some name, role in input.roles
	is_object(role)
}

_custom_role(role) := {
	"level": object.get(role, "level", ""),
	"permissions": _list(object.get(role, "permissions", [])),
	"group_manager": object.get(role, "group_manager", false) == true,
}

_list(xs) := xs if {
	is_array(xs)
} else := []

_known_accounts := {account | some account in input.accounts}

# The roles a grant can name at each level.
_enterprise_roles := {name | some name, role in _catalog; role.level == "enterprise"}

_account_roles := {name | some name, role in _catalog; role.level == "account"}

# The distinct roles granted at enterprise level and in each sub-account,
# keeping those of the right level: a role is scored and compared once,
# however many groups grant it. OPA indexes the comprehension by account, so
# each grant is visited once, not once per sub-account.
_enterprise_names := {grant.role | some grant in input.grants; grant.scope == "enterprise"} & _enterprise_roles

_account_names[account] := names & _account_roles if {
	some account in _known_accounts
	names := {grant.role | some grant in input.grants; grant.account == account; grant.scope == "account"}
}

_scores := {name: score(_catalog[name]) | some name in (_enterprise_names | union({names | some names in _account_names}))}

_raw_scores := {name: _raw_score(_catalog[name]) | some name in _enterprise_names}

default _enterprise := null

_enterprise := {
	"role": winner,
	"score": _scores[winner],
	"rule": _enterprise_rule(_enterprise_names, top),
} if {
	top := _top(_enterprise_names, _scores)
	winner := min(top)
}

# The penalty decided when the best roles without it are not the best roles
# with it: of Enterprise Admin and an otherwise identical Group Manager role,
# the first wins because of the penalty, not because of its name.
_enterprise_rule(names, top) := "group_manager_penalty" if {
	top != _top(names, _raw_scores)
} else := _tie_rule(top)

# An enterprise role is inherited by every sub-account unless it is a Group
# Manager role, which grants no access to the sub-accounts.
default _inherited := null

_inherited := _enterprise if {
	_catalog[_enterprise.role].group_manager == false
}

_accounts[account] := _account(names, _inherited) if {
	some account, names in _account_names
}

# An explicit grant for the sub-account wins over the inherited enterprise
# role, even when it scores lower.
_account(names, inherited) := {
	"role": winner,
	"score": _scores[winner],
	"rule": _account_rule(top, inherited),
} if {
	top := _top(names, _scores)
	winner := min(top)
} else := {
	"role": inherited.role,
	"score": inherited.score,
	"rule": "inherited_enterprise_admin",
} if {
	inherited != null
} else := null

_account_rule(top, inherited) := "sub_account_override" if {
	inherited != null
} else := _tie_rule(top)

_tie_rule(top) := "tie_by_name" if {
	count(top) > 1
} else := "highest_score"

# The names with the highest score; undefined for no names.
_top(names, scores) := {name | some name in names; scores[name] == high} if {
	high := max({scores[name] | some name in names})
}

# Explanation helpers: only the explain query evaluates them.

# The grants behind the names the decision compared.
_enterprise_grants := {grant |
	some grant in input.grants
	grant.scope == "enterprise"
	grant.role in _enterprise_names
}

# Indexed by account like _account_names; filtered by names outside the
# comprehension, which would otherwise not be indexed.
_account_grants[account] := {grant | some grant in granted; grant.role in names} if {
	some account, names in _account_names
	granted := {grant | some grant in input.grants; grant.account == account; grant.scope == "account"}
}

_inherited_grants := {grant | some grant in _enterprise_grants; grant.role == _inherited.role}

_explained(decision, grants) := object.union(decision, {"candidates": _candidates(grants)}) if {
	decision != null
} else := null

_candidates(grants) := {{
	"role": grant.role,
	"score": _scores[grant.role],
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
_ignored := {object.union(grant, {"reason": _reason(grant, _catalog)}) | some grant in _unused}

_unused := ({grant | some grant in input.grants; is_object(grant)} - _enterprise_grants) - union({grants | some grants in _account_grants})

_reason(grant, catalog) := "unknown_role" if {
	not catalog[grant.role]
} else := "invalid_scope" if {
	not grant.scope in {"enterprise", "account"}
} else := "level_mismatch" if {
	catalog[grant.role].level != grant.scope
} else := "unknown_account"
