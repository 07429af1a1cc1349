package storage

import "strings"

// This file is the only place that spells a Redis key. Every key of a tenant
// starts with "t:{<tenant>}:": the braces are a Redis Cluster hash tag, so all
// of a tenant's keys land in one slot and a multi-key script over them stays
// legal on a cluster. The tenant list is the only global key; it never enters
// a tenant script.

// tenantsKey is the global sorted set of tenant ids, scored by creation time
// in Unix milliseconds.
func tenantsKey() string { return "tenants" }

// tenantPrefix is the start of every key of tenant t.
func tenantPrefix(t string) string { return "t:{" + t + "}:" }

// tenantPattern is the SCAN pattern matching every key of tenant t. Tenant ids
// cannot hold glob characters (see validTenantID), so t needs no escaping.
func tenantPattern(t string) string { return tenantPrefix(t) + "*" }

// tenantKey is the tenant's settings hash.
func tenantKey(t string) string { return tenantPrefix(t) + "tenant" }

// seatsKey counts the tenant's active users.
func seatsKey(t string) string { return tenantPrefix(t) + "seats" }

// rateKey is the tenant's shared request bucket (rate.lua).
func rateKey(t string) string { return tenantPrefix(t) + "rate" }

// scanRateKey is the tenant's shared bucket of records its scans may
// examine (rate.lua with a cost).
func scanRateKey(t string) string { return tenantPrefix(t) + "scanrate" }

// adminRateKey is the tenant's shared bucket of admin writes (rate.lua).
func adminRateKey(t string) string { return tenantPrefix(t) + "adminRate" }

// seqKey is the counter that orders users and groups by creation.
func seqKey(t string) string { return tenantPrefix(t) + "seq" }

// refusalsKey is the hash grouping refused provisioning requests (refuse.lua).
func refusalsKey(t string) string { return tenantPrefix(t) + "refusals" }

// scimStatusKey is the hash of SCIM request counts by minute and outcome,
// the last request and the last error (flush_status.lua).
func scimStatusKey(t string) string { return tenantPrefix(t) + "scimStatus" }

// auditKey is the tenant's audit stream.
func auditKey(t string) string { return tenantPrefix(t) + "audit" }

// usersKey is the sorted set of user ids scored by creation sequence.
func usersKey(t string) string { return tenantPrefix(t) + "users" }

// userKey is one user's record hash.
func userKey(t, id string) string { return tenantPrefix(t) + "user:" + id }

// userKeyPrefix is what every user record key of the tenant starts with:
// userKey(t, id) is userKeyPrefix(t) + id (find_users.lua appends ids).
func userKeyPrefix(t string) string { return userKey(t, "") }

// userGroupsKey is the set of group ids a user belongs to (reverse index).
func userGroupsKey(t, id string) string { return userKey(t, id) + ":groups" }

// userNameIndexKey maps lower(userName) to the user id.
func userNameIndexKey(t string) string { return tenantPrefix(t) + "idx:user:userName" }

// userExternalIDIndexKey is the set of ids of users with that (non-empty)
// externalId, which is not unique: Entra maps it from mailNickname, which
// repeats across a directory's domains.
func userExternalIDIndexKey(t, externalID string) string {
	return tenantPrefix(t) + "idx:user:externalId:" + externalID
}

// legacyUserExternalIDIndexKey is the hash externalId -> user id that
// releases before the externalId sets wrote (it made externalId unique).
// Reads still consult it and writes remove what they move out of it, until
// the migration step "user-externalid-sets" has emptied it.
func legacyUserExternalIDIndexKey(t string) string { return tenantPrefix(t) + "idx:user:externalId" }

// userEmailIndexKey is the set of ids of users whose lower-cased work email is email.
func userEmailIndexKey(t, email string) string { return tenantPrefix(t) + "idx:user:email:" + email }

// userEmployeeNumberIndexKey is the set of ids of users with that employee number.
func userEmployeeNumberIndexKey(t, number string) string {
	return tenantPrefix(t) + "idx:user:employeeNumber:" + number
}

// userNameLexKey is a sorted set (all scores 0) of lower(userName) NUL id, for
// prefix search with ZRANGEBYLEX.
func userNameLexKey(t string) string { return tenantPrefix(t) + "lex:user:userName" }

// groupsKey is the sorted set of group ids scored by creation sequence.
func groupsKey(t string) string { return tenantPrefix(t) + "groups" }

// groupKey is one group's record hash.
func groupKey(t, id string) string { return tenantPrefix(t) + "group:" + id }

// groupMembersKey is the set of a group's member user ids.
func groupMembersKey(t, id string) string { return groupKey(t, id) + ":members" }

// groupDisplayNameIndexKey maps lower(displayName) to the group id.
func groupDisplayNameIndexKey(t string) string { return tenantPrefix(t) + "idx:group:displayName" }

// groupExternalIDIndexKey is the set of ids of groups with that externalId.
func groupExternalIDIndexKey(t, externalID string) string {
	return tenantPrefix(t) + "idx:group:externalId:" + externalID
}

// maxTenantIDLen bounds tenant ids so keys stay short.
const maxTenantIDLen = 128

// validTenantID reports whether id can name a tenant. A brace would move the
// hash tag and could make one tenant's keys a prefix of another's; a glob
// character would widen DeleteTenant's SCAN pattern; control characters and
// spaces have no business in a key.
func validTenantID(id string) bool {
	if id == "" || len(id) > maxTenantIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c <= ' ' || c == 0x7f:
			return false
		case c == '{' || c == '}' || c == '*' || c == '?' || c == '[' || c == ']' || c == '\\':
			return false
		}
	}
	return true
}

// validRecordID reports whether id can name a user or group. A colon would let
// "x:groups" name user x's reverse set instead of a record; braces would move
// the hash tag.
func validRecordID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c == 0x7f || c == ':' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// accountsKey is the hash of the tenant's sub-accounts: id -> JSON record.
func accountsKey(t string) string { return tenantPrefix(t) + "accounts" }

// seatRequestsKey is the list of the tenant's requests for more seats,
// newest first, JSON records (add_seat_request.lua).
func seatRequestsKey(t string) string { return tenantPrefix(t) + "seatRequests" }

// rolesKey is the hash of the tenant's custom roles: name -> JSON record.
func rolesKey(t string) string { return tenantPrefix(t) + "roles" }

// grantsKey is the hash of role grants by group: group id -> JSON list.
func grantsKey(t string) string { return tenantPrefix(t) + "grants" }

// adminTokensKey is the hash of a tenant's named admin tokens: SHA-256 of the
// token -> the name that stands for its holder in the audit log.
func adminTokensKey(t string) string { return tenantPrefix(t) + "adminTokens" }

// tenantKeyKind says what a key of a tenant holds, for Check, which SCANs a
// tenant's keys to find records and index sets that no listing reaches.
type tenantKeyKind int

// The kinds of key parseTenantKey recognises.
const (
	keyOther                   tenantKeyKind = iota // anything else
	keyUser                                         // userKey: the id
	keyUserGroups                                   // userGroupsKey: the user id
	keyGroup                                        // groupKey: the id
	keyGroupMembers                                 // groupMembersKey: the group id
	keyUserEmailIndex                               // userEmailIndexKey: the email
	keyUserEmployeeNumberIndex                      // userEmployeeNumberIndexKey: the number
	keyUserExternalIDIndex                          // userExternalIDIndexKey: the externalId
	keyGroupExternalIDIndex                         // groupExternalIDIndexKey: the externalId
)

// parseTenantKey returns the kind of key (a key of tenant t) and the id or
// value it was built from. It inverts the builders above by calling them, so
// the two cannot drift apart.
func parseTenantKey(t, key string) (tenantKeyKind, string) {
	for _, p := range []struct {
		kind   tenantKeyKind
		prefix string
	}{
		{keyUserEmailIndex, userEmailIndexKey(t, "")},
		{keyUserEmployeeNumberIndex, userEmployeeNumberIndexKey(t, "")},
		{keyUserExternalIDIndex, userExternalIDIndexKey(t, "")},
		{keyGroupExternalIDIndex, groupExternalIDIndexKey(t, "")},
	} {
		if v, ok := strings.CutPrefix(key, p.prefix); ok {
			return p.kind, v
		}
	}
	for _, r := range []struct {
		record, child tenantKeyKind
		key, childKey func(t, id string) string
	}{
		{keyUser, keyUserGroups, userKey, userGroupsKey},
		{keyGroup, keyGroupMembers, groupKey, groupMembersKey},
	} {
		rest, ok := strings.CutPrefix(key, r.key(t, ""))
		if !ok {
			continue
		}
		// A record id holds no ':' (validRecordID), so whatever follows
		// the first one names a key that hangs off the record.
		id, _, child := strings.Cut(rest, ":")
		switch {
		case !validRecordID(id):
		case !child:
			return r.record, id
		case key == r.childKey(t, id):
			return r.child, id
		}
	}
	return keyOther, ""
}

// migrateDoneKey is the hash of the `scimd migrate` steps finished for the
// tenant: step name -> when (RFC 3339).
func migrateDoneKey(t string) string { return tenantPrefix(t) + "migrate:done" }

// migrateCursorKey is the hash of the cursors of the steps under way: step
// name -> where the next batch starts, so an interrupted run resumes.
func migrateCursorKey(t string) string { return tenantPrefix(t) + "migrate:cursor" }

// accessFeedKey is the tenant's change feed: a stream, one entry per user
// whose effective access changed, field "e" holding the entry's JSON.
func accessFeedKey(t string) string { return tenantPrefix(t) + "access:feed" }

// accessFeedFloorKey holds the id of the newest entry ever trimmed from the
// feed: a cursor below it has missed entries (410).
func accessFeedFloorKey(t string) string { return accessFeedKey(t) + ":floor" }

// webhooksKey is the global set of the tenants with a webhook, for the
// delivery dispatcher to find them without a SCAN. It never enters a
// tenant script.
func webhooksKey() string { return "webhooks" }

// webhookKey is the tenant's webhook hash: url, secret, created and the
// delivery status fields.
func webhookKey(t string) string { return tenantPrefix(t) + "webhook" }

// webhookCursorKey is the id of the last feed entry the webhook delivered
// (or dead-lettered).
func webhookCursorKey(t string) string { return webhookKey(t) + ":cursor" }

// webhookLeaseKey names the replica that delivers the tenant's webhook (SET
// NX PX, renewed while it works).
func webhookLeaseKey(t string) string { return webhookKey(t) + ":lease" }

// webhookDeadKey is the stream of batches given up on after every retry.
func webhookDeadKey(t string) string { return webhookKey(t) + ":dead" }

// The keys of stored access decisions (issue 12; helpers/ACCESS.md is the
// contract the other lanes build on).

// accessUserKey is a user's stored decision record (JSON), deleted with the user.
func accessUserKey(t, id string) string { return tenantPrefix(t) + "access:user:" + id }

// accessGenKey counts the tenant's decision generations: every outbox entry
// takes the next one (lua/outbox.lua).
func accessGenKey(t string) string { return tenantPrefix(t) + "access:gen" }

// accessOutboxKey is the stream of causes not yet resolved (lua/outbox.lua):
// fields k (kind), id, g (generation), c (cause JSON).
func accessOutboxKey(t string) string { return tenantPrefix(t) + "access:outbox" }

// accessStateKey is the resolver's hash: cursor, revision, resolved_gen and
// the progress of the job under way.
func accessStateKey(t string) string { return tenantPrefix(t) + "access:state" }

// accessLeaseKey is the resolver lease (value: the replica id, with a TTL).
func accessLeaseKey(t string) string { return tenantPrefix(t) + "access:lease" }

// accessLogKey is the sampled, size-bounded log of re-resolutions (field e).
func accessLogKey(t string) string { return tenantPrefix(t) + "access:log" }

// decisionTokensKey is the hash of a tenant's decision tokens: SHA-256 of
// the token -> its name.
func decisionTokensKey(t string) string { return tenantPrefix(t) + "decisionTokens" }

// platformDecisionTokensKey is the global hash of platform decision tokens:
// SHA-256 of the token -> its name. They read every tenant's decisions.
func platformDecisionTokensKey() string { return "platform:decisionTokens" }

// consoleSessionKey is one console session (the admin console's sign-in):
// its record, under the SHA-256 of the session id, so that a read of the
// store does not hand out live cookies. It expires when the session idles.
func consoleSessionKey(t, idHash string) string { return tenantPrefix(t) + "console:session:" + idHash }

// signInFailuresKey counts a tenant's failed console sign-ins in one
// window (sign_in_failure.lua), named by the window's start in Unix
// seconds; it expires after the window.
func signInFailuresKey(t, window string) string {
	return tenantPrefix(t) + "console:signInFailures:" + window
}

// consoleSignInFailuresKey is the bucket of failed console sign-ins from
// one client address (rate.lua), across tenants: limiting per tenant would
// let anybody lock a tenant's admins out.
func consoleSignInFailuresKey(ip string) string { return "console:signInFailures:" + ip }

// policyKeyTag is the hash tag of the policy rollout's global keys, unless
// Options.PolicyKeyTag names another (tests, or several deployments on one
// Redis).
const policyKeyTag = "policy"

// policyReplicasKey is the global hash of the replicas' heartbeats: replica
// id -> JSON {revision, seen_ms}.
func policyReplicasKey(tag string) string { return "{" + orTag(tag) + "}:replicas" }

// policyActiveKey is the global string holding the active policy revision.
func policyActiveKey(tag string) string { return "{" + orTag(tag) + "}:active" }

func orTag(tag string) string {
	if tag == "" {
		return policyKeyTag
	}
	return tag
}
