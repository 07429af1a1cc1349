package storage

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Check is the operator's answer to "do this tenant's derived keys still
// agree with its records?". Records (the user and group hashes) and member
// sets are the truth; listings, indexes, reverse sets, the seat counter and
// grants are derived from them by the write scripts, atomically, so on a
// healthy Redis Check finds nothing. It exists for the day something went
// wrong anyway: a restore from an old AOF, a hand edit, a bug.

var (
	//go:embed lua/repair_entry.lua
	repairEntryLua    string
	repairEntryScript = redis.NewScript(repairEntryLua)

	//go:embed lua/repair_member.lua
	repairMemberLua    string
	repairMemberScript = redis.NewScript(outboxLua + repairMemberLua)

	//go:embed lua/repair_seats.lua
	repairSeatsLua    string
	repairSeatsScript = redis.NewScript(repairSeatsLua)
)

// FindingKind names a kind of inconsistency Check reports.
type FindingKind string

// The kinds of finding, and what a repair does about each.
const (
	// FindingUnlisted: a record is missing from its listing (users or
	// groups). Repair lists it last, with a new creation sequence.
	FindingUnlisted FindingKind = "unlisted"
	// FindingListedWithoutRecord: a listing names an id with no record.
	// Repair removes the entry.
	FindingListedWithoutRecord FindingKind = "listed-without-record"
	// FindingIndexMissing: a record's value has no entry in its index.
	// Repair adds it.
	FindingIndexMissing FindingKind = "index-missing"
	// FindingIndexStale: an index entry names a record that does not exist
	// or does not hold that value. Repair removes it.
	FindingIndexStale FindingKind = "index-stale"
	// FindingIndexConflict: a unique index (userName, group displayName) gives a record's value to another record holding
	// the same value: a duplicate. Not repaired: someone must decide.
	FindingIndexConflict FindingKind = "index-conflict"
	// FindingMemberWithoutUser: a member set names a user that does not
	// exist. Repair removes the member.
	FindingMemberWithoutUser FindingKind = "member-without-user"
	// FindingReverseMissing: a member's reverse set lacks the group.
	// Repair adds it.
	FindingReverseMissing FindingKind = "reverse-missing"
	// FindingReverseStale: a reverse set names a group that does not exist
	// or does not have the user as a member. Repair removes the entry.
	FindingReverseStale FindingKind = "reverse-stale"
	// FindingMembersWithoutGroup: a member set belongs to a group with no
	// record. Repair deletes the set.
	FindingMembersWithoutGroup FindingKind = "members-without-group"
	// FindingGroupsWithoutUser: a reverse set belongs to a user with no
	// record. Repair deletes the set.
	FindingGroupsWithoutUser FindingKind = "groups-without-user"
	// FindingSeats: the seat counter differs from the number of active
	// users. Repair sets it to that number.
	FindingSeats FindingKind = "seats"
	// FindingGrantWithoutGroup: grants are stored for a group that does not
	// exist. Repair removes them.
	FindingGrantWithoutGroup FindingKind = "grant-without-group"
	// FindingMalformed: a record hash without a version. Not repaired, and
	// nothing that names it is judged: someone must look at it.
	FindingMalformed FindingKind = "malformed"
)

// Finding is one inconsistency.
type Finding struct {
	Kind FindingKind `json:"kind"`
	// Key is the Redis key holding the wrong entry, or lacking the right one.
	Key string `json:"key"`
	// Entry is the hash field or set member concerned, if any.
	Entry   string `json:"entry,omitempty"`
	UserID  string `json:"userId,omitempty"`
	GroupID string `json:"groupId,omitempty"`
	Detail  string `json:"detail"`
	// Repaired is true when a repair ran and the entry now agrees with the
	// records.
	Repaired bool `json:"repaired"`
}

// CheckReport is what Check read and found in one tenant.
type CheckReport struct {
	Tenant string `json:"tenant"`
	Repair bool   `json:"repair"`
	// Users and Groups count the records checked.
	Users  int `json:"users"`
	Groups int `json:"groups"`
	// IndexEntries counts the listing and index entries read.
	IndexEntries int `json:"indexEntries"`
	// Members and ReverseEntries count member-set and reverse-set entries.
	Members        int `json:"members"`
	ReverseEntries int `json:"reverseEntries"`
	Grants         int `json:"grants"`
	// Seats is the seat counter as read; ActiveUsers the active records.
	Seats       int64     `json:"seats"`
	ActiveUsers int64     `json:"activeUsers"`
	Findings    []Finding `json:"findings"`
}

// Unrepaired counts the findings that were not (or could not be) repaired.
func (r CheckReport) Unrepaired() int {
	n := 0
	for _, f := range r.Findings {
		if !f.Repaired {
			n++
		}
	}
	return n
}

// Check verifies one tenant's listings, indexes (userName, externalId, work
// email, employeeNumber, the userName lex set, group displayName and
// externalId), member and reverse sets, seat counter and grants against its
// records, and with repair fixes what it found, records being the truth.
//
// It reads everything in batches (ZSCAN, HSCAN, SSCAN, pipelined HMGET and
// SISMEMBER) and SCANs the whole keyspace once for keys no listing reaches
// (an unlisted record, an orphan set), so it is an operator tool, never for
// the request path. It holds a few hundred bytes per record in memory, but
// of the sets only the one being read.
//
// Each repair is one small script over keys under the tenant's tag that
// re-checks its condition first (the record is still at the version read,
// the member set still says so), so repairing a live tenant never undoes a
// write. Repairs append no audit event: they change derived keys only. A
// check is not a snapshot, though: a write landing between two of its reads
// can show up as a finding that is not one. Such findings come back with
// Repaired false ("changed since it was read") or vanish on the next run:
// run Check when the tenant is quiet, or run it twice. A second run after
// a repair finds nothing but the conflicts and malformed records no repair
// touches.
//
// Returns ErrNotFound (no such tenant, also when it is deleted during a
// repair) and ErrUnavailable; the report holds what was found up to then.
func (s *Store) Check(ctx context.Context, tenant string, repair bool) (CheckReport, error) {
	if _, err := s.GetTenant(ctx, tenant); err != nil {
		return CheckReport{Tenant: tenant}, err
	}
	c := newChecker(s, tenant, repair)
	for _, step := range []func(context.Context) error{
		// The seat counter is read first: see checkSeats.
		c.readSeats,
		c.scanKeys,
		c.loadUsers,
		c.loadGroups,
		c.checkListings,
		c.checkIndexes,
		c.checkMembers,
		c.checkReverse,
		c.checkSeats,
		c.checkGrants,
		c.checkRoles,
	} {
		if err := step(ctx); err != nil {
			if !isUnavailable(err) {
				err = unavailable("check", err)
			}
			return c.rep, err
		}
	}
	if !repair {
		return c.rep, nil
	}
	// Repairs run in the order found: each index's stale entries go before
	// its missing ones, so a stale holder never blocks the right one.
	for _, fx := range c.fixes {
		ok, err := fx.run(ctx)
		if err != nil {
			return c.rep, err
		}
		f := &c.rep.Findings[fx.finding]
		if ok {
			f.Repaired = true
		} else {
			f.Detail += "; changed since it was read, so not repaired: check again"
		}
	}
	return c.rep, nil
}

// facts is what Check keeps of one user or group id.
type facts struct {
	version string // field v; "" when there is no record
	listed  bool   // in the users or groups listing
	scanned bool   // its hash key was seen by SCAN
	active  bool
	// values are the indexed values, lower-cased where the index is
	// case-insensitive; seen says which indexes were found to hold them.
	values [5]string
	seen   [5]bool
}

func (f *facts) exists() bool { return f != nil && f.version != "" }

// malformed is a hash that exists without a version: no record, and no
// ground to judge anything naming it on.
func (f *facts) malformed() bool { return f != nil && f.scanned && f.version == "" }

func versionOf(f *facts) string {
	if f == nil {
		return ""
	}
	return f.version
}

// recordSet is the users or the groups of the tenant.
type recordSet struct {
	noun  string
	key   func(id string) string
	facts map[string]*facts
	ids   []string // every id in facts, sorted
	// invalidListed are listed ids that cannot name a record.
	invalidListed []string
}

func (rs *recordSet) get(id string) *facts {
	f := rs.facts[id]
	if f == nil {
		f = &facts{}
		rs.facts[id] = f
	}
	return f
}

// checker is one run of Check.
type checker struct {
	s     *Store
	t     string
	rep   CheckReport
	fixes []fix
	seen  map[string]bool // findings already reported: scans may repeat an entry

	seatsRead string // the seat counter before anything else was read

	users, groups *recordSet
	// Keys found by SCAN: the ids or values they were built from.
	reverseSets, memberSets          []string
	emailSets, employeeSets, extSets []string
	userExtSets                      []string
}

func newChecker(s *Store, tenant string, repair bool) *checker {
	return &checker{
		s: s, t: tenant,
		rep:    CheckReport{Tenant: tenant, Repair: repair, Findings: []Finding{}},
		seen:   map[string]bool{},
		users:  &recordSet{noun: "user", key: func(id string) string { return userKey(tenant, id) }, facts: map[string]*facts{}},
		groups: &recordSet{noun: "group", key: func(id string) string { return groupKey(tenant, id) }, facts: map[string]*facts{}},
	}
}

// fix is the repair of one finding; it reports whether the finding is gone.
type fix struct {
	finding int
	run     func(context.Context) (bool, error)
}

// add reports f once, with its repair (nil: none).
func (c *checker) add(f Finding, run func(context.Context) (bool, error)) {
	id := string(f.Kind) + "\x00" + f.Key + "\x00" + f.Entry + "\x00" + f.UserID + "\x00" + f.GroupID
	if c.seen[id] {
		return
	}
	c.seen[id] = true
	c.rep.Findings = append(c.rep.Findings, f)
	if run != nil {
		c.fixes = append(c.fixes, fix{finding: len(c.rep.Findings) - 1, run: run})
	}
}

// finding starts a Finding about id of rs.
func (c *checker) finding(kind FindingKind, key, entry string, rs *recordSet, id string) Finding {
	f := Finding{Kind: kind, Key: key, Entry: entry}
	if rs == c.users {
		f.UserID = id
	} else {
		f.GroupID = id
	}
	return f
}

// noGuard is repair_entry's ARGV[1] for an entry naming an id that cannot
// name a record: there is no record key to read.
const noGuard = "*"

// guard names the record a repair about id rests on, and its version as read.
func (c *checker) guard(rs *recordSet, id string) (string, string) {
	if !validRecordID(id) {
		return tenantKey(c.t), noGuard
	}
	return rs.key(id), versionOf(rs.facts[id])
}

// fixEntry is a repair_entry run; see its header for op, entry and value.
func (c *checker) fixEntry(rs *recordSet, id, op, key, entry, value string) func(context.Context) (bool, error) {
	guardKey, version := c.guard(rs, id)
	keys := []string{tenantKey(c.t), guardKey, key}
	if op == "list" {
		keys = append(keys, seqKey(c.t))
	}
	return func(ctx context.Context) (bool, error) {
		n, err := c.s.runCounting(ctx, "check repair", repairEntryScript, keys, []any{version, op, entry, value})
		return n == 1, err
	}
}

// fixReverse is a repair_member run, op "add" or "rem".
func (c *checker) fixReverse(gid, uid, op string) func(context.Context) (bool, error) {
	keys := []string{tenantKey(c.t), groupKey(c.t, gid), groupMembersKey(c.t, gid), userKey(c.t, uid), userGroupsKey(c.t, uid),
		accessOutboxKey(c.t), accessGenKey(c.t)}
	return func(ctx context.Context) (bool, error) {
		n, err := c.s.runCounting(ctx, "check repair", repairMemberScript, keys, []any{gid, uid, op})
		return n == 1, err
	}
}

func (c *checker) readSeats(ctx context.Context) error {
	v, err := c.s.rdb.Get(ctx, seatsKey(c.t)).Result()
	if err != nil && !isNil(err) {
		return err
	}
	c.seatsRead = v
	if v != "" {
		// An unparsable counter reads as -1, which no count equals.
		if c.rep.Seats, err = strconv.ParseInt(v, 10, 64); err != nil {
			c.rep.Seats = -1
		}
	}
	return nil
}

// scanKeys SCANs the keyspace for the tenant's keys, once, and sorts out
// those no listing or fixed key reaches. On a cluster it scans every master:
// the tenant's keys share one slot, but which master holds it is not asked.
func (c *checker) scanKeys(ctx context.Context) error {
	var mu sync.Mutex
	// Most keys a SCAN visits belong to other tenants: a larger COUNT saves
	// round trips without making any one call slow.
	count := int64(max(10*c.s.opts.ScanBatch, 1000))
	scan := func(ctx context.Context, rdb redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := rdb.Scan(ctx, cursor, tenantPattern(c.t), count).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			for _, k := range keys {
				c.sortKey(k)
			}
			mu.Unlock()
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	var err error
	if cc, ok := c.s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, rdb *redis.Client) error { return scan(ctx, rdb) })
	} else {
		err = scan(ctx, c.s.rdb)
	}
	if err != nil {
		return err
	}
	// SCAN may return a key twice.
	for _, p := range []*[]string{&c.reverseSets, &c.memberSets, &c.emailSets, &c.employeeSets, &c.extSets, &c.userExtSets} {
		slices.Sort(*p)
		*p = slices.Compact(*p)
	}
	return nil
}

func (c *checker) sortKey(key string) {
	kind, v := parseTenantKey(c.t, key)
	switch kind {
	case keyUser:
		c.users.get(v).scanned = true
	case keyGroup:
		c.groups.get(v).scanned = true
	case keyUserGroups:
		c.reverseSets = append(c.reverseSets, v)
	case keyGroupMembers:
		c.memberSets = append(c.memberSets, v)
	case keyUserEmailIndex:
		c.emailSets = append(c.emailSets, v)
	case keyUserEmployeeNumberIndex:
		c.employeeSets = append(c.employeeSets, v)
	case keyGroupExternalIDIndex:
		c.extSets = append(c.extSets, v)
	case keyUserExternalIDIndex:
		c.userExtSets = append(c.userExtSets, v)
	}
}

// Slots of facts.values and facts.seen.
const (
	valUserName       = 0 // UserNameKey(userName)
	valUserExternalID = 1
	valWorkEmail      = 2 // lower(workEmail)
	valEmployeeNumber = 3
	seenUserNameLex   = 4
	valUserNameLower  = 4 // lower(userName): the lex index, and the key of earlier releases

	valDisplayName     = 0 // lower(displayName)
	valGroupExternalID = 1
)

func (c *checker) loadUsers(ctx context.Context) error {
	return c.load(ctx, c.users, usersKey(c.t),
		[]string{fVersion, fActive, fUserName, fExternalID, fWorkEmail, fEmployeeNumber},
		func(f *facts, v []string) {
			f.version, f.active = v[0], v[1] == "1"
			f.values = [5]string{UserNameKey(v[2]), v[3], strings.ToLower(v[4]), v[5], legacyUserNameKey(v[2])}
			if f.exists() {
				c.rep.Users++
			}
		})
}

func (c *checker) loadGroups(ctx context.Context) error {
	return c.load(ctx, c.groups, groupsKey(c.t),
		[]string{fVersion, fDisplayName, fExternalID},
		func(f *facts, v []string) {
			f.version = v[0]
			f.values = [5]string{strings.ToLower(v[1]), v[2]}
			if f.exists() {
				c.rep.Groups++
			}
		})
}

// load reads the listing zkey, then the indexed fields of every id it or
// the SCAN named, a pipeline of HMGETs at a time.
func (c *checker) load(ctx context.Context, rs *recordSet, zkey string, fields []string, set func(*facts, []string)) error {
	err := c.scanPairs(ctx, func(cursor uint64) *redis.ScanCmd {
		return c.s.rdb.ZScan(ctx, zkey, cursor, "", int64(c.s.opts.ScanBatch))
	}, func(id, _ string) {
		c.rep.IndexEntries++
		if validRecordID(id) {
			rs.get(id).listed = true
		} else {
			rs.invalidListed = append(rs.invalidListed, id)
		}
	})
	if err != nil {
		return err
	}
	rs.ids = make([]string, 0, len(rs.facts))
	for id := range rs.facts {
		rs.ids = append(rs.ids, id)
	}
	slices.Sort(rs.ids)
	for batch := range slices.Chunk(rs.ids, c.s.opts.ScanBatch) {
		cmds := make([]*redis.SliceCmd, len(batch))
		if _, err := c.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range batch {
				cmds[i] = p.HMGet(ctx, rs.key(id), fields...)
			}
			return nil
		}); err != nil {
			return err
		}
		for i, cmd := range cmds {
			vals := cmd.Val()
			if len(vals) != len(fields) {
				return badReply("HMGET %d values", len(vals))
			}
			str := make([]string, len(vals))
			for j, v := range vals {
				if v == nil {
					continue // a field the record lacks reads as ""
				}
				s, ok := v.(string)
				if !ok {
					return badReply("HMGET %T", v)
				}
				str[j] = s
			}
			set(rs.facts[batch[i]], str)
		}
	}
	return nil
}

// scanPairs runs a ZSCAN or HSCAN (next gives the call for a cursor) to its
// end, calling fn with each pair.
func (c *checker) scanPairs(ctx context.Context, next func(cursor uint64) *redis.ScanCmd, fn func(a, b string)) error {
	var cursor uint64
	for {
		kv, cur, err := next(cursor).Result()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			fn(kv[i], kv[i+1])
		}
		if cur == 0 {
			return nil
		}
		cursor = cur
	}
}

// sscanSets reads whole sets, the first page of a pipeline of sets at a
// time, and calls fn once per set with its members (SSCAN may repeat one
// across pages; the repeats are dropped). A set that is gone reads as empty.
func (c *checker) sscanSets(ctx context.Context, keys []string, fn func(i int, members []string) error) error {
	count := int64(c.s.opts.ScanBatch)
	for start := 0; start < len(keys); start += c.s.opts.ScanBatch {
		chunk := keys[start:min(start+c.s.opts.ScanBatch, len(keys))]
		cmds := make([]*redis.ScanCmd, len(chunk))
		if _, err := c.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range chunk {
				cmds[i] = p.SScan(ctx, k, 0, "", count)
			}
			return nil
		}); err != nil {
			return err
		}
		for i, cmd := range cmds {
			members, cursor := cmd.Val()
			if cursor != 0 {
				all := map[string]bool{}
				for _, m := range members {
					all[m] = true
				}
				for cursor != 0 {
					var err error
					if members, cursor, err = c.s.rdb.SScan(ctx, chunk[i], cursor, "", count).Result(); err != nil {
						return err
					}
					for _, m := range members {
						all[m] = true
					}
				}
				members = make([]string, 0, len(all))
				for m := range all {
					members = append(members, m)
				}
				slices.Sort(members)
			}
			if err := fn(start+i, members); err != nil {
				return err
			}
		}
	}
	return nil
}

// probes queues SISMEMBER questions and asks them a pipeline at a time, so
// memberships are checked without holding them all in memory.
type probes struct {
	c        *checker
	keys     []string
	members  []string
	ifAbsent []func()
}

func (p *probes) add(ctx context.Context, key, member string, ifAbsent func()) error {
	p.keys = append(p.keys, key)
	p.members = append(p.members, member)
	p.ifAbsent = append(p.ifAbsent, ifAbsent)
	if len(p.keys) < p.c.s.opts.ScanBatch {
		return nil
	}
	return p.flush(ctx)
}

func (p *probes) flush(ctx context.Context) error {
	if len(p.keys) == 0 {
		return nil
	}
	cmds := make([]*redis.BoolCmd, len(p.keys))
	if _, err := p.c.s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i := range p.keys {
			cmds[i] = pl.SIsMember(ctx, p.keys[i], p.members[i])
		}
		return nil
	}); err != nil {
		return err
	}
	for i, cmd := range cmds {
		if !cmd.Val() {
			p.ifAbsent[i]()
		}
	}
	p.keys, p.members, p.ifAbsent = p.keys[:0], p.members[:0], p.ifAbsent[:0]
	return nil
}

func (c *checker) checkListings(ctx context.Context) error {
	for _, l := range []struct {
		rs  *recordSet
		key string
	}{{c.users, usersKey(c.t)}, {c.groups, groupsKey(c.t)}} {
		rs := l.rs
		for _, id := range rs.invalidListed {
			f := c.finding(FindingListedWithoutRecord, l.key, id, rs, id)
			f.Detail = fmt.Sprintf("the %ss listing names %q, which cannot be a %s id", rs.noun, id, rs.noun)
			c.add(f, c.fixEntry(rs, id, "zrem", l.key, id, ""))
		}
		for _, id := range rs.ids {
			rec := rs.facts[id]
			switch {
			case rec.malformed():
				f := c.finding(FindingMalformed, rs.key(id), "", rs, id)
				f.Detail = fmt.Sprintf("%s %s's hash has no version field: look at it by hand", rs.noun, id)
				c.add(f, nil)
			case rec.exists() && !rec.listed:
				f := c.finding(FindingUnlisted, l.key, id, rs, id)
				f.Detail = fmt.Sprintf("%s %s has a record but is not in the %ss listing", rs.noun, id, rs.noun)
				c.add(f, c.fixEntry(rs, id, "list", l.key, id, ""))
			case !rec.exists() && rec.listed:
				f := c.finding(FindingListedWithoutRecord, l.key, id, rs, id)
				f.Detail = fmt.Sprintf("the %ss listing names %s %s, which has no record", rs.noun, rs.noun, id)
				c.add(f, c.fixEntry(rs, id, "zrem", l.key, id, ""))
			}
		}
	}
	return nil
}

// checkMembers reads every member set: each member must be a user whose
// reverse set names the group.
func (c *checker) checkMembers(ctx context.Context) error {
	keys := make([]string, len(c.memberSets))
	for i, gid := range c.memberSets {
		keys[i] = groupMembersKey(c.t, gid)
	}
	p := &probes{c: c}
	err := c.sscanSets(ctx, keys, func(i int, members []string) error {
		gid, key := c.memberSets[i], keys[i]
		g := c.groups.facts[gid]
		if g.malformed() || len(members) == 0 {
			return nil
		}
		if !g.exists() {
			f := c.finding(FindingMembersWithoutGroup, key, "", c.groups, gid)
			f.Detail = fmt.Sprintf("group %s has no record but a member set of %d", gid, len(members))
			c.add(f, c.fixEntry(c.groups, gid, "del", key, "", ""))
			return nil
		}
		for _, uid := range members {
			c.rep.Members++
			u := c.users.facts[uid]
			switch {
			case u.malformed():
			case !u.exists():
				f := c.finding(FindingMemberWithoutUser, key, uid, c.users, uid)
				f.GroupID = gid
				f.Detail = fmt.Sprintf("group %s has member %q, which is no user", gid, uid)
				c.add(f, c.fixEntry(c.users, uid, "srem", key, uid, ""))
			default:
				rkey := userGroupsKey(c.t, uid)
				err := p.add(ctx, rkey, gid, func() {
					f := c.finding(FindingReverseMissing, rkey, gid, c.users, uid)
					f.GroupID = gid
					f.Detail = fmt.Sprintf("user %s is a member of group %s, but its groups do not name it", uid, gid)
					c.add(f, c.fixReverse(gid, uid, "add"))
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.flush(ctx)
}

// checkReverse reads every reverse set: each group named must exist and
// have the user as a member.
func (c *checker) checkReverse(ctx context.Context) error {
	keys := make([]string, len(c.reverseSets))
	for i, uid := range c.reverseSets {
		keys[i] = userGroupsKey(c.t, uid)
	}
	p := &probes{c: c}
	stale := func(key, uid, gid, why string) {
		f := c.finding(FindingReverseStale, key, gid, c.users, uid)
		f.GroupID = gid
		f.Detail = fmt.Sprintf("user %s's groups name group %q, %s", uid, gid, why)
		if validRecordID(gid) {
			c.add(f, c.fixReverse(gid, uid, "rem"))
		} else {
			c.add(f, c.fixEntry(c.groups, gid, "srem", key, gid, ""))
		}
	}
	err := c.sscanSets(ctx, keys, func(i int, gids []string) error {
		uid, key := c.reverseSets[i], keys[i]
		u := c.users.facts[uid]
		if u.malformed() || len(gids) == 0 {
			return nil
		}
		if !u.exists() {
			f := c.finding(FindingGroupsWithoutUser, key, "", c.users, uid)
			f.Detail = fmt.Sprintf("user %s has no record but a set of %d groups", uid, len(gids))
			c.add(f, c.fixEntry(c.users, uid, "del", key, "", ""))
			return nil
		}
		for _, gid := range gids {
			c.rep.ReverseEntries++
			g := c.groups.facts[gid]
			switch {
			case g.malformed():
			case !g.exists():
				stale(key, uid, gid, "which has no record")
			default:
				err := p.add(ctx, groupMembersKey(c.t, gid), uid, func() {
					stale(key, uid, gid, "which does not have it as a member")
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.flush(ctx)
}

// checkSeats compares the counter, read before the records, with the active
// records. Every write that changes a user's active state moves the counter
// in the same script, so repair_seats, which sets the counter only if it
// still holds the value read, does nothing when such a write ran meanwhile.
func (c *checker) checkSeats(context.Context) error {
	for _, id := range c.users.ids {
		// A malformed record still holds its seat: no repair may free it.
		if u := c.users.facts[id]; (u.exists() || u.malformed()) && u.active {
			c.rep.ActiveUsers++
		}
	}
	if c.rep.Seats == c.rep.ActiveUsers {
		return nil
	}
	key := seatsKey(c.t)
	f := Finding{Kind: FindingSeats, Key: key,
		Detail: fmt.Sprintf("the seat counter is %q; %d users are active", c.seatsRead, c.rep.ActiveUsers)}
	keys := []string{tenantKey(c.t), key}
	args := []any{c.seatsRead, strconv.FormatInt(c.rep.ActiveUsers, 10)}
	c.add(f, func(ctx context.Context) (bool, error) {
		n, err := c.s.runCounting(ctx, "check repair", repairSeatsScript, keys, args)
		return n == 1, err
	})
	return nil
}

// checkGrants reports grants stored for groups that do not exist.
func (c *checker) checkGrants(ctx context.Context) error {
	key := grantsKey(c.t)
	return c.scanPairs(ctx, func(cursor uint64) *redis.ScanCmd {
		return c.s.rdb.HScan(ctx, key, cursor, "", int64(c.s.opts.ScanBatch))
	}, func(gid, _ string) {
		c.rep.Grants++
		if g := c.groups.facts[gid]; g.exists() || g.malformed() {
			return
		}
		f := c.finding(FindingGrantWithoutGroup, key, gid, c.groups, gid)
		f.Detail = fmt.Sprintf("grants are stored for group %q, which has no record", gid)
		c.add(f, c.fixEntry(c.groups, gid, "hdel", key, gid, ""))
	})
}
