package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CreateGroup stores g (Version 1) with its indexes and initial members
// (reverse index included) and appends audit, atomically.
// Returns *UniquenessError (displayName), ErrMemberNotFound, *QuotaError
// (groups, members), ErrNotFound (no such tenant), ErrExists (g.ID taken, which a fresh random id never is),
// ErrUnavailable, and a plain error for an id holding ':', braces, spaces or
// control characters.
func (s *Store) CreateGroup(ctx context.Context, tenant string, g Group, members []string, audit []byte) error {
	if !validRecordID(g.ID) {
		return fmt.Errorf("storage: invalid group id %q", g.ID)
	}
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	members, err := memberIDs(members)
	if err != nil {
		return err
	}
	keys := []string{
		tenantKey(tenant),
		seqKey(tenant),
		groupsKey(tenant),
		groupKey(tenant, g.ID),
		groupMembersKey(tenant, g.ID),
		groupDisplayNameIndexKey(tenant),
		groupExternalIDIndexKey(tenant, g.ExternalID),
		auditKey(tenant),
	}
	fields := groupFields(g)
	args := []any{
		g.ID,
		strings.ToLower(g.DisplayName),
		g.ExternalID,
		s.auditRetention(),
		audit,
		s.opts.Quotas.Groups,
		s.opts.Quotas.Members,
		len(fields),
	}
	args = append(args, fields...)
	for _, m := range members {
		keys = append(keys, userKey(tenant, m), userGroupsKey(tenant, m))
		args = append(args, m)
	}
	keys = append(keys, grantsKey(tenant))
	keys = append(keys, outboxKeys(tenant)...)
	return s.runScript(ctx, "create group", createGroupScript, keys, args)
}

// GetGroup returns one group. Returns ErrNotFound, ErrUnavailable.
func (s *Store) GetGroup(ctx context.Context, tenant, id string) (Group, error) {
	return getRecord(ctx, s, "group", id, groupKey(tenant, id), parseGroup)
}

// GetGroups returns the groups with these ids in order, skipping missing ids.
// Returns ErrUnavailable.
func (s *Store) GetGroups(ctx context.Context, tenant string, ids []string) ([]Group, error) {
	return getRecords(ctx, s, "group", ids, func(id string) string { return groupKey(tenant, id) }, parseGroup)
}

// UpdateGroup replaces the group whose stored version is prev.Version with g
// (g.Version = prev.Version+1), moving its index entries, then applies change
// to its members, and appends audit, atomically. The work done on members is
// O(len(change.Add)+len(change.Remove)), or O(group size) for a Replace.
// Add applies before Remove. A Replace reads the current members first; if
// they keep changing under it for a few attempts it gives up with
// ErrVersionConflict.
// Returns ErrNotFound, ErrVersionConflict, *UniquenessError,
// ErrMemberNotFound, *QuotaError (members), ErrUnavailable, and a plain
// error when g does not
// follow prev (other id, version not prev.Version+1).
func (s *Store) UpdateGroup(ctx context.Context, tenant string, prev Group, g Group, change MemberChange, audit []byte) error {
	if g.ID != prev.ID || g.Version != prev.Version+1 {
		return fmt.Errorf("storage: update group %q (version %d) with group %q (version %d)",
			prev.ID, prev.Version, g.ID, g.Version)
	}
	if !validRecordID(g.ID) {
		return notFound("group")
	}
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	add, err := memberIDs(change.Add)
	if err != nil {
		return err
	}
	// An id that cannot name a user cannot be a member: nothing to remove.
	remove := dedupe(validIDs(change.Remove))
	for range maxAttempts {
		var current []string
		if change.Replace {
			if current, err = s.rdb.SMembers(ctx, groupMembersKey(tenant, g.ID)).Result(); err != nil {
				return unavailable("update group", err)
			}
		}
		err = s.updateGroup(ctx, tenant, prev, g, change.Replace, current, add, remove, audit)
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return fmt.Errorf("%w: members of group %s kept changing during replace", ErrVersionConflict, g.ID)
}

// updateGroup runs update_group once. Returns errRetry when replace is set
// and current is no longer the member set.
func (s *Store) updateGroup(ctx context.Context, tenant string, prev, g Group, replace bool, current, add, remove []string, audit []byte) error {
	keys := []string{
		tenantKey(tenant),
		groupKey(tenant, g.ID),
		groupMembersKey(tenant, g.ID),
		groupDisplayNameIndexKey(tenant),
		groupExternalIDIndexKey(tenant, prev.ExternalID),
		groupExternalIDIndexKey(tenant, g.ExternalID),
		auditKey(tenant),
	}
	fields := groupFields(g)
	args := []any{
		g.ID,
		prev.Version,
		prev.DisplayName, prev.ExternalID,
		strings.ToLower(prev.DisplayName), strings.ToLower(g.DisplayName),
		g.ExternalID,
		s.auditRetention(),
		audit,
		encodeBool(replace),
		len(current), len(add), len(remove),
		len(fields),
		s.opts.Quotas.Members,
	}
	args = append(args, fields...)
	for _, m := range current {
		keys = append(keys, userGroupsKey(tenant, m))
		args = append(args, m)
	}
	for _, m := range add {
		keys = append(keys, userKey(tenant, m), userGroupsKey(tenant, m))
		args = append(args, m)
	}
	for _, m := range remove {
		keys = append(keys, userGroupsKey(tenant, m))
		args = append(args, m)
	}
	keys = append(keys, grantsKey(tenant))
	keys = append(keys, outboxKeys(tenant)...)
	return s.runScript(ctx, "update group", updateGroupScript, keys, args)
}

// DeleteGroup removes the group, its indexes, its member set and the reverse
// entries of its members, and appends audit, atomically. It reads the group
// and its members first; if they keep changing under it for a few attempts
// it gives up with ErrVersionConflict.
// Returns ErrNotFound, ErrVersionConflict, ErrUnavailable.
func (s *Store) DeleteGroup(ctx context.Context, tenant, id string, audit []byte) error {
	return s.deleteGroupIf(ctx, tenant, id, 0, audit)
}

// DeleteGroupAt deletes a group if it is still at version, the one the
// caller read (and decided on). Returns ErrVersionConflict when it moved,
// and what DeleteGroup returns.
func (s *Store) DeleteGroupAt(ctx context.Context, tenant, id string, version int64, audit []byte) error {
	return s.deleteGroupIf(ctx, tenant, id, version, audit)
}

// deleteGroupIf deletes a group at version, or at any version when 0.
func (s *Store) deleteGroupIf(ctx context.Context, tenant, id string, version int64, audit []byte) error {
	if !validRecordID(id) {
		return notFound("group")
	}
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	for range maxAttempts {
		snap, err := s.readGroupForDelete(ctx, tenant, id)
		if err != nil {
			return err
		}
		if version != 0 && snap.version != strconv.FormatInt(version, 10) {
			return fmt.Errorf("%w: group %s is at version %s, not %d", ErrVersionConflict, id, snap.version, version)
		}
		// The script deletes only the snapshot's version; if the group
		// moved since, read again (and check the version again).
		if err := s.deleteGroup(ctx, tenant, snap, audit); !errors.Is(err, errRetry) {
			return err
		}
	}
	return fmt.Errorf("%w: group %s kept changing during delete", ErrVersionConflict, id)
}

// groupSnapshot is what DeleteGroup reads before its script.
type groupSnapshot struct {
	id, version, displayName, externalID string
	members                              []string
}

// readGroupForDelete reads the record's version and indexed values and its
// members in one round trip.
func (s *Store) readGroupForDelete(ctx context.Context, tenant, id string) (groupSnapshot, error) {
	const op = "delete group"
	pipe := s.rdb.Pipeline()
	fields := pipe.HMGet(ctx, groupKey(tenant, id), fVersion, fDisplayName, fExternalID)
	members := pipe.SMembers(ctx, groupMembersKey(tenant, id))
	if _, err := pipe.Exec(ctx); err != nil {
		return groupSnapshot{}, unavailable(op, err)
	}
	vals := fields.Val()
	if len(vals) != 3 {
		return groupSnapshot{}, unavailable(op, badReply("HMGET %d values", len(vals)))
	}
	if vals[0] == nil {
		return groupSnapshot{}, notFound("group")
	}
	str := make([]string, len(vals))
	for i, v := range vals {
		if v == nil {
			continue // a field the record lacks reads as ""
		}
		sv, ok := v.(string)
		if !ok {
			return groupSnapshot{}, unavailable(op, badReply("HMGET %T", v))
		}
		str[i] = sv
	}
	return groupSnapshot{
		id: id, version: str[0], displayName: str[1], externalID: str[2], members: members.Val(),
	}, nil
}

// deleteGroup runs delete_group over snap. Returns errRetry when snap is stale.
func (s *Store) deleteGroup(ctx context.Context, tenant string, snap groupSnapshot, audit []byte) error {
	keys := []string{
		tenantKey(tenant),
		groupsKey(tenant),
		groupKey(tenant, snap.id),
		groupMembersKey(tenant, snap.id),
		groupDisplayNameIndexKey(tenant),
		groupExternalIDIndexKey(tenant, snap.externalID),
		auditKey(tenant),
		grantsKey(tenant),
	}
	args := []any{
		snap.id,
		snap.version,
		strings.ToLower(snap.displayName),
		s.auditRetention(),
		audit,
		len(snap.members),
	}
	for _, m := range snap.members {
		keys = append(keys, userGroupsKey(tenant, m))
		args = append(args, m)
	}
	keys = append(keys, outboxKeys(tenant)...)
	return s.runScript(ctx, "delete group", deleteGroupScript, keys, args)
}

// FindGroups returns the ids of groups whose indexed attribute equals value.
// displayName compares case-insensitively, externalId exactly; an empty
// externalId matches nothing. Returns ErrUnavailable, and a plain error for
// an unknown index.
func (s *Store) FindGroups(ctx context.Context, tenant string, by GroupIndex, value string) ([]string, error) {
	var (
		ids []string
		err error
	)
	switch by {
	case GroupByDisplayName:
		ids, err = s.hgetID(ctx, groupDisplayNameIndexKey(tenant), strings.ToLower(value))
	case GroupByExternalID:
		if value == "" {
			return nil, nil
		}
		ids, err = s.smembers(ctx, groupExternalIDIndexKey(tenant, value))
	default:
		return nil, fmt.Errorf("storage: unknown group index %d", by)
	}
	if err != nil {
		return nil, unavailable("find groups", err)
	}
	return ids, nil
}

// PageGroups returns count ids from offset (0-based) in creation order, and
// the total. Returns ErrUnavailable.
func (s *Store) PageGroups(ctx context.Context, tenant string, offset, count int) ([]string, int64, error) {
	ids, total, err := s.page(ctx, groupsKey(tenant), offset, count)
	if err != nil {
		return nil, 0, unavailable("page groups", err)
	}
	return ids, total, nil
}

// ScanGroups calls fn with batches of groups in creation order until fn
// returns false. Returns ErrUnavailable.
func (s *Store) ScanGroups(ctx context.Context, tenant string, fn func([]Group) bool) error {
	err := s.scanOrdered(ctx, groupsKey(tenant), func(ids []string) (bool, error) {
		groups, err := s.GetGroups(ctx, tenant, ids)
		if err != nil || len(groups) == 0 {
			return true, err
		}
		return fn(groups), nil
	})
	if err != nil && !isUnavailable(err) {
		err = unavailable("scan groups", err)
	}
	return err
}

// GroupMembers returns the member ids of a group, sorted (SSCAN in batches
// for big groups). Returns ErrNotFound, ErrUnavailable.
func (s *Store) GroupMembers(ctx context.Context, tenant, id string) ([]string, error) {
	const op = "group members"
	if !validRecordID(id) {
		return nil, notFound("group")
	}
	n, err := s.rdb.Exists(ctx, groupKey(tenant, id)).Result()
	if err != nil {
		return nil, unavailable(op, err)
	}
	if n == 0 {
		return nil, notFound("group")
	}
	// SSCAN may return a member twice; the map drops repeats.
	seen := make(map[string]struct{})
	var cursor uint64
	for {
		batch, next, err := s.rdb.SScan(ctx, groupMembersKey(tenant, id), cursor, "", int64(s.opts.ScanBatch)).Result()
		if err != nil {
			return nil, unavailable(op, err)
		}
		for _, m := range batch {
			seen[m] = struct{}{}
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	ids := make([]string, 0, len(seen))
	for m := range seen {
		ids = append(ids, m)
	}
	slices.Sort(ids)
	return ids, nil
}

// IsMember tells whether userID is a member of the group. Returns ErrUnavailable.
func (s *Store) IsMember(ctx context.Context, tenant, groupID, userID string) (bool, error) {
	if !validRecordID(groupID) || !validRecordID(userID) {
		return false, nil
	}
	ok, err := s.rdb.SIsMember(ctx, groupMembersKey(tenant, groupID), userID).Result()
	if err != nil {
		return false, unavailable("is member", err)
	}
	return ok, nil
}

// memberIDs de-duplicates ids to be added as members. An id that cannot
// name a user is ErrMemberNotFound, as a missing user is.
func memberIDs(ids []string) ([]string, error) {
	for _, id := range ids {
		if !validRecordID(id) {
			return nil, fmt.Errorf("%w: %q", ErrMemberNotFound, id)
		}
	}
	return dedupe(ids), nil
}

// dedupe drops repeated ids, keeping the first of each; ids as they are
// when none repeats (callers only read the result).
func dedupe(ids []string) []string {
	if len(ids) <= dedupeScanMax {
		// A short list (Entra's one member per PATCH) is searched, not mapped.
		for i := 1; i < len(ids); i++ {
			if slices.Contains(ids[:i], ids[i]) {
				return dedupeMapped(ids)
			}
		}
		return ids
	}
	return dedupeMapped(ids)
}

// dedupeScanMax is the longest list dedupe searches rather than maps.
const dedupeScanMax = 8

func dedupeMapped(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
