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
	"net/netip"
	"time"

	"github.com/scimd/scimd/storage"
)

// SessionLimits bound console sessions and sign-in attempts.
type SessionLimits struct {
	// Idle ends a session unused this long; Lifetime ends any session
	// this long after its sign-in.
	Idle, Lifetime time.Duration
	// FailuresPerSecond and FailureBurst bound the failed sign-ins one
	// client address may make, across tenants (0: unlimited); an IPv6
	// address counts as its /64.
	FailuresPerSecond float64
	FailureBurst      int
	// AuditedFailures bounds the failed sign-ins a tenant's audit log
	// records in an hour (0: every one): past them, one notice, then
	// only the metric counts them.
	AuditedFailures int
}

// signInAuditWindow is the window of SessionLimits.AuditedFailures.
const signInAuditWindow = time.Hour

// failureSource is what failed sign-ins are counted by: an IPv4 address,
// or an IPv6 address's /64. A subscriber is usually given a whole /64, so
// counting its addresses one by one would hand it 2^64 budgets.
func failureSource(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
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
// Failed attempts are counted per client address (a.IP, an IPv6 one by
// its /64), never per tenant; both outcomes are audited in the tenant's
// log when it exists, failures within lim.AuditedFailures an hour.
// Returns KindThrottled (the address failed too often), KindUnauthorized,
// KindUnavailable.
func (s *Service) SignIn(ctx context.Context, tenant, token string, a Actor, lim SessionLimits) (string, ConsoleSession, error) {
	if err := s.signInAllowed(ctx, "tenant", a.IP, lim, false); err != nil {
		return "", ConsoleSession{}, err
	}
	name, err := s.AuthenticateAdmin(ctx, tenant, token)
	if KindOf(err) == KindUnauthorized {
		if err := s.signInAllowed(ctx, "tenant", a.IP, lim, true); err != nil && KindOf(err) != KindThrottled {
			return "", ConsoleSession{}, err
		}
		if ValidTenantID(tenant) {
			s.auditSignInFailure(ctx, tenant, a.IP, lim)
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
	s.metrics.ConsoleSignIn("tenant", "ok")
	return id, rec.session(tenant), nil
}

// signInAllowed holds a sign-in to the per-address limit of failures:
// called before the token is checked with failed false (it only asks),
// and again with failed true to count a wrong token. who is "tenant" or
// "operator", for the metric. Returns KindThrottled, KindUnavailable.
func (s *Service) signInAllowed(ctx context.Context, who, ip string, lim SessionLimits, failed bool) error {
	cost := 0
	if failed {
		cost = 1
		s.metrics.ConsoleSignIn(who, "failed")
	}
	ok, wait, err := s.store.TakeConsoleSignInFailure(ctx, failureSource(ip), lim.FailuresPerSecond, lim.FailureBurst, cost)
	if err != nil {
		return fromStorage(err, "sign-in limit")
	}
	if !ok {
		if !failed {
			s.metrics.ConsoleSignIn(who, "throttled")
		}
		return &Error{Kind: KindThrottled, RetryAfter: wait, Detail: "too many failed sign-ins from this address; try again later"}
	}
	return nil
}

// auditSignInFailure records a failed sign-in in the tenant's log, the
// first lim.AuditedFailures of the hour, then a notice that the hour's
// others are counted only.
func (s *Service) auditSignInFailure(ctx context.Context, tenant, ip string, lim SessionLimits) {
	a := Actor{Source: "admin", IP: ip}
	ev := s.event(a, "console.signInFailed", "ConsoleSession", "", nil)
	if lim.AuditedFailures <= 0 {
		s.auditSession(ctx, tenant, ev)
		return
	}
	window := ev.Time.Truncate(signInAuditWindow)
	notice := s.event(a, "console.signInFailuresUnrecorded", "ConsoleSession", "",
		[]Change{{Attribute: "unrecordedUntil", New: window.Add(signInAuditWindow)}})
	// The count outlives its window a while: replicas' clocks differ.
	n, err := s.store.CountSignInFailure(ctx, tenant, window, 2*signInAuditWindow, lim.AuditedFailures, ev.encode(), notice.encode())
	if n > int64(lim.AuditedFailures)+1 { // the one past them is the notice
		s.metrics.SignInFailureUnrecorded()
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		slog.Warn("console sign-in not audited", "tenant", tenant, "action", ev.Action, "err", err)
	}
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
