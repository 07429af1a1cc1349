package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Quotas bound what one tenant may store, so that no tenant can fill the
// Redis all tenants share. A zero field means "the default": in a Tenant,
// Options.Quotas; in Options, DefaultQuotas. The write scripts enforce them,
// so concurrent creates cannot overshoot.
type Quotas struct {
	Users   int64 // users, inactive ones included
	Groups  int64 // groups
	Members int64 // members of one group
}

// DefaultQuotas are the quotas when neither the tenant nor Options set one:
// far above what a directory needs (Entra sends groups of 20,000 members),
// far below what would fill a Redis.
var DefaultQuotas = Quotas{Users: 1_000_000, Groups: 100_000, Members: 100_000}

// Caps on a tenant's admin objects (each object also costs every policy
// decision of the tenant, whose input holds them all). The write scripts
// enforce them.
const (
	MaxAccounts    = 1000 // sub-accounts
	MaxCustomRoles = 200  // custom roles
	MaxAdminTokens = 100  // admin tokens (by token, not by name; the first one not counted)
)

// or returns q with each zero field taken from d.
func (q Quotas) or(d Quotas) Quotas {
	if q.Users <= 0 {
		q.Users = d.Users
	}
	if q.Groups <= 0 {
		q.Groups = d.Groups
	}
	if q.Members <= 0 {
		q.Members = d.Members
	}
	return q
}

// EffectiveQuotas returns t's quotas with the defaults filled in.
func (s *Store) EffectiveQuotas(t Tenant) Quotas { return t.Quotas.or(s.opts.Quotas) }

// QuotaError reports a write refused because it would pass a quota or a
// cap. errors.Is(err, ErrQuotaExceeded) is true for it.
type QuotaError struct {
	Quota string // "users", "groups", "members", "accounts", "roles" or "adminTokens"
	Limit int64
	Used  int64
}

// ErrQuotaExceeded is the target for errors.Is on a *QuotaError.
var ErrQuotaExceeded = errors.New("storage: quota exceeded")

func (e *QuotaError) Error() string {
	return fmt.Sprintf("storage: %s quota %d reached (%d used)", e.Quota, e.Limit, e.Used)
}

// Is makes errors.Is(err, ErrQuotaExceeded) work.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// Usage is what a tenant holds of what its quotas and license count.
type Usage struct {
	Users  int64 // users, inactive ones included
	Groups int64
	Seats  int64 // active users (the license's count)
}

// Usage counts the tenant's users, groups and seats in one round trip.
// Returns ErrUnavailable.
func (s *Store) Usage(ctx context.Context, tenant string) (Usage, error) {
	var users, groups *redis.IntCmd
	var seats *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		users = p.ZCard(ctx, usersKey(tenant))
		groups = p.ZCard(ctx, groupsKey(tenant))
		seats = p.Get(ctx, seatsKey(tenant))
		return nil
	})
	if err != nil && !isNil(err) {
		return Usage{}, unavailable("usage", err)
	}
	u := Usage{Users: users.Val(), Groups: groups.Val()}
	if v := seats.Val(); v != "" {
		if u.Seats, err = strconv.ParseInt(v, 10, 64); err != nil {
			return Usage{}, unavailable("usage", err)
		}
	}
	return u, nil
}

// encodeQuota stores an unset (zero) quota as "", which reads back as unset,
// as does a tenant written before quotas existed (no field at all).
func encodeQuota(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func decodeQuota(id, field, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tenant %s: %s: %w", id, field, err)
	}
	return n, nil
}
