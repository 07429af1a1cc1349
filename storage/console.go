package storage

import (
	"context"
	_ "embed"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/sign_in_failure.lua
	signInFailureLua    string
	signInFailureScript = redis.NewScript(auditLua + signInFailureLua)
)

// PutConsoleSession stores a console session's record (opaque to storage)
// under the hash of its id, expiring after ttl. Returns ErrNotFound (a
// tenant id no key can hold), ErrUnavailable.
func (s *Store) PutConsoleSession(ctx context.Context, tenant, idHash string, record []byte, ttl time.Duration) error {
	if !validTenantID(tenant) || !validRecordID(idHash) {
		return notFound("console session")
	}
	if err := s.rdb.Set(ctx, consoleSessionKey(tenant, idHash), record, ttl).Err(); err != nil {
		return unavailable("put console session", err)
	}
	return nil
}

// ConsoleSession returns a console session's record. Returns ErrNotFound
// (none, or expired), ErrUnavailable.
func (s *Store) ConsoleSession(ctx context.Context, tenant, idHash string) ([]byte, error) {
	if !validTenantID(tenant) || !validRecordID(idHash) {
		return nil, notFound("console session")
	}
	b, err := s.rdb.Get(ctx, consoleSessionKey(tenant, idHash)).Bytes()
	if isNil(err) {
		return nil, notFound("console session")
	}
	if err != nil {
		return nil, unavailable("console session", err)
	}
	return b, nil
}

// DeleteConsoleSession ends a console session; ending one that is not
// there is no error. Returns ErrUnavailable.
func (s *Store) DeleteConsoleSession(ctx context.Context, tenant, idHash string) error {
	if !validTenantID(tenant) || !validRecordID(idHash) {
		return nil
	}
	if err := s.rdb.Del(ctx, consoleSessionKey(tenant, idHash)).Err(); err != nil {
		return unavailable("delete console session", err)
	}
	return nil
}

// TakeConsoleSignInFailure counts cost failed console sign-ins (0 only
// asks) from a client address against a bucket shared by every scimd:
// perSecond a second, burst at once. It reports false, and how long to
// wait, when the address has used its failures up. Returns ErrUnavailable.
func (s *Store) TakeConsoleSignInFailure(ctx context.Context, ip string, perSecond float64, burst, cost int) (bool, time.Duration, error) {
	if perSecond <= 0 || burst <= 0 {
		return true, 0, nil
	}
	return s.takeKey(ctx, "console sign-in limit", consoleSignInFailuresKey(ip), perSecond, burst, cost)
}

// CountSignInFailure counts a failed console sign-in in the tenant's
// window (named by its start; its count expires keep later) and, in one
// script, appends audit when it is one of the window's first recorded
// failures, or notice when it is the one after them; later ones are only
// counted. It returns the failure's number in its window. Returns
// ErrNotFound (tenant), AuditFullError, ErrUnavailable.
func (s *Store) CountSignInFailure(ctx context.Context, tenant string, window time.Time, keep time.Duration, recorded int, audit, notice []byte) (int64, error) {
	if !validTenantID(tenant) {
		return 0, notFound("tenant")
	}
	const op = "count sign-in failure"
	res, err := s.eval(ctx, op, signInFailureScript,
		[]string{tenantKey(tenant), auditKey(tenant), signInFailuresKey(tenant, strconv.FormatInt(window.Unix(), 10))},
		[]any{s.auditRetention(), max(1, int64(keep/time.Second)), recorded, audit, notice})
	if err != nil {
		return 0, err
	}
	return s.countResult(op, res)
}
