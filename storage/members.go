package storage

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/change_members.lua
	changeMembersLua    string
	changeMembersScript = redis.NewScript(auditLua + outboxLua + changeMembersLua)
)

// ChangeMembers adds and removes members of a group without comparing its
// version, so that concurrent member changes never conflict: each lands,
// and the result is their union. It bumps the group's version, sets its
// modified time and appends audit. A member both added and removed is
// added first, then removed (callers pass the net effect). It returns the
// group's new version.
// A group managed in the app is left alone: a SCIM change takes it over,
// which needs its record (UpdateGroup).
// Returns ErrNotFound (tenant or group), ErrManualGroup, ErrMemberNotFound,
// *QuotaError (members: the group would grow past its quota), ErrUnavailable.
func (s *Store) ChangeMembers(ctx context.Context, tenant, groupID string, add, remove []string, modified time.Time, audit []byte) (int64, error) {
	if !validRecordID(groupID) {
		return 0, notFound("group")
	}
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	add, err := memberIDs(add)
	if err != nil {
		return 0, err
	}
	remove = dedupe(validIDs(remove))
	keys := make([]string, 0, 4+2*len(add)+len(remove)+3)
	keys = append(keys, tenantKey(tenant), groupKey(tenant, groupID), groupMembersKey(tenant, groupID), auditKey(tenant))
	args := make([]any, 0, 7+len(add)+len(remove))
	args = append(args, groupID, encodeTime(modified), s.auditRetention(), audit, len(add), len(remove), s.opts.Quotas.Members)
	for _, m := range add {
		keys = append(keys, userKey(tenant, m), userGroupsKey(tenant, m))
		args = append(args, m)
	}
	for _, m := range remove {
		keys = append(keys, userGroupsKey(tenant, m))
		args = append(args, m)
	}
	keys = append(keys, grantsKey(tenant), accessOutboxKey(tenant), accessGenKey(tenant))
	v, err := s.runCounting(ctx, "change members", changeMembersScript, keys, args)
	if errors.Is(err, errRetry) {
		err = ErrManualGroup
	}
	return v, err
}
