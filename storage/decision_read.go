package storage

import (
	"context"
	_ "embed"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The decision API's reads of the stored access decisions (ACCESS.md;
// AccessDecision(s) are in decision.go): each answer is one round trip, a
// pipeline or a read-only script. The records are
// handed up as the JSON stored; storage does not look inside them.

var (
	//go:embed lua/decision_by_username.lua
	decisionByUserNameLua    string
	decisionByUserNameScript = redis.NewScript(decisionByUserNameLua)

	//go:embed lua/decisions_by_externalid.lua
	decisionsByExternalIDLua    string
	decisionsByExternalIDScript = redis.NewScript(decisionsByExternalIDLua)

	//go:embed lua/decision_page.lua
	decisionPageLua    string
	decisionPageScript = redis.NewScript(decisionPageLua)
)

// UsersExist says which of uids are users of the tenant. Returns ErrUnavailable.
func (s *Store) UsersExist(ctx context.Context, tenant string, uids []string) ([]bool, error) {
	out := make([]bool, len(uids))
	if len(uids) == 0 || !validTenantID(tenant) {
		return out, nil
	}
	cmds := make([]*redis.IntCmd, len(uids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range uids {
			if validRecordID(id) {
				cmds[i] = p.Exists(ctx, userKey(tenant, id))
			}
		}
		return nil
	}); err != nil {
		return nil, unavailable("users exist", err)
	}
	for i, c := range cmds {
		out[i] = c != nil && c.Val() > 0
	}
	return out, nil
}

// AccessDecisionByUserName returns the id of the user whose userName is
// userName (compared as UserNameKey does) and its decision record, nil when
// it has none yet. Returns ErrNotFound (nobody has the userName),
// ErrUnavailable.
func (s *Store) AccessDecisionByUserName(ctx context.Context, tenant, userName string) (string, []byte, error) {
	if !validTenantID(tenant) || userName == "" {
		return "", nil, notFound("user")
	}
	key, legacy := UserNameKey(userName), legacyUserNameKey(userName)
	if legacy == key {
		legacy = ""
	}
	res, err := decisionByUserNameScript.Run(ctx, s.rdb, []string{userNameIndexKey(tenant)},
		key, legacy, accessUserKey(tenant, ""), userKey(tenant, "")).Slice()
	if err != nil {
		return "", nil, unavailable("access decision by userName", err)
	}
	if len(res) == 0 {
		return "", nil, notFound("user")
	}
	if len(res) != 3 {
		return "", nil, unavailable("access decision by userName", badReply("%v", res))
	}
	id, ok := res[0].(string)
	held, live := res[2].(string)
	if !ok || !live || (UserNameKey(held) != key && legacyUserNameKey(held) != key) {
		// An entry left behind (see healUserName): its holder no longer
		// has the userName, so nobody does.
		return "", nil, notFound("user")
	}
	if raw, ok := res[1].(string); ok {
		return id, []byte(raw), nil
	}
	return id, nil, nil
}

// AccessDecisionsByExternalID returns the ids of the users with this
// externalId, sorted, at most limit of them, with their decision records
// (nil where none yet), and whether there were more. Returns ErrUnavailable.
func (s *Store) AccessDecisionsByExternalID(ctx context.Context, tenant, externalID string, limit int) ([]string, [][]byte, bool, error) {
	if !validTenantID(tenant) || externalID == "" || limit <= 0 {
		return nil, nil, false, nil
	}
	res, err := decisionsByExternalIDScript.Run(ctx, s.rdb,
		[]string{userExternalIDIndexKey(tenant, externalID), legacyUserExternalIDIndexKey(tenant)},
		externalID, limit, accessUserKey(tenant, "")).Slice()
	if err != nil {
		return nil, nil, false, unavailable("access decisions by externalId", err)
	}
	if len(res) == 0 || len(res)%2 != 1 {
		return nil, nil, false, unavailable("access decisions by externalId", badReply("%v", res))
	}
	more, _ := res[0].(int64)
	ids := make([]string, 0, len(res)/2)
	recs := make([][]byte, 0, len(res)/2)
	for i := 1; i+1 < len(res); i += 2 {
		id, ok := res[i].(string)
		if !ok {
			return nil, nil, false, unavailable("access decisions by externalId", badReply("id %T", res[i]))
		}
		ids = append(ids, id)
		recs = append(recs, recordOrNil(res[i+1]))
	}
	return ids, recs, more == 1, nil
}

// DecisionPage is one page of a tenant's users in creation order with
// their decision records (nil where none yet). Next is the cursor of the
// page after it; Done says there is none.
type DecisionPage struct {
	IDs     []string
	Records [][]byte
	Next    string
	Done    bool
}

// AccessDecisionPage returns up to count users created after cursor (""
// starts at the first) with their decision records. Returns ErrUnavailable,
// and ErrNotFound for a cursor this store did not give.
func (s *Store) AccessDecisionPage(ctx context.Context, tenant, cursor string, count int) (DecisionPage, error) {
	if !validTenantID(tenant) || count <= 0 {
		return DecisionPage{Done: true}, nil
	}
	start := "-inf"
	if cursor != "" {
		if _, err := strconv.ParseFloat(cursor, 64); err != nil {
			return DecisionPage{}, notFound("cursor")
		}
		start = cursor
	}
	res, err := decisionPageScript.Run(ctx, s.rdb, []string{usersKey(tenant)}, start, count, accessUserKey(tenant, "")).Slice()
	if err != nil {
		return DecisionPage{}, unavailable("access decision page", err)
	}
	if len(res)%3 != 0 {
		return DecisionPage{}, unavailable("access decision page", badReply("%d replies", len(res)))
	}
	p := DecisionPage{IDs: make([]string, 0, len(res)/3), Records: make([][]byte, 0, len(res)/3), Next: cursor}
	for i := 0; i+2 < len(res); i += 3 {
		id, ok1 := res[i].(string)
		score, ok2 := res[i+1].(string)
		if !ok1 || !ok2 {
			return DecisionPage{}, unavailable("access decision page", badReply("%T %T", res[i], res[i+1]))
		}
		p.IDs = append(p.IDs, id)
		p.Records = append(p.Records, recordOrNil(res[i+2]))
		p.Next = score
	}
	p.Done = len(p.IDs) < count
	return p, nil
}

// recordOrNil is a script's GET answer: the record, or nil for false.
func recordOrNil(v any) []byte {
	if raw, ok := v.(string); ok {
		return []byte(raw)
	}
	return nil
}
