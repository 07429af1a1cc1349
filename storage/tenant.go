package storage

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// CreateTenant stores a new tenant and registers it in the tenant list.
// The id must be 1 to 128 bytes without spaces, control characters, braces
// or glob characters (*?[]\), since it becomes part of every key.
// Returns ErrExists if the id is taken, ErrUnavailable on Redis failure, and
// a plain error for an id that cannot be a tenant id.
func (s *Store) CreateTenant(ctx context.Context, t Tenant) error {
	if !validTenantID(t.ID) {
		return fmt.Errorf("storage: invalid tenant id %q", t.ID)
	}
	// The list is global and the hash is under the tenant's tag, so they
	// cannot change in one script. Listing first means a hash is never
	// unlisted; a listed id without a hash (a failure between the two, or a
	// half-done DeleteTenant) is skipped by ListTenants. NX keeps the first
	// creation time when two creates race; the script decides which one wins.
	z := redis.Z{Score: float64(t.Created.UnixMilli()), Member: t.ID}
	if err := s.rdb.ZAddNX(ctx, tenantsKey(), z).Err(); err != nil {
		return unavailable("create tenant", err)
	}
	return s.runScript(ctx, "create tenant", createTenantScript,
		[]string{tenantKey(t.ID)}, tenantFields(t))
}

// GetTenant returns the tenant. Returns ErrNotFound, ErrUnavailable.
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	if !validTenantID(id) {
		return Tenant{}, notFound("tenant")
	}
	h, err := s.rdb.HGetAll(ctx, tenantKey(id)).Result()
	if err != nil {
		return Tenant{}, unavailable("get tenant", err)
	}
	if len(h) == 0 {
		return Tenant{}, notFound("tenant")
	}
	t, err := parseTenant(id, h)
	if err != nil {
		return Tenant{}, unavailable("get tenant", err)
	}
	return t, nil
}

// ListTenants returns all tenants, oldest first. Returns ErrUnavailable.
func (s *Store) ListTenants(ctx context.Context) ([]Tenant, error) {
	ids, err := s.rdb.ZRange(ctx, tenantsKey(), 0, -1).Result()
	if err != nil {
		return nil, unavailable("list tenants", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, tenantKey(id))
		}
		return nil
	}); err != nil {
		return nil, unavailable("list tenants", err)
	}
	tenants := make([]Tenant, 0, len(ids))
	for i, cmd := range cmds {
		h := cmd.Val()
		if len(h) == 0 {
			continue // listed but not (or no longer) stored: see CreateTenant
		}
		t, err := parseTenant(ids[i], h)
		if err != nil {
			return nil, unavailable("list tenants", err)
		}
		tenants = append(tenants, t)
	}
	return tenants, nil
}

// UpdateTenant writes t's settings (name, license limit, mode, matching,
// token hashes) over prev's, the ones read, with the change's audit event,
// in one script: if another change landed since prev was read, nothing is
// written and it returns ErrVersionConflict, so that two admins changing
// different settings at once cannot undo each other.
// Returns ErrNotFound, ErrVersionConflict, ErrUnavailable.
func (s *Store) UpdateTenant(ctx context.Context, prev, t Tenant, audit []byte) error {
	if !validTenantID(t.ID) || prev.ID != t.ID {
		return notFound("tenant")
	}
	was, now := tenantSettings(prev), tenantSettings(t)
	args := make([]any, 0, 2+len(now)/2*3)
	args = append(args, s.auditRetention(), string(audit))
	for i := 0; i+1 < len(now); i += 2 {
		args = append(args, now[i], was[i+1], now[i+1])
	}
	return s.runScript(ctx, "update tenant", updateTenantScript,
		[]string{tenantKey(t.ID), auditKey(t.ID)}, args)
}

// DeleteTenant removes the tenant and every key under its tag. It SCANs the
// keyspace (every master of a cluster), so it is an operator action, never
// on the request path. If it fails half-way, calling it again finishes.
// Returns ErrNotFound, ErrUnavailable.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	if !validTenantID(id) {
		return notFound("tenant")
	}
	// The settings hash goes first: every write script checks it, so no
	// script can recreate a key behind the scan.
	deleted, err := s.rdb.Del(ctx, tenantKey(id)).Result()
	if err != nil {
		return unavailable("delete tenant", err)
	}
	listed := true
	if err := s.rdb.ZScore(ctx, tenantsKey(), id).Err(); isNil(err) {
		listed = false
	} else if err != nil {
		return unavailable("delete tenant", err)
	}
	if deleted == 0 && !listed {
		return notFound("tenant")
	}
	if err := s.deleteKeys(ctx, tenantPattern(id)); err != nil {
		return unavailable("delete tenant", err)
	}
	// The replicas' decision caches drop the tenant; before the listing
	// goes, so that a failure here is retried by calling again.
	if err := s.PublishAccessChanged(ctx, id); err != nil {
		return err
	}
	if err := s.rdb.ZRem(ctx, tenantsKey(), id).Err(); err != nil {
		return unavailable("delete tenant", err)
	}
	return nil
}

// deleteKeys UNLINKs every key matching pattern, a batch per SCAN page.
func (s *Store) deleteKeys(ctx context.Context, pattern string) error {
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, int64(s.opts.ScanBatch)).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				if err := c.Unlink(ctx, keys...).Err(); err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return scan(ctx, c)
		})
	}
	return scan(ctx, s.rdb)
}

// SeatsUsed returns how many active users hold a seat. Returns ErrUnavailable.
func (s *Store) SeatsUsed(ctx context.Context, tenant string) (int64, error) {
	v, err := s.rdb.Get(ctx, seatsKey(tenant)).Result()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("seats used", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, unavailable("seats used", err)
	}
	return n, nil
}

var (
	//go:embed lua/record_refusal.lua
	recordRefusalLua    string
	recordRefusalScript = redis.NewScript(recordRefusalLua)

	//go:embed lua/put_admin_token.lua
	putAdminTokenLua    string
	putAdminTokenScript = redis.NewScript(auditLua + putAdminTokenLua)

	//go:embed lua/revoke_admin_tokens.lua
	revokeAdminTokensLua    string
	revokeAdminTokensScript = redis.NewScript(auditLua + revokeAdminTokensLua)
)

// RecordLicenseRefusal counts one refused seat at time at, for the license
// report. Returns ErrNotFound, ErrUnavailable.
func (s *Store) RecordLicenseRefusal(ctx context.Context, tenant string, at time.Time) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	return s.runScript(ctx, "record refusal", recordRefusalScript, []string{tenantKey(tenant)}, []any{encodeTime(at)})
}

// PutAdminToken adds an admin token, by its hash, under a name, and appends
// audit. Returns ErrNotFound (tenant), *QuotaError (past MaxAdminTokens),
// ErrUnavailable.
func (s *Store) PutAdminToken(ctx context.Context, tenant, hash, name string, audit []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	return s.runScript(ctx, "put admin token", putAdminTokenScript,
		[]string{tenantKey(tenant), adminTokensKey(tenant), auditKey(tenant)},
		[]any{hash, name, s.auditRetention(), audit, MaxAdminTokens})
}

// AdminTokenName returns the name of the admin token with this hash.
// Returns ErrNotFound, ErrUnavailable.
func (s *Store) AdminTokenName(ctx context.Context, tenant, hash string) (string, error) {
	if !validTenantID(tenant) {
		return "", notFound("admin token")
	}
	name, err := s.rdb.HGet(ctx, adminTokensKey(tenant), hash).Result()
	if isNil(err) {
		return "", notFound("admin token")
	}
	if err != nil {
		return "", unavailable("admin token", err)
	}
	return name, nil
}

// RevokeAdminTokens removes every admin token named name, with its audit
// event, and returns how many there were. The tenant's first token, kept
// in its settings, counts as named firstName when the settings name none.
// Returns ErrNotFound (tenant, or no token of that name), ErrUnavailable.
func (s *Store) RevokeAdminTokens(ctx context.Context, tenant, name, firstName string, audit []byte) (int64, error) {
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	return s.runCounting(ctx, "revoke admin tokens", revokeAdminTokensScript,
		[]string{tenantKey(tenant), adminTokensKey(tenant), auditKey(tenant)},
		[]any{name, firstName, s.auditRetention(), audit})
}

// AdminTokenNames returns the names of the tenant's admin tokens with how
// many tokens bear each; the first token counts as named firstName when the
// settings name none. Returns ErrNotFound, ErrUnavailable.
func (s *Store) AdminTokenNames(ctx context.Context, tenant, firstName string) (map[string]int, error) {
	t, err := s.GetTenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	names, err := s.rdb.HVals(ctx, adminTokensKey(tenant)).Result()
	if err != nil {
		return nil, unavailable("admin tokens", err)
	}
	out := make(map[string]int, len(names)+1)
	for _, n := range names {
		out[n]++
	}
	if t.AdminTokenHash != "" {
		if t.AdminName != "" {
			firstName = t.AdminName
		}
		out[firstName]++
	}
	return out, nil
}
