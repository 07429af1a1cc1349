package storage

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// AccountNotFoundError names a sub-account that does not exist.
// errors.Is(err, ErrNotFound) is true for it.
type AccountNotFoundError struct{ ID string }

func (e *AccountNotFoundError) Error() string { return "storage: no sub-account " + e.ID }

// Is makes errors.Is(err, ErrNotFound) work.
func (e *AccountNotFoundError) Is(target error) bool { return target == ErrNotFound }

// RoleUse is a grant that names a role: which group grants it, where.
type RoleUse struct {
	Group   string `json:"group"`
	Scope   string `json:"scope"`
	Account string `json:"account,omitempty"`
}

// RoleInUseError: grants name the role, so it cannot be deleted or change
// level.
type RoleInUseError struct{ Uses []RoleUse }

func (e *RoleInUseError) Error() string {
	return fmt.Sprintf("storage: the role is granted by %d grants", len(e.Uses))
}

// ErrRoleChanged: a custom role that grants name was deleted, or changed
// level, since the caller checked the grants against it.
var ErrRoleChanged = errors.New("storage: role changed since it was read")

// Account is a sub-account of a tenant.
type Account struct {
	ID      string    `json:"-"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// Role is a tenant's custom role, as the tenant defined it; its score is the
// policies' business.
type Role struct {
	Name         string   `json:"-"`
	Level        string   `json:"level"`
	Permissions  []string `json:"permissions"`
	GroupManager bool     `json:"groupManager"`
	// FullAccess says whether an enterprise role grants full access to all
	// sub-accounts; nil for a role stored before roles said it (the policies
	// then decide its default).
	FullAccess *bool `json:"fullAccess,omitempty"`
}

// Grant maps a group to a role at enterprise level or for one sub-account.
type Grant struct {
	Scope   string `json:"scope"`
	Account string `json:"account,omitempty"`
	Role    string `json:"role"`
}

var (
	//go:embed lua/put_account.lua
	putAccountLua    string
	putAccountScript = redis.NewScript(auditLua + outboxLua + putAccountLua)

	//go:embed lua/delete_account.lua
	deleteAccountLua    string
	deleteAccountScript = redis.NewScript(auditLua + outboxLua + deleteAccountLua)

	//go:embed lua/role_uses.lua
	roleUsesLua string // prepended to put_role and delete_role

	//go:embed lua/put_role.lua
	putRoleLua    string
	putRoleScript = redis.NewScript(auditLua + outboxLua + roleUsesLua + putRoleLua)

	//go:embed lua/put_grants.lua
	putGrantsLua    string
	putGrantsScript = redis.NewScript(auditLua + outboxLua + putGrantsLua)

	//go:embed lua/delete_role.lua
	deleteRoleLua    string
	deleteRoleScript = redis.NewScript(auditLua + outboxLua + roleUsesLua + deleteRoleLua)
)

// PutAccount creates a sub-account or renames an existing one (its creation
// time is kept), and appends audit. It reports whether it was created.
// Returns ErrNotFound (tenant), *QuotaError (a new sub-account past
// MaxAccounts), ErrUnavailable, and a plain error for an invalid id.
func (s *Store) PutAccount(ctx context.Context, tenant string, a Account, audit []byte) (bool, error) {
	if !validTenantID(tenant) {
		return false, notFound("tenant")
	}
	if !validRecordID(a.ID) {
		return false, fmt.Errorf("storage: invalid account id %q", a.ID)
	}
	if prev, err := s.getAccount(ctx, tenant, a.ID); err == nil {
		a.Created = prev.Created
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	rec, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	n, err := s.runCounting(ctx, "put account", putAccountScript,
		[]string{tenantKey(tenant), accountsKey(tenant), auditKey(tenant), accessOutboxKey(tenant), accessGenKey(tenant)},
		[]any{a.ID, rec, s.auditRetention(), audit, MaxAccounts})
	return n == 1, err
}

func (s *Store) getAccount(ctx context.Context, tenant, id string) (Account, error) {
	raw, err := s.rdb.HGet(ctx, accountsKey(tenant), id).Result()
	if isNil(err) {
		return Account{}, notFound("account")
	}
	if err != nil {
		return Account{}, unavailable("get account", err)
	}
	var a Account
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return Account{}, unavailable("get account", badReply("account record: %v", err))
	}
	a.ID = id
	return a, nil
}

// ListAccounts returns the tenant's sub-accounts by id. Returns ErrUnavailable.
func (s *Store) ListAccounts(ctx context.Context, tenant string) ([]Account, error) {
	all, err := s.rdb.HGetAll(ctx, accountsKey(tenant)).Result()
	if err != nil {
		return nil, unavailable("list accounts", err)
	}
	out := make([]Account, 0, len(all))
	for id, raw := range all {
		var a Account
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, unavailable("list accounts", badReply("account record: %v", err))
		}
		a.ID = id
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteAccount removes a sub-account and every grant made for it, and
// appends audit. It returns how many grants went with it.
// Returns ErrNotFound (tenant or account), ErrUnavailable.
func (s *Store) DeleteAccount(ctx context.Context, tenant, id string, audit []byte) (int64, error) {
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	if !validRecordID(id) {
		return 0, notFound("account")
	}
	return s.runCounting(ctx, "delete account", deleteAccountScript,
		[]string{tenantKey(tenant), accountsKey(tenant), grantsKey(tenant), auditKey(tenant), accessOutboxKey(tenant), accessGenKey(tenant)},
		[]any{id, s.auditRetention(), audit})
}

// PutRole creates or replaces a custom role and appends audit. It reports
// whether it was created. A role whose level changes while grants name it is
// refused. Returns ErrNotFound (tenant), *RoleInUseError, *QuotaError (a new
// role past MaxCustomRoles), ErrUnavailable.
func (s *Store) PutRole(ctx context.Context, tenant string, r Role, audit []byte) (bool, error) {
	if !validTenantID(tenant) {
		return false, notFound("tenant")
	}
	if r.Name == "" {
		return false, errors.New("storage: a role needs a name")
	}
	rec, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	n, err := s.runCounting(ctx, "put role", putRoleScript,
		[]string{tenantKey(tenant), rolesKey(tenant), auditKey(tenant), grantsKey(tenant), accessOutboxKey(tenant), accessGenKey(tenant)},
		[]any{r.Name, rec, s.auditRetention(), audit, r.Level, MaxCustomRoles})
	return n == 1, err
}

// DeleteRole deletes a custom role that no grant names, and appends audit.
// Returns ErrNotFound (tenant or role), *RoleInUseError, ErrUnavailable.
func (s *Store) DeleteRole(ctx context.Context, tenant, name string, audit []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	if name == "" {
		return notFound("role")
	}
	return s.runScript(ctx, "delete role", deleteRoleScript,
		[]string{tenantKey(tenant), rolesKey(tenant), auditKey(tenant), grantsKey(tenant), accessOutboxKey(tenant), accessGenKey(tenant)},
		[]any{name, s.auditRetention(), audit})
}

// ListRoles returns the tenant's custom roles by name. Returns ErrUnavailable.
func (s *Store) ListRoles(ctx context.Context, tenant string) ([]Role, error) {
	all, err := s.rdb.HGetAll(ctx, rolesKey(tenant)).Result()
	if err != nil {
		return nil, unavailable("list roles", err)
	}
	out := make([]Role, 0, len(all))
	for name, raw := range all {
		var r Role
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, unavailable("list roles", badReply("role record: %v", err))
		}
		r.Name = name
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PutGrants replaces a group's grants (none removes them) after checking that
// the group and every sub-account named exist, and that each custom role of
// customLevels (the custom roles the grants name, with the level the caller
// checked them against) still exists at that level; then it appends audit.
// Returns ErrNotFound (tenant or group), *AccountNotFoundError,
// ErrRoleChanged, ErrUnavailable.
func (s *Store) PutGrants(ctx context.Context, tenant, groupID string, grants []Grant, customLevels map[string]string, audit []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	if !validRecordID(groupID) {
		return notFound("group")
	}
	if grants == nil {
		grants = []Grant{}
	}
	rec, err := json.Marshal(grants)
	if err != nil {
		return err
	}
	accounts := map[string]bool{}
	args := []any{groupID, rec, s.auditRetention(), audit, 0}
	for _, g := range grants {
		if g.Account != "" && !accounts[g.Account] {
			accounts[g.Account] = true
			args = append(args, g.Account)
		}
	}
	args[4] = len(accounts)
	names := make([]string, 0, len(customLevels))
	for name := range customLevels {
		names = append(names, name)
	}
	sort.Strings(names)
	args = append(args, len(names))
	for _, name := range names {
		args = append(args, name, customLevels[name])
	}
	return s.runScript(ctx, "put grants", putGrantsScript,
		[]string{tenantKey(tenant), groupKey(tenant, groupID), accountsKey(tenant), grantsKey(tenant), auditKey(tenant), rolesKey(tenant),
			accessOutboxKey(tenant), accessGenKey(tenant)}, args)
}

// Grants returns the grants of each of the groups, in one round trip; a
// group without grants is absent from the map. Returns ErrUnavailable.
func (s *Store) Grants(ctx context.Context, tenant string, groupIDs []string) (map[string][]Grant, error) {
	out := map[string][]Grant{}
	if len(groupIDs) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, grantsKey(tenant), groupIDs...).Result()
	if err != nil {
		return nil, unavailable("grants", err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // no grants for this group
		}
		var gs []Grant
		if err := json.Unmarshal([]byte(raw), &gs); err != nil {
			return nil, unavailable("grants", badReply("grants record: %v", err))
		}
		out[groupIDs[i]] = gs
	}
	return out, nil
}

// runCounting runs a script whose success reply is {0, n} and returns n.
func (s *Store) runCounting(ctx context.Context, op string, script *redis.Script, keys []string, args []any) (int64, error) {
	res, err := s.eval(ctx, op, script, keys, args)
	if err != nil {
		return 0, err
	}
	if err := scriptResult(op, res); err != nil {
		return 0, s.withRetry(err)
	}
	arr, _ := res.([]any) // scriptResult checked the shape
	if len(arr) < 2 {
		return 0, unavailable(op, badReply("%v", arr))
	}
	n, ok := arr[1].(int64)
	if !ok {
		return 0, unavailable(op, badReply("count %T", arr[1]))
	}
	return n, nil
}
