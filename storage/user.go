package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// CreateUser stores u (u.Version is set to 1 by the caller) with its indexes,
// takes a seat when u.Active, adds it to the listing order and appends audit
// (a JSON event; empty means none) to the tenant's audit stream, atomically.
// Returns *UniquenessError (userName held), *LicenseError, *QuotaError
// (users), ErrNotFound (no such tenant), ErrExists (u.ID taken, which a fresh random
// id never is), ErrUnavailable, and a plain error for an id holding ':',
// braces, spaces or control characters.
func (s *Store) CreateUser(ctx context.Context, tenant string, u User, audit []byte) error {
	_, err := s.createUser(ctx, tenant, u, audit, false)
	return err
}

// Holders are the users holding a SCIM create's identifiers, as
// CreateUserUnlinked found them: what deciding to link needs, read in the
// round trip that refused the create.
type Holders struct {
	// MatchBy is the tenant's (nil when unset: the default order).
	MatchBy []string
	// UserName, WorkEmail and EmployeeNumber are the ids each identifier's
	// index names, sorted, without repeats, as FindUsers answers.
	UserName, WorkEmail, EmployeeNumber []string
	// Users are the records of those ids that exist, in no set order.
	Users []User
}

// CreateUserUnlinked is CreateUser for a SCIM create that would link a
// manual user holding one of its identifiers: it creates only when none is
// held, in one round trip, and otherwise returns ErrMayLink with the
// holders, writing nothing, for the caller to decide about linking first
// (the same round trip, unless more than a few users hold them).
// Returns ErrMayLink and what CreateUser returns.
func (s *Store) CreateUserUnlinked(ctx context.Context, tenant string, u User, audit []byte) (Holders, error) {
	return s.createUser(ctx, tenant, u, audit, true)
}

func (s *Store) createUser(ctx context.Context, tenant string, u User, audit []byte, unlinked bool) (Holders, error) {
	if !validRecordID(u.ID) {
		return Holders{}, fmt.Errorf("storage: invalid user id %q", u.ID)
	}
	if !validTenantID(tenant) {
		return Holders{}, notFound("tenant")
	}
	lowerEmail := strings.ToLower(u.WorkEmail)
	activeArg := encodeBool(u.Active)
	if unlinked {
		activeArg += "l"
	}
	a := newScriptArgs(1024 + len(u.Doc) + len(audit))
	a.key(tenantKey(tenant))
	a.key(seatsKey(tenant))
	a.key(seqKey(tenant))
	a.key(usersKey(tenant))
	a.key(userKey(tenant, u.ID))
	a.key(userNameIndexKey(tenant))
	a.key(userExternalIDIndexKey(tenant, u.ExternalID))
	a.key(userEmailIndexKey(tenant, lowerEmail))
	a.key(userEmployeeNumberIndexKey(tenant, u.EmployeeNumber))
	a.key(userNameLexKey(tenant))
	a.key(auditKey(tenant))
	a.key(accessOutboxKey(tenant))
	a.key(accessGenKey(tenant))
	a.key(userKeyPrefix(tenant))
	a.str(u.ID)
	a.str(UserNameKey(u.UserName))
	a.str(u.ExternalID)
	a.str(lowerEmail)
	a.str(u.EmployeeNumber)
	a.str(lexMember(legacyUserNameKey(u.UserName), u.ID))
	a.str(activeArg)
	a.str(s.auditRetention())
	a.bytes(audit)
	a.int(s.opts.Quotas.Users)
	a.userFields(u)
	if unlinked {
		return s.createUnlinked(ctx, tenant, u.UserName, a)
	}
	err := s.runScriptArgs(ctx, "create user", createUserScript, a)
	if s.healUserName(ctx, tenant, u.UserName, err) {
		err = s.runScriptArgs(ctx, "create user", createUserScript, a)
	}
	return Holders{}, err
}

// createUnlinked runs create_user for CreateUserUnlinked. A refusal whose
// userName holder does not have the userName (healUserName) heals the
// index and runs it again, as CreateUser does.
func (s *Store) createUnlinked(ctx context.Context, tenant, userName string, a *scriptArgs) (Holders, error) {
	const op = "create user"
	for healed := false; ; healed = true {
		res, err := s.evalArgs(ctx, op, createUserScript, a)
		if err != nil {
			return Holders{}, err
		}
		h, names, ids, loaded, err := parseHolders(res)
		if errors.Is(err, errNotHolders) {
			return Holders{}, s.withRetry(scriptResult(op, res))
		}
		if err != nil {
			return Holders{}, unavailable(op, err)
		}
		if !healed && s.healUserName(ctx, tenant, userName, staleNameHolder(userName, names, h.Users, loaded)) {
			continue
		}
		if !loaded {
			if h.Users, err = s.GetUsers(ctx, tenant, ids); err != nil {
				return Holders{}, err
			}
		}
		return h, ErrMayLink
	}
}

// errNotHolders: a create_user reply other than a refusal to link.
var errNotHolders = errors.New("not a refusal to link")

// parseHolders reads create_user's refusal to link: the holders, the ids
// the userName index names for the key and for the legacy key ("" = none),
// every id named, and whether the records came too (loaded). Returns
// errNotHolders for another reply, and a reply error for a malformed one.
func parseHolders(res any) (h Holders, names [2]string, ids []string, loaded bool, err error) {
	arr, ok := res.([]any)
	if !ok || len(arr) == 0 {
		return h, names, nil, false, errNotHolders
	}
	if code, ok := arr[0].(int64); !ok || code != codeRetry {
		return h, names, nil, false, errNotHolders
	}
	if len(arr) != 5 && len(arr) != 6 {
		return h, names, nil, false, badReply("refusal to link of %d values", len(arr))
	}
	matchBy, ok := arr[1].(string)
	if !ok {
		return h, names, nil, false, badReply("matchBy %T", arr[1])
	}
	h.MatchBy = decodeMatchBy(matchBy)
	lists := make([][]string, 3)
	for i := range lists {
		if lists[i], err = stringList(arr[2+i]); err != nil {
			return h, names, nil, false, err
		}
	}
	if len(lists[0]) != 2 {
		return h, names, nil, false, badReply("%d userName holders", len(lists[0]))
	}
	names = [2]string{lists[0][0], lists[0][1]}
	h.UserName = sortedIDs(slices.DeleteFunc(lists[0], func(id string) bool { return id == "" }))
	h.WorkEmail, h.EmployeeNumber = sortedIDs(lists[1]), sortedIDs(lists[2])
	ids = sortedIDs(slices.Concat(h.UserName, h.WorkEmail, h.EmployeeNumber))
	if len(arr) == 5 {
		return h, names, ids, false, nil
	}
	records, err := stringList(arr[5])
	if err != nil || len(records)%2 != 0 {
		return h, names, nil, false, badReply("holders' records: %d values, %v", len(records), err)
	}
	h.Users = make([]User, 0, len(records)/2)
	for i := 0; i < len(records); i += 2 {
		id, packed := records[i], records[i+1]
		if packed == "" {
			continue // the record is gone: an index lags a delete
		}
		u, err := parsePackedUser(id, packed)
		if err != nil {
			return h, names, nil, false, err
		}
		h.Users = append(h.Users, u)
	}
	return h, names, ids, true, nil
}

// sortedIDs sorts ids in place and drops repeats; none is nil.
func sortedIDs(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// staleNameHolder is the refusal healUserName is given for a refusal to
// link: the holder CreateUser's refusal would name (the key's, else the
// legacy key's), when it may not have the userName; nil when it has it
// or there is none. Unread records (loaded false) leave healUserName to
// read the holder itself.
func staleNameHolder(userName string, names [2]string, users []User, loaded bool) error {
	holder := names[0]
	if holder == "" {
		holder = names[1]
	}
	if holder == "" {
		return nil
	}
	stale := &UniquenessError{Attribute: "userName", HolderID: holder}
	if !loaded {
		return stale
	}
	i := slices.IndexFunc(users, func(u User) bool { return u.ID == holder })
	for j, f := range []string{UserNameKey(userName), legacyUserNameKey(userName)} {
		if names[j] != holder {
			continue
		}
		if i < 0 || UserNameKey(users[i].UserName) != f && legacyUserNameKey(users[i].UserName) != f {
			return stale
		}
	}
	return nil
}

// GetUser returns one user. Returns ErrNotFound, ErrUnavailable.
func (s *Store) GetUser(ctx context.Context, tenant, id string) (User, error) {
	return getRecord(ctx, s, "user", id, userKey(tenant, id), parseUser)
}

// GetUsers returns the users with these ids in the same order, skipping ids
// that do not exist. One round trip. Returns ErrUnavailable.
func (s *Store) GetUsers(ctx context.Context, tenant string, ids []string) ([]User, error) {
	return getRecords(ctx, s, "user", ids, func(id string) string { return userKey(tenant, id) }, parseUser)
}

// UpdateUser replaces the user whose stored version is prev with u
// (u.Version must be prev+1), moving its index entries, taking or freeing a
// seat when Active changes, and appending audit, atomically. prev is the
// record as read; its index values tell which index keys move (a prev whose
// indexed values differ from the stored ones is a version conflict).
// Returns ErrNotFound, ErrVersionConflict, *UniquenessError, *LicenseError,
// ErrUnavailable, and a plain error when u does not follow prev (other id,
// version not prev.Version+1).
func (s *Store) UpdateUser(ctx context.Context, tenant string, prev User, u User, audit []byte) error {
	if u.ID != prev.ID || u.Version != prev.Version+1 {
		return fmt.Errorf("storage: update user %q (version %d) with user %q (version %d)",
			prev.ID, prev.Version, u.ID, u.Version)
	}
	if !validRecordID(u.ID) {
		return notFound("user")
	}
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	oldName, newName := legacyUserNameKey(prev.UserName), legacyUserNameKey(u.UserName)
	oldEmail, newEmail := strings.ToLower(prev.WorkEmail), strings.ToLower(u.WorkEmail)
	a := newScriptArgs(1024 + len(u.Doc) + len(audit))
	a.key(tenantKey(tenant))
	a.key(seatsKey(tenant))
	a.key(userKey(tenant, u.ID))
	a.key(userNameIndexKey(tenant))
	a.key(legacyUserExternalIDIndexKey(tenant))
	a.key(userEmailIndexKey(tenant, oldEmail))
	a.key(userEmailIndexKey(tenant, newEmail))
	a.key(userEmployeeNumberIndexKey(tenant, prev.EmployeeNumber))
	a.key(userEmployeeNumberIndexKey(tenant, u.EmployeeNumber))
	a.key(userNameLexKey(tenant))
	a.key(auditKey(tenant))
	a.key(userExternalIDIndexKey(tenant, prev.ExternalID))
	a.key(userExternalIDIndexKey(tenant, u.ExternalID))
	a.key(accessOutboxKey(tenant))
	a.key(accessGenKey(tenant))
	a.str(u.ID)
	a.int(prev.Version)
	a.str(prev.UserName)
	a.str(prev.ExternalID)
	a.str(prev.WorkEmail)
	a.str(prev.EmployeeNumber)
	a.str(UserNameKey(prev.UserName))
	a.str(UserNameKey(u.UserName))
	a.str(u.ExternalID)
	a.str(oldEmail)
	a.str(newEmail)
	a.str(u.EmployeeNumber)
	a.str(lexMember(oldName, u.ID))
	a.str(lexMember(newName, u.ID))
	a.str(encodeBool(u.Active))
	a.str(s.auditRetention())
	a.bytes(audit)
	a.userFields(u)
	err := s.runScriptArgs(ctx, "update user", updateUserScript, a)
	if s.healUserName(ctx, tenant, u.UserName, err) {
		err = s.runScriptArgs(ctx, "update user", updateUserScript, a)
	}
	return err
}

// DeleteUser removes the user, its indexes, its seat and its membership of
// every group (through the reverse index), and appends audit, atomically.
// It reads the user and its groups first; if they keep changing under it for
// a few attempts it gives up with ErrVersionConflict.
// Returns ErrNotFound, ErrVersionConflict, ErrUnavailable.
func (s *Store) DeleteUser(ctx context.Context, tenant, id string, audit []byte) error {
	if !validRecordID(id) {
		return notFound("user")
	}
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	for range maxAttempts {
		snap, err := s.readUserForDelete(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := s.deleteUser(ctx, tenant, snap, audit); !errors.Is(err, errRetry) {
			return err
		}
	}
	return fmt.Errorf("%w: user %s kept changing during delete", ErrVersionConflict, id)
}

// userSnapshot is what DeleteUser reads before its script: the values that
// name the keys the script must declare.
type userSnapshot struct {
	id, version, userName, externalID, workEmail, employeeNumber string
	groups                                                       []string
}

// readUserForDelete reads the record's version and indexed values (one HMGET,
// so they agree) and its reverse set, in one round trip.
func (s *Store) readUserForDelete(ctx context.Context, tenant, id string) (userSnapshot, error) {
	const op = "delete user"
	pipe := s.rdb.Pipeline()
	fields := pipe.HMGet(ctx, userKey(tenant, id), fVersion, fUserName, fExternalID, fWorkEmail, fEmployeeNumber)
	groups := pipe.SMembers(ctx, userGroupsKey(tenant, id))
	if _, err := pipe.Exec(ctx); err != nil {
		return userSnapshot{}, unavailable(op, err)
	}
	vals := fields.Val()
	if len(vals) != 5 {
		return userSnapshot{}, unavailable(op, badReply("HMGET %d values", len(vals)))
	}
	if vals[0] == nil {
		return userSnapshot{}, notFound("user")
	}
	str := make([]string, len(vals))
	for i, v := range vals {
		if v == nil {
			continue // a field the record lacks reads as ""
		}
		sv, ok := v.(string)
		if !ok {
			return userSnapshot{}, unavailable(op, badReply("HMGET %T", v))
		}
		str[i] = sv
	}
	return userSnapshot{
		id: id, version: str[0], userName: str[1], externalID: str[2],
		workEmail: str[3], employeeNumber: str[4], groups: groups.Val(),
	}, nil
}

// deleteUser runs delete_user over snap. Returns errRetry when snap is stale.
func (s *Store) deleteUser(ctx context.Context, tenant string, snap userSnapshot, audit []byte) error {
	lowerName := legacyUserNameKey(snap.userName)
	keys := []string{
		tenantKey(tenant),
		seatsKey(tenant),
		usersKey(tenant),
		userKey(tenant, snap.id),
		userGroupsKey(tenant, snap.id),
		userNameIndexKey(tenant),
		legacyUserExternalIDIndexKey(tenant),
		userEmailIndexKey(tenant, strings.ToLower(snap.workEmail)),
		userEmployeeNumberIndexKey(tenant, snap.employeeNumber),
		userNameLexKey(tenant),
		auditKey(tenant),
		userExternalIDIndexKey(tenant, snap.externalID),
	}
	args := []any{
		snap.id,
		snap.version,
		UserNameKey(snap.userName),
		snap.externalID,
		lexMember(lowerName, snap.id),
		s.auditRetention(),
		audit,
		len(snap.groups),
	}
	for _, g := range snap.groups {
		keys = append(keys, groupMembersKey(tenant, g))
		args = append(args, g)
	}
	keys = append(keys, outboxKeys(tenant)...)
	return s.runScript(ctx, "delete user", deleteUserScript, keys, args)
}

// FindUsers returns the ids of users whose indexed attribute equals value
// (case-insensitively where the index says so), sorted. An empty value
// matches nothing for externalId, work email and employeeNumber, which are
// not indexed when empty. Returns ErrUnavailable, and a plain error for an
// unknown index.
func (s *Store) FindUsers(ctx context.Context, tenant string, by UserIndex, value string) ([]string, error) {
	var cmds []redis.Cmder
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		var err error
		cmds, err = findCmds(ctx, p, tenant, by, value)
		return err
	})
	if cmds == nil && err != nil && !isNil(err) {
		return nil, err // an unknown index: nothing was sent
	}
	if err != nil && !isNil(err) {
		return nil, unavailable("find users", err)
	}
	ids, err := findResult(cmds)
	if err != nil {
		return nil, unavailable("find users", err)
	}
	return ids, nil
}

// indexRead is one read of a user index: SMEMBERS of key when set, else
// HGET of field.
type indexRead struct {
	key, field string
	set        bool
}

// findReads lists the reads that answer FindUsers; none when the value is
// not indexed. Its error is for an unknown index.
func findReads(tenant string, by UserIndex, value string) ([]indexRead, error) {
	switch by {
	case UserByUserName:
		// The key, and the key of releases before UserNameKey for a user
		// the migration has not re-keyed yet.
		key, legacy := UserNameKey(value), legacyUserNameKey(value)
		reads := []indexRead{{key: userNameIndexKey(tenant), field: key}}
		if legacy != key {
			reads = append(reads, indexRead{key: userNameIndexKey(tenant), field: legacy})
		}
		return reads, nil
	case UserByExternalID:
		if value == "" {
			return nil, nil
		}
		// The set, and the hash of releases before it until the
		// migration has emptied it: a replica of that release may still
		// be writing it during a rolling restart.
		return []indexRead{
			{key: userExternalIDIndexKey(tenant, value), set: true},
			{key: legacyUserExternalIDIndexKey(tenant), field: value},
		}, nil
	case UserByWorkEmail:
		if value == "" {
			return nil, nil
		}
		return []indexRead{{key: userEmailIndexKey(tenant, strings.ToLower(value)), set: true}}, nil
	case UserByEmployeeNumber:
		if value == "" {
			return nil, nil
		}
		return []indexRead{{key: userEmployeeNumberIndexKey(tenant, value), set: true}}, nil
	}
	return nil, fmt.Errorf("storage: unknown user index %d", by)
}

// findCmds queues on p the reads that answer FindUsers; none when the value
// is not indexed. Its error is for an unknown index.
func findCmds(ctx context.Context, p redis.Pipeliner, tenant string, by UserIndex, value string) ([]redis.Cmder, error) {
	reads, err := findReads(tenant, by, value)
	if err != nil {
		return nil, err
	}
	cmds := make([]redis.Cmder, len(reads))
	for i, r := range reads {
		if r.set {
			cmds[i] = p.SMembers(ctx, r.key)
		} else {
			cmds[i] = p.HGet(ctx, r.key, r.field)
		}
	}
	return cmds, nil
}

// FindAndGetUsers is FindUsers and GetUsers in one round trip: the ids an
// index names (sorted, without repeats) and, when there are at most limit
// of them, their users in the same order (loaded true; an id whose record
// is gone is skipped). With more than limit ids, loaded is false and only
// the ids are returned, for the caller to bound what it reads.
// Returns ErrUnavailable, and a plain error for an unknown index.
func (s *Store) FindAndGetUsers(ctx context.Context, tenant string, by UserIndex, value string, limit int) (ids []string, users []User, loaded bool, err error) {
	const op = "find users"
	reads, err := findReads(tenant, by, value)
	if err != nil {
		return nil, nil, false, err
	}
	if len(reads) == 0 {
		return nil, []User{}, true, nil
	}
	keys := make([]string, 0, 1+len(reads))
	args := make([]any, 0, 1+2*len(reads))
	keys = append(keys, userKeyPrefix(tenant))
	args = append(args, limit)
	for _, r := range reads {
		keys = append(keys, r.key)
		if r.set {
			args = append(args, "s", "")
		} else {
			args = append(args, "h", r.field)
		}
	}
	packed, err := findUsersScript.RunRO(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return nil, nil, false, unavailable(op, err)
	}
	if packed == "" {
		return nil, nil, false, unavailable(op, badReply("empty reply"))
	}
	tag, rest := packed[0], packed[1:]
	if tag == 'i' {
		for rest != "" {
			id, r, ok := nextPacked(rest)
			if !ok {
				return nil, nil, false, unavailable(op, badReply("bad packing of ids"))
			}
			ids, rest = append(ids, id), r
		}
		slices.Sort(ids)
		return slices.Compact(ids), nil, false, nil
	}
	if tag != 'r' {
		return nil, nil, false, unavailable(op, badReply("reply tagged %q", tag))
	}
	ids, users = []string{}, []User{}
	for rest != "" {
		id, r, ok := nextPacked(rest)
		var rec string
		if ok {
			rec, rest, ok = nextPacked(r)
		}
		if !ok {
			return nil, nil, false, unavailable(op, badReply("bad packing of records"))
		}
		if slices.Contains(ids, id) { // a repeat (at most loadedAtOnce ids: a scan is cheap)
			continue
		}
		ids = append(ids, id)
		if rec == "" {
			continue // the record is gone: an id without a user
		}
		u, err := parsePackedUser(id, rec)
		if err != nil {
			return nil, nil, false, unavailable(op, err)
		}
		users = append(users, u)
	}
	if len(ids) > 1 {
		slices.Sort(ids)
		slices.SortFunc(users, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	}
	return ids, users, true, nil
}

// nextPacked reads the first item of s packed as find_users.lua packs
// them: its length in bytes, ':' and its bytes.
func nextPacked(s string) (item, rest string, ok bool) {
	size, rest, ok := strings.Cut(s, ":")
	l, err := strconv.Atoi(size)
	if !ok || err != nil || l < 0 || l > len(rest) {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}

// unpackHash reads a hash as find_users.lua packs it: each field and value
// as its length, ':' and its bytes. Fields and values share packed's bytes.
func unpackHash(packed string) (map[string]string, error) {
	h := make(map[string]string, 12)
	for packed != "" {
		field, rest, ok := nextPacked(packed)
		if !ok {
			return nil, errors.New("bad packing")
		}
		if rest == "" {
			return nil, errors.New("a field without a value")
		}
		value, rest, ok := nextPacked(rest)
		if !ok {
			return nil, errors.New("bad packing")
		}
		h[field] = value
		packed = rest
	}
	return h, nil
}

// packedFields is a record's fields and values as find_users.lua packs
// them, read in place: a user has about ten, which a scan finds sooner
// than a map is made (four allocations a record).
type packedFields struct {
	n  int
	kv [16][2]string
}

// unpack reads packed; ok is false for a bad packing or more fields than
// there is room for.
func (p *packedFields) unpack(packed string) bool {
	for p.n = 0; packed != ""; p.n++ {
		if p.n == len(p.kv) {
			return false
		}
		var ok bool
		if p.kv[p.n][0], packed, ok = nextPacked(packed); !ok || packed == "" {
			return false
		}
		if p.kv[p.n][1], packed, ok = nextPacked(packed); !ok {
			return false
		}
	}
	return true
}

func (p *packedFields) get(field string) string {
	for _, kv := range p.kv[:p.n] {
		if kv[0] == field {
			return kv[1]
		}
	}
	return ""
}

// parsePackedUser is parseUser of a record packed by find_users.lua.
func parsePackedUser(id, packed string) (User, error) {
	var p packedFields
	if p.unpack(packed) {
		return parseUserFrom(id, p.get)
	}
	h, err := unpackHash(packed) // a record of more fields than users have
	if err != nil {
		return User{}, badReply("record of %s: %v", id, err)
	}
	return parseUser(id, h)
}

// findResult reads findCmds' answers as ids, sorted, without repeats.
func findResult(cmds []redis.Cmder) ([]string, error) {
	var ids []string
	for _, cmd := range cmds {
		switch c := cmd.(type) {
		case *redis.StringCmd: // a hash index: 0 or 1 id
			id, err := c.Result()
			if isNil(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		case *redis.StringSliceCmd:
			got, err := c.Result()
			if err != nil {
				return nil, err
			}
			ids = append(ids, got...)
		default:
			return nil, badReply("%T", cmd)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// UsersWithUserNamePrefix returns up to limit ids of users whose userName
// starts with prefix (case-insensitively), in userName order. Returns ErrUnavailable.
func (s *Store) UsersWithUserNamePrefix(ctx context.Context, tenant, prefix string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	p := strings.ToLower(prefix)
	// 0xff never occurs in UTF-8, so "[p\xff" bounds every member starting with p.
	members, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key:   userNameLexKey(tenant),
		Start: "[" + p,
		Stop:  "[" + p + "\xff",
		ByLex: true,
		Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, unavailable("users with userName prefix", err)
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = lexID(m)
	}
	return ids, nil
}

// PageUsers returns count ids starting at offset (0-based) in creation order,
// and the total number of users. Returns ErrUnavailable.
func (s *Store) PageUsers(ctx context.Context, tenant string, offset, count int) ([]string, int64, error) {
	ids, total, err := s.page(ctx, usersKey(tenant), offset, count)
	if err != nil {
		return nil, 0, unavailable("page users", err)
	}
	return ids, total, nil
}

// ScanUsers calls fn with batches of users in creation order until fn returns
// false or the users run out. Returns ErrUnavailable.
func (s *Store) ScanUsers(ctx context.Context, tenant string, fn func([]User) bool) error {
	err := s.scanOrdered(ctx, usersKey(tenant), func(ids []string) (bool, error) {
		users, err := s.GetUsers(ctx, tenant, ids)
		if err != nil || len(users) == 0 {
			return true, err
		}
		return fn(users), nil
	})
	if err != nil && !isUnavailable(err) {
		err = unavailable("scan users", err)
	}
	return err
}

// UserGroups returns the ids of the groups the user is a member of.
// Returns ErrUnavailable.
func (s *Store) UserGroups(ctx context.Context, tenant, userID string) ([]string, error) {
	if !validRecordID(userID) {
		return nil, nil
	}
	ids, err := s.smembers(ctx, userGroupsKey(tenant, userID))
	if err != nil {
		return nil, unavailable("user groups", err)
	}
	return ids, nil
}

// UsersGroups returns, for each of userIDs in order, the ids of the groups
// that user is a member of, sorted, from one pipeline (a filter on groups
// reads a whole batch of users at once). An id that names no user is in no
// group. Returns ErrUnavailable.
func (s *Store) UsersGroups(ctx context.Context, tenant string, userIDs []string) ([][]string, error) {
	out := make([][]string, len(userIDs))
	cmds := make([]*redis.StringSliceCmd, len(userIDs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range userIDs {
			if validRecordID(id) {
				cmds[i] = p.SMembers(ctx, userGroupsKey(tenant, id))
			}
		}
		return nil
	}); err != nil {
		return nil, unavailable("users' groups", err)
	}
	for i, cmd := range cmds {
		if cmd != nil {
			out[i] = cmd.Val()
			slices.Sort(out[i])
		}
	}
	return out, nil
}

// validIDs drops ids that cannot name a record, so they are never spelled
// into a key; ids as they are when all can (callers only read the result).
func validIDs(ids []string) []string {
	if !slices.ContainsFunc(ids, func(id string) bool { return !validRecordID(id) }) {
		return ids
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if validRecordID(id) {
			out = append(out, id)
		}
	}
	return out
}

// stringList reads a Lua array of strings.
func stringList(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badReply("%T, not an array", v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], ok = e.(string); !ok {
			return nil, badReply("%T in an array of strings", e)
		}
	}
	return out, nil
}
