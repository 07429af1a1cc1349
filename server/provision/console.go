package provision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/scimd/scimd/storage"
)

// SessionLimits bound console sessions and sign-in attempts.
type SessionLimits struct {
	// Idle ends a session unused this long; Lifetime ends any session
	// this long after its sign-in.
	Idle, Lifetime time.Duration
	// FailuresPerSecond and FailureBurst bound the failed sign-ins one
	// client address may make, across tenants (0: unlimited).
	FailuresPerSecond float64
	FailureBurst      int
}

// ConsoleSession is a signed-in console session: an admin token exchanged
// for a server-side session, so the token never stays in the browser.
type ConsoleSession struct {
	Tenant string
	// Admin is the name of the admin token signed in with, the actor of
	// the session's changes.
	Admin string
	// CSRF is the session's anti-forgery token, which every state-changing
	// request must carry.
	CSRF     string
	Created  time.Time
	LastSeen time.Time
}

// sessionRecord is a session as stored; the admin token is kept as its
// hash, to check on every use that it was not revoked.
type sessionRecord struct {
	TokenHash string    `json:"tokenHash"`
	Admin     string    `json:"admin"`
	CSRF      string    `json:"csrf"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"lastSeen"`
}

// sessionTouch is how stale a session's last use may be stored before a
// use writes it again: idle expiry is this coarse, and a page costs no
// write.
const sessionTouch = time.Minute

// SignIn exchanges a tenant's admin token for a console session and returns
// the session's id (the cookie's secret, never stored) with the session.
// Failed attempts are counted per client address (a.IP), never per
// tenant; both outcomes are audited in the tenant's log when it exists.
// Returns KindThrottled (the address failed too often), KindUnauthorized,
// KindUnavailable.
func (s *Service) SignIn(ctx context.Context, tenant, token string, a Actor, lim SessionLimits) (string, ConsoleSession, error) {
	ok, wait, err := s.store.TakeConsoleSignInFailure(ctx, a.IP, lim.FailuresPerSecond, lim.FailureBurst, 0)
	if err != nil {
		return "", ConsoleSession{}, fromStorage(err, "sign-in limit")
	}
	if !ok {
		return "", ConsoleSession{}, &Error{Kind: KindThrottled, RetryAfter: wait, Detail: "too many failed sign-ins from this address; try again later"}
	}
	name, err := s.AuthenticateAdmin(ctx, tenant, token)
	if KindOf(err) == KindUnauthorized {
		if _, _, err := s.store.TakeConsoleSignInFailure(ctx, a.IP, lim.FailuresPerSecond, lim.FailureBurst, 1); err != nil {
			return "", ConsoleSession{}, fromStorage(err, "sign-in limit")
		}
		if ValidTenantID(tenant) {
			s.auditSession(ctx, tenant, s.event(Actor{Source: "admin", IP: a.IP}, "console.signInFailed", "ConsoleSession", "", nil))
		}
		return "", ConsoleSession{}, err
	}
	if err != nil {
		return "", ConsoleSession{}, err
	}
	now := s.now().UTC()
	rec := sessionRecord{TokenHash: hashToken(token), Admin: name, CSRF: randomSecret(), Created: now, LastSeen: now}
	id := randomSecret()
	if err := s.putSession(ctx, tenant, id, rec, lim); err != nil {
		return "", ConsoleSession{}, err
	}
	a.User, a.Operator = name, false
	s.auditSession(ctx, tenant, s.event(a, "console.signIn", "ConsoleSession", name, nil))
	return id, rec.session(tenant), nil
}

// Session returns the console session id names, after checking that it
// has neither idled nor lived out and that its admin token still works
// (a session ends with its token). Returns KindUnauthorized, KindUnavailable.
func (s *Service) Session(ctx context.Context, tenant, id string, lim SessionLimits) (ConsoleSession, error) {
	if !ValidTenantID(tenant) || id == "" {
		return ConsoleSession{}, errUnauthorized
	}
	b, err := s.store.ConsoleSession(ctx, tenant, hashSecret(id))
	if errors.Is(err, storage.ErrNotFound) {
		return ConsoleSession{}, errUnauthorized
	}
	if err != nil {
		return ConsoleSession{}, fromStorage(err, "console session")
	}
	var rec sessionRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return ConsoleSession{}, errUnauthorized
	}
	now := s.now().UTC()
	if now.Sub(rec.Created) >= lim.Lifetime || now.Sub(rec.LastSeen) >= lim.Idle {
		return ConsoleSession{}, s.endSession(ctx, tenant, id)
	}
	if _, err := s.adminTokenName(ctx, tenant, rec.TokenHash); err != nil {
		if KindOf(err) == KindUnauthorized {
			return ConsoleSession{}, s.endSession(ctx, tenant, id)
		}
		return ConsoleSession{}, err
	}
	if now.Sub(rec.LastSeen) >= sessionTouch {
		rec.LastSeen = now
		if err := s.putSession(ctx, tenant, id, rec, lim); err != nil {
			return ConsoleSession{}, err
		}
	}
	return rec.session(tenant), nil
}

// SignOut ends a console session and audits it. Returns KindUnavailable.
func (s *Service) SignOut(ctx context.Context, sess ConsoleSession, id string, a Actor) error {
	if err := s.store.DeleteConsoleSession(ctx, sess.Tenant, hashSecret(id)); err != nil {
		return fromStorage(err, "console session")
	}
	a.User, a.Operator = sess.Admin, false
	s.auditSession(ctx, sess.Tenant, s.event(a, "console.signOut", "ConsoleSession", sess.Admin, nil))
	return nil
}

// endSession deletes a session found expired or revoked and answers
// KindUnauthorized (or the outage that kept it from deleting).
func (s *Service) endSession(ctx context.Context, tenant, id string) error {
	if err := s.store.DeleteConsoleSession(ctx, tenant, hashSecret(id)); err != nil {
		return fromStorage(err, "console session")
	}
	return errUnauthorized
}

// putSession stores rec to expire when it would idle or live out.
func (s *Service) putSession(ctx context.Context, tenant, id string, rec sessionRecord, lim SessionLimits) error {
	ttl := min(lim.Idle, rec.Created.Add(lim.Lifetime).Sub(rec.LastSeen))
	b, err := json.Marshal(rec)
	if err != nil {
		return &Error{Kind: KindInternal, Detail: "internal error", cause: err}
	}
	return fromStorage(s.store.PutConsoleSession(ctx, tenant, hashSecret(id), b, max(ttl, time.Second)), "console session")
}

// auditSession appends a sign-in event; an event that cannot be written
// (an outage, a full log) is logged and does not fail the sign-in.
func (s *Service) auditSession(ctx context.Context, tenant string, ev AuditEvent) {
	err := s.store.AppendAudit(ctx, tenant, ev.encode())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		slog.Warn("console sign-in not audited", "tenant", tenant, "action", ev.Action, "err", err)
	}
}

func (r sessionRecord) session(tenant string) ConsoleSession {
	return ConsoleSession{Tenant: tenant, Admin: r.Admin, CSRF: r.CSRF, Created: r.Created, LastSeen: r.LastSeen}
}

// randomSecret is 256 random bits, URL-safe.
func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("provision: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret is the stored name of a session id: SHA-256, as for tokens.
func hashSecret(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
