package storage

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Reads of the resolver: what a decision is made from, and where a job
// stands. Each is one round trip, or two where the second depends on the
// first.

// AccessSubject is what deciding one user's access reads about the user.
type AccessSubject struct {
	ID         string
	Exists     bool
	Active     bool
	UserName   string
	ExternalID string
	Groups     []string // sorted
	// Record is the stored decision (nil if none), read before the rest so
	// that WriteDecisions can tell whether it moved meanwhile.
	Record []byte
}

// AccessInputs is everything the decisions of a batch of users are made
// from.
type AccessInputs struct {
	Subjects []AccessSubject // in the order asked
	Roles    []Role          // the tenant's custom roles, by name
	Accounts []string        // the tenant's sub-account ids, sorted
	// Grants are the grants of the subjects' groups (a group without any
	// is absent).
	Grants map[string][]Grant
}

// AccessInputs reads the users (existence, active, names, groups, stored
// decision), the tenant's custom roles and sub-accounts, then the grants of
// every group the users are in: two round trips whatever the number of
// users. An invalid id comes back as a user that does not exist.
// Returns ErrUnavailable.
func (s *Store) AccessInputs(ctx context.Context, tenant string, uids []string) (AccessInputs, error) {
	type userCmds struct {
		rec    *redis.StringCmd
		fields *redis.SliceCmd
		groups *redis.StringSliceCmd
	}
	cmds := make([]userCmds, len(uids))
	var roles, accounts *redis.MapStringStringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range uids {
			if !validRecordID(id) {
				continue
			}
			cmds[i].rec = p.Get(ctx, accessUserKey(tenant, id))
			cmds[i].fields = p.HMGet(ctx, userKey(tenant, id), fVersion, fActive, fUserName, fExternalID)
			cmds[i].groups = p.SMembers(ctx, userGroupsKey(tenant, id))
		}
		roles = p.HGetAll(ctx, rolesKey(tenant))
		accounts = p.HGetAll(ctx, accountsKey(tenant))
		return nil
	}); err != nil && !isNil(err) {
		return AccessInputs{}, unavailable("access inputs", err)
	}
	in := AccessInputs{Subjects: make([]AccessSubject, len(uids))}
	groupSet := map[string]bool{}
	for i, id := range uids {
		sub := AccessSubject{ID: id}
		c := cmds[i]
		if c.rec != nil {
			if raw, err := c.rec.Bytes(); err == nil {
				sub.Record = raw
			}
			vals := c.fields.Val()
			if len(vals) == 4 && vals[0] != nil {
				sub.Exists = true
				sub.Active = vals[1] == "1"
				sub.UserName, _ = vals[2].(string)
				sub.ExternalID, _ = vals[3].(string)
				sub.Groups = c.groups.Val()
				slices.Sort(sub.Groups)
				for _, g := range sub.Groups {
					groupSet[g] = true
				}
			}
		}
		in.Subjects[i] = sub
	}
	for name, raw := range roles.Val() {
		var r Role
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return AccessInputs{}, unavailable("access inputs", badReply("role record: %v", err))
		}
		r.Name = name
		in.Roles = append(in.Roles, r)
	}
	slices.SortFunc(in.Roles, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	for id := range accounts.Val() {
		in.Accounts = append(in.Accounts, id)
	}
	slices.Sort(in.Accounts)
	groups := make([]string, 0, len(groupSet))
	for g := range groupSet {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	grants, err := s.Grants(ctx, tenant, groups)
	if err != nil {
		return AccessInputs{}, err
	}
	in.Grants = grants
	return in, nil
}

// UsersAfter returns up to count user ids in creation order after the
// creation sequence after (0: from the first), with the sequence of the
// last one, for a resolver job over every user. Returns ErrUnavailable.
func (s *Store) UsersAfter(ctx context.Context, tenant string, after int64, count int) ([]string, int64, error) {
	zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key: usersKey(tenant), Start: "(" + strconv.FormatInt(after, 10), Stop: "+inf", ByScore: true, Count: int64(count),
	}).Result()
	if err != nil {
		return nil, 0, unavailable("users after", err)
	}
	ids := make([]string, 0, len(zs))
	last := after
	for _, z := range zs {
		id, ok := z.Member.(string)
		if !ok {
			return nil, 0, unavailable("users after", badReply("member %T", z.Member))
		}
		ids = append(ids, id)
		last = int64(z.Score)
	}
	return ids, last, nil
}

// UserCount is the number of the tenant's users. Returns ErrUnavailable.
func (s *Store) UserCount(ctx context.Context, tenant string) (int64, error) {
	n, err := s.rdb.ZCard(ctx, usersKey(tenant)).Result()
	if err != nil {
		return 0, unavailable("user count", err)
	}
	return n, nil
}

// MembersPage returns a batch of a group's member ids from SSCAN cursor
// (0 to start) and the next cursor (0 when done). A member may come twice.
// Returns ErrUnavailable.
func (s *Store) MembersPage(ctx context.Context, tenant, group string, cursor uint64, count int) ([]string, uint64, error) {
	if !validRecordID(group) {
		return nil, 0, nil
	}
	ids, next, err := s.rdb.SScan(ctx, groupMembersKey(tenant, group), cursor, "", int64(count)).Result()
	if err != nil {
		return nil, 0, unavailable("group members", err)
	}
	return ids, next, nil
}

// MemberCounts returns the number of members of each group, in one round
// trip. Returns ErrUnavailable.
func (s *Store) MemberCounts(ctx context.Context, tenant string, groups []string) ([]int64, error) {
	cmds := make([]*redis.IntCmd, len(groups))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range groups {
			if validRecordID(g) {
				cmds[i] = p.SCard(ctx, groupMembersKey(tenant, g))
			}
		}
		return nil
	}); err != nil {
		return nil, unavailable("member counts", err)
	}
	out := make([]int64, len(groups))
	for i, c := range cmds {
		if c != nil {
			out[i] = c.Val()
		}
	}
	return out, nil
}

// GroupsGranting returns, sorted, the groups whose grants name role.
// Returns ErrUnavailable.
func (s *Store) GroupsGranting(ctx context.Context, tenant, role string) ([]string, error) {
	all, err := s.rdb.HGetAll(ctx, grantsKey(tenant)).Result()
	if err != nil {
		return nil, unavailable("groups granting", err)
	}
	var out []string
	for g, raw := range all {
		var gs []Grant
		if err := json.Unmarshal([]byte(raw), &gs); err != nil {
			return nil, unavailable("groups granting", badReply("grants record: %v", err))
		}
		if slices.ContainsFunc(gs, func(gr Grant) bool { return gr.Role == role }) {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out, nil
}
