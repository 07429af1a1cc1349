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
	a := newScriptArgs(512 + len(audit) + 128*(len(add)+len(remove)))
	a.key(tenantKey(tenant))
	a.key(groupKey(tenant, groupID))
	a.key(groupMembersKey(tenant, groupID))
	a.key(auditKey(tenant))
	for _, m := range add {
		a.key(userKey(tenant, m))
		a.key(userGroupsKey(tenant, m))
	}
	for _, m := range remove {
		a.key(userGroupsKey(tenant, m))
	}
	a.key(grantsKey(tenant))
	a.key(accessOutboxKey(tenant))
	a.key(accessGenKey(tenant))
	a.str(groupID)
	a.time(modified)
	a.appended(s.appendAuditRetention)
	a.bytes(audit)
	a.int(int64(len(add)))
	a.int(int64(len(remove)))
	a.int(int64(s.opts.Quotas.Members))
	for _, m := range add {
		a.str(m)
	}
	for _, m := range remove {
		a.str(m)
	}
	const op = "change members"
	var v int64
	res, err := s.evalArgs(ctx, op, changeMembersScript, a)
	if err == nil {
		v, err = s.countResult(op, res)
	}
	if errors.Is(err, errRetry) {
		err = ErrManualGroup
	}
	return v, err
}
