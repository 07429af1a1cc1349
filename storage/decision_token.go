package storage

import (
	"context"
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// Caps on decision tokens (the scripts enforce them), like MaxAdminTokens:
// a name per consumer is plenty, and each token is a hash field to keep.
const (
	MaxDecisionTokens         = 100 // per tenant
	MaxPlatformDecisionTokens = 100 // for the whole platform
)

var (
	//go:embed lua/revoke_decision_tokens.lua
	revokeDecisionTokensLua    string
	revokeDecisionTokensScript = redis.NewScript(auditLua + revokeDecisionTokensLua)

	//go:embed lua/put_platform_token.lua
	putPlatformTokenLua    string
	putPlatformTokenScript = redis.NewScript(putPlatformTokenLua)
)

// PutDecisionToken adds a tenant's decision token, by its hash, under a
// name, and appends audit. Returns ErrNotFound (tenant), *QuotaError (past
// MaxDecisionTokens), *AuditFullError, ErrUnavailable.
func (s *Store) PutDecisionToken(ctx context.Context, tenant, hash, name string, audit []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	return s.runScript(ctx, "put decision token", putAdminTokenScript,
		[]string{tenantKey(tenant), decisionTokensKey(tenant), auditKey(tenant)},
		[]any{hash, name, s.auditRetention(), audit, MaxDecisionTokens, "decisionTokens"})
}

// DecisionTokenName returns the name of the tenant's decision token with
// this hash. Returns ErrNotFound, ErrUnavailable.
func (s *Store) DecisionTokenName(ctx context.Context, tenant, hash string) (string, error) {
	if !validTenantID(tenant) {
		return "", notFound("decision token")
	}
	return s.tokenName(ctx, decisionTokensKey(tenant), hash)
}

// DecisionTokenNames returns the names of the tenant's decision tokens with
// how many tokens bear each. Returns ErrNotFound (tenant), ErrUnavailable.
func (s *Store) DecisionTokenNames(ctx context.Context, tenant string) (map[string]int, error) {
	if !validTenantID(tenant) {
		return nil, notFound("tenant")
	}
	var (
		exists *redis.IntCmd
		names  *redis.StringSliceCmd
	)
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, tenantKey(tenant))
		names = p.HVals(ctx, decisionTokensKey(tenant))
		return nil
	}); err != nil {
		return nil, unavailable("decision tokens", err)
	}
	if exists.Val() == 0 {
		return nil, notFound("tenant")
	}
	return countNames(names.Val()), nil
}

// RevokeDecisionTokens removes every decision token of the tenant named
// name, with its audit event, and returns how many there were.
// Returns ErrNotFound (tenant, or no token of that name), *AuditFullError,
// ErrUnavailable.
func (s *Store) RevokeDecisionTokens(ctx context.Context, tenant, name string, audit []byte) (int64, error) {
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	return s.runCounting(ctx, "revoke decision tokens", revokeDecisionTokensScript,
		[]string{decisionTokensKey(tenant), tenantKey(tenant), auditKey(tenant)},
		[]any{name, s.auditRetention(), audit})
}

// PutPlatformDecisionToken adds a platform decision token, by its hash,
// under a name. Returns *QuotaError (past MaxPlatformDecisionTokens),
// ErrUnavailable.
func (s *Store) PutPlatformDecisionToken(ctx context.Context, hash, name string) error {
	return s.runScript(ctx, "put platform decision token", putPlatformTokenScript,
		[]string{platformDecisionTokensKey()}, []any{hash, name, MaxPlatformDecisionTokens})
}

// PlatformDecisionTokenName returns the name of the platform decision token
// with this hash. Returns ErrNotFound, ErrUnavailable.
func (s *Store) PlatformDecisionTokenName(ctx context.Context, hash string) (string, error) {
	return s.tokenName(ctx, platformDecisionTokensKey(), hash)
}

// PlatformDecisionTokenNames returns the names of the platform decision
// tokens with how many tokens bear each. Returns ErrUnavailable.
func (s *Store) PlatformDecisionTokenNames(ctx context.Context) (map[string]int, error) {
	names, err := s.rdb.HVals(ctx, platformDecisionTokensKey()).Result()
	if err != nil {
		return nil, unavailable("platform decision tokens", err)
	}
	return countNames(names), nil
}

// RevokePlatformDecisionTokens removes every platform decision token named
// name and returns how many there were. Returns ErrNotFound (no token of
// that name), ErrUnavailable.
func (s *Store) RevokePlatformDecisionTokens(ctx context.Context, name string) (int64, error) {
	return s.runCounting(ctx, "revoke platform decision tokens", revokeDecisionTokensScript,
		[]string{platformDecisionTokensKey()}, []any{name, "", ""})
}

func (s *Store) tokenName(ctx context.Context, key, hash string) (string, error) {
	name, err := s.rdb.HGet(ctx, key, hash).Result()
	if isNil(err) {
		return "", notFound("decision token")
	}
	if err != nil {
		return "", unavailable("decision token", err)
	}
	return name, nil
}

func countNames(names []string) map[string]int {
	out := make(map[string]int, len(names))
	for _, n := range names {
		out[n]++
	}
	return out
}
