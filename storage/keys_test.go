package storage

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"tenants", tenantsKey(), "tenants"},
		{"pattern", tenantPattern("acme"), "t:{acme}:*"},
		{"tenant", tenantKey("acme"), "t:{acme}:tenant"},
		{"seats", seatsKey("acme"), "t:{acme}:seats"},
		{"seq", seqKey("acme"), "t:{acme}:seq"},
		{"audit", auditKey("acme"), "t:{acme}:audit"},
		{"refusals", refusalsKey("acme"), "t:{acme}:refusals"},
		{"scim status", scimStatusKey("acme"), "t:{acme}:scimStatus"},
		{"accounts", accountsKey("acme"), "t:{acme}:accounts"},
		{"seat requests", seatRequestsKey("acme"), "t:{acme}:seatRequests"},
		{"roles", rolesKey("acme"), "t:{acme}:roles"},
		{"grants", grantsKey("acme"), "t:{acme}:grants"},
		{"admin tokens", adminTokensKey("acme"), "t:{acme}:adminTokens"},
		{"migrate done", migrateDoneKey("acme"), "t:{acme}:migrate:done"},
		{"scan rate", scanRateKey("acme"), "t:{acme}:scanrate"},
		{"migrate cursor", migrateCursorKey("acme"), "t:{acme}:migrate:cursor"},
		{"users", usersKey("acme"), "t:{acme}:users"},
		{"user", userKey("acme", "u1"), "t:{acme}:user:u1"},
		{"user prefix", userKeyPrefix("acme") + "u1", "t:{acme}:user:u1"},
		{"user groups", userGroupsKey("acme", "u1"), "t:{acme}:user:u1:groups"},
		{"userName index", userNameIndexKey("acme"), "t:{acme}:idx:user:userName"},
		{"externalId index", userExternalIDIndexKey("acme", "x"), "t:{acme}:idx:user:externalId:x"},
		{"legacy externalId index", legacyUserExternalIDIndexKey("acme"), "t:{acme}:idx:user:externalId"},
		{"email index", userEmailIndexKey("acme", "a@b.c"), "t:{acme}:idx:user:email:a@b.c"},
		{"employeeNumber index", userEmployeeNumberIndexKey("acme", "42"), "t:{acme}:idx:user:employeeNumber:42"},
		{"userName lex", userNameLexKey("acme"), "t:{acme}:lex:user:userName"},
		{"groups", groupsKey("acme"), "t:{acme}:groups"},
		{"group", groupKey("acme", "g1"), "t:{acme}:group:g1"},
		{"group members", groupMembersKey("acme", "g1"), "t:{acme}:group:g1:members"},
		{"displayName index", groupDisplayNameIndexKey("acme"), "t:{acme}:idx:group:displayName"},
		{"group externalId index", groupExternalIDIndexKey("acme", "x"), "t:{acme}:idx:group:externalId:x"},
		{"access feed", accessFeedKey("acme"), "t:{acme}:access:feed"},
		{"access feed floor", accessFeedFloorKey("acme"), "t:{acme}:access:feed:floor"},
		{"webhooks", webhooksKey(), "webhooks"},
		{"webhook", webhookKey("acme"), "t:{acme}:webhook"},
		{"webhook cursor", webhookCursorKey("acme"), "t:{acme}:webhook:cursor"},
		{"webhook lease", webhookLeaseKey("acme"), "t:{acme}:webhook:lease"},
		{"webhook dead", webhookDeadKey("acme"), "t:{acme}:webhook:dead"},
		{"access user", accessUserKey("acme", "u1"), "t:{acme}:access:user:u1"},
		{"access gen", accessGenKey("acme"), "t:{acme}:access:gen"},
		{"access outbox", accessOutboxKey("acme"), "t:{acme}:access:outbox"},
		{"access state", accessStateKey("acme"), "t:{acme}:access:state"},
		{"access lease", accessLeaseKey("acme"), "t:{acme}:access:lease"},
		{"access log", accessLogKey("acme"), "t:{acme}:access:log"},
		{"decision tokens", decisionTokensKey("acme"), "t:{acme}:decisionTokens"},
		{"console session", consoleSessionKey("acme", "ab12"), "t:{acme}:console:session:ab12"},
		{"console sign-in failures", consoleSignInFailuresKey("192.0.2.7"), "console:signInFailures:192.0.2.7"},
		{"policy replicas", policyReplicasKey(""), "{policy}:replicas"},
		{"policy active", policyActiveKey(""), "{policy}:active"},
		{"policy replicas, tagged", policyReplicasKey("blue"), "{blue}:replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.got); d != "" {
				t.Errorf("key (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseTenantKey pins parseTenantKey as the inverse of the builders.
func TestParseTenantKey(t *testing.T) {
	type parsed struct {
		Kind  tenantKeyKind
		Value string
	}
	tests := []struct {
		key  string
		want parsed
	}{
		{userKey("acme", "u1"), parsed{keyUser, "u1"}},
		{userGroupsKey("acme", "u1"), parsed{keyUserGroups, "u1"}},
		{groupKey("acme", "g1"), parsed{keyGroup, "g1"}},
		{groupMembersKey("acme", "g1"), parsed{keyGroupMembers, "g1"}},
		{userEmailIndexKey("acme", "a@b.c"), parsed{keyUserEmailIndex, "a@b.c"}},
		{userEmailIndexKey("acme", ""), parsed{keyUserEmailIndex, ""}},
		{userEmployeeNumberIndexKey("acme", "4:2"), parsed{keyUserEmployeeNumberIndex, "4:2"}},
		{groupExternalIDIndexKey("acme", "x"), parsed{keyGroupExternalIDIndex, "x"}},
		{userNameIndexKey("acme"), parsed{keyOther, ""}},
		{userExternalIDIndexKey("acme", "x:y"), parsed{keyUserExternalIDIndex, "x:y"}},
		{legacyUserExternalIDIndexKey("acme"), parsed{keyOther, ""}},
		{groupDisplayNameIndexKey("acme"), parsed{keyOther, ""}},
		{usersKey("acme"), parsed{keyOther, ""}},
		{seatsKey("acme"), parsed{keyOther, ""}},
		{"t:{acme}:user:u1:other", parsed{keyOther, ""}},
		{"t:{acme}:user:", parsed{keyOther, ""}},
		{userKey("other", "u1"), parsed{keyOther, ""}},
		{accessUserKey("acme", "u1"), parsed{keyOther, ""}},
		{accessOutboxKey("acme"), parsed{keyOther, ""}},
	}
	for _, tt := range tests {
		kind, value := parseTenantKey("acme", tt.key)
		if d := cmp.Diff(tt.want, parsed{kind, value}); d != "" {
			t.Errorf("parseTenantKey(%q) (-want +got):\n%s", tt.key, d)
		}
	}
}

func TestValidTenantID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"acme", true},
		{"st-0a1b2c3d", true},
		{"a.b_c:d@e", true},
		{strings.Repeat("x", maxTenantIDLen), true},
		{"", false},
		{strings.Repeat("x", maxTenantIDLen+1), false},
		{"a}b", false},
		{"a{b", false},
		{"a*", false},
		{"a?", false},
		{"a[b]", false},
		{`a\b`, false},
		{"a b", false},
		{"a\nb", false},
		{"a\x7f", false},
	}
	for _, tt := range tests {
		if got := validTenantID(tt.id); got != tt.want {
			t.Errorf("validTenantID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestValidRecordID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"2819c223-7f76-453a-919d-413861904646", true},
		{"a*b?[c]", true},
		{"", false},
		{"u1:groups", false},
		{"a{b}", false},
		{"a b", false},
		{"a\x00b", false},
	}
	for _, tt := range tests {
		if got := validRecordID(tt.id); got != tt.want {
			t.Errorf("validRecordID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
