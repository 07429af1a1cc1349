package provision

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/scimd/scimd/server/decisioncache"
	"github.com/scimd/scimd/storage"
)

// decisionStore is the read side of the stored access decisions and the
// decision tokens (part of store).
type decisionStore interface {
	AccessDecision(ctx context.Context, tenant, uid string) ([]byte, error)
	AccessDecisions(ctx context.Context, tenant string, uids []string) ([][]byte, error)
	UsersExist(ctx context.Context, tenant string, uids []string) ([]bool, error)
	AccessDecisionByUserName(ctx context.Context, tenant, userName string) (string, []byte, error)
	AccessDecisionsByExternalID(ctx context.Context, tenant, externalID string, limit int) ([]string, [][]byte, bool, error)
	AccessDecisionPage(ctx context.Context, tenant, cursor string, count int) (storage.DecisionPage, error)

	PutDecisionToken(ctx context.Context, tenant, hash, name string, audit []byte) error
	DecisionTokenName(ctx context.Context, tenant, hash string) (string, error)
	DecisionTokenNames(ctx context.Context, tenant string) (map[string]int, error)
	RevokeDecisionTokens(ctx context.Context, tenant, name string, audit []byte) (int64, error)
	PutPlatformDecisionToken(ctx context.Context, hash, name string) error
	PlatformDecisionTokenName(ctx context.Context, hash string) (string, error)
	PlatformDecisionTokenNames(ctx context.Context) (map[string]int, error)
	RevokePlatformDecisionTokens(ctx context.Context, name string) (int64, error)
}

// Decision is a user's stored effective access, as the resolver decided it
// (the policy's answer; Go never decides it). Enterprise and Accounts are
// the policy's JSON, handed on unparsed: a read must stay cheap.
type Decision struct {
	User       string
	Active     bool
	Enterprise json.RawMessage // {"role","score","rule"} or null
	Accounts   json.RawMessage // sub-account id -> {"role","score","rule"} or null
	Revision   string          // the policy revision it was made at
	Generation int64           // the tenant's decision generation it was made at
	ETag       string          // changes when active, enterprise, accounts or revision do
	DecidedAt  string          // RFC 3339
	Stale      bool            // the last attempt to decide again failed: this is the previous decision
	// Pending: the user exists but has no decision yet, and none could be
	// made now; every other field but User is empty.
	Pending bool
}

// decisionRecord is the stored record (ACCESS.md); input_hash stays inside.
type decisionRecord struct {
	User       string          `json:"user"`
	Active     bool            `json:"active"`
	Enterprise json.RawMessage `json:"enterprise"`
	Accounts   json.RawMessage `json:"accounts"`
	Revision   string          `json:"revision"`
	Generation int64           `json:"generation"`
	ETag       string          `json:"etag"`
	DecidedAt  string          `json:"decided_at"`
	Stale      bool            `json:"stale"`
}

// Resolver decides one user's access now and stores it (the background
// resolver's ResolveNow): the read path asks it for a user that exists but
// has no decision yet.
type Resolver interface {
	ResolveNow(ctx context.Context, tenant, uid string) error
}

// SetResolver makes the read path decide missing decisions through r. Call
// it before serving.
func (s *Service) SetResolver(r Resolver) { s.decide = r }

// MaxDecidedOnRead bounds how many users without a stored decision one
// read (a batch, an export page) decides on the spot: each is a policy
// evaluation and a write, which a request must not multiply by its size
// (right after an upgrade, every user is undecided). Beyond it they are
// pending, and the resolver decides them in the background.
const MaxDecidedOnRead = 20

// errPending answers a read of a user whose decision is not there yet.
var errPending = &Error{Kind: KindUnavailable, Detail: "this user's access has not been decided yet; try again shortly"}

// decideNow has the resolver decide uid, then reads the decision it stored.
// Returns errPending when there is no resolver or it could not decide.
func (s *Service) decideNow(ctx context.Context, tenant, uid string) (Decision, error) {
	if s.decide == nil {
		return Decision{}, errPending
	}
	if err := s.decide.ResolveNow(ctx, tenant, uid); err != nil {
		if errors.Is(err, storage.ErrNotFound) || KindOf(err) == KindNotFound {
			return Decision{}, s.decisionNotFound(ctx, tenant)
		}
		slog.Warn("deciding a user's access on read failed", "tenant", tenant, "user", uid, "err", err)
		return Decision{}, errPending
	}
	raw, err := s.store.AccessDecision(ctx, tenant, uid)
	if errors.Is(err, storage.ErrNotFound) {
		return Decision{}, errPending
	}
	if err != nil {
		return Decision{}, fromStorage(err, "access decision")
	}
	return parseDecision(raw)
}

// decisionNotFound says whose absence a read met: the tenant's or the
// user's. It costs a round trip, on the not-found path only.
func (s *Service) decisionNotFound(ctx context.Context, tenant string) error {
	if err := s.TenantExists(ctx, tenant); err != nil {
		return err
	}
	return &Error{Kind: KindNotFound, Detail: "user not found"}
}

// CachedDecision returns the user's decision from this process's cache,
// if it holds it and the cache is usable (see WatchAccessChanged): no round
// trip, no context. Callers ask Decision when it does not.
func (s *Service) CachedDecision(tenant, uid string) (Decision, bool) {
	return s.decisions.Get(tenant, uid)
}

// Decision returns the user's stored access decision, read from Redis (one
// round trip when it is there) and kept in the cache; a user without one
// yet is decided now (and cached when read again).
// Returns KindNotFound (tenant or user), KindUnavailable (also: not decided
// yet), KindInternal.
func (s *Service) Decision(ctx context.Context, tenant, uid string) (Decision, error) {
	tk := s.decisions.Ticket()
	raw, err := s.store.AccessDecision(ctx, tenant, uid)
	if err == nil {
		d, err := parseDecision(raw)
		if err == nil {
			s.decisions.Put(tk, tenant, uid, d, decisionSize(raw, d))
		}
		return d, err
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return Decision{}, fromStorage(err, "access decision")
	}
	exists, err := s.store.UsersExist(ctx, tenant, []string{uid})
	if err != nil {
		return Decision{}, fromStorage(err, "user")
	}
	if !exists[0] {
		return Decision{}, s.decisionNotFound(ctx, tenant)
	}
	return s.decideNow(ctx, tenant, uid)
}

// decisionSize is what a cached decision holds: the record (Enterprise
// and Accounts point into it) and the strings parsed out of it.
func decisionSize(raw []byte, d Decision) int {
	return len(raw) + len(d.User) + len(d.Revision) + len(d.ETag) + len(d.DecidedAt) + int(unsafe.Sizeof(d))
}

// WatchAccessChanged keeps the decision cache current until ctx ends: it
// drops what the replicas' writes change, and while this replica is not
// known to hear them (the subscription is broken, or no ping on it was
// answered for decisioncache.DefaultWindow) reads bypass the cache. ready
// is closed when the subscription is first confirmed (never, with the
// cache off).
func (s *Service) WatchAccessChanged(ctx context.Context) (ready <-chan struct{}) {
	if !s.decisions.Enabled() {
		return make(chan struct{})
	}
	return s.store.WatchAccessChanged(ctx, s.decisions, s.decisions.Window()/3)
}

// DecisionCacheStats returns the decision cache's counters.
func (s *Service) DecisionCacheStats() decisioncache.Stats { return s.decisions.Stats() }

// DecisionsHeardAt returns when a change of a decision had to be published
// at the latest to be seen by this replica's reads now (zero while they
// bypass the cache, or it is off).
func (s *Service) DecisionsHeardAt() time.Time { return s.decisions.HeardAt() }

// DecisionByUserName returns the decision of the user whose userName is
// userName, compared as uniqueness compares it (case, width and invisible
// characters do not matter). Errors as Decision's.
func (s *Service) DecisionByUserName(ctx context.Context, tenant, userName string) (Decision, error) {
	id, raw, err := s.store.AccessDecisionByUserName(ctx, tenant, userName)
	if errors.Is(err, storage.ErrNotFound) {
		return Decision{}, s.decisionNotFound(ctx, tenant)
	}
	if err != nil {
		return Decision{}, fromStorage(err, "access decision")
	}
	if raw == nil {
		return s.decideNow(ctx, tenant, id)
	}
	return parseDecision(raw)
}

// MaxDecisionList bounds the decisions one lookup or batch answers.
const MaxDecisionList = 1000

// DecisionsByExternalID returns the decisions of the users with this
// externalId (it is not unique), by id, at most MaxDecisionList, and
// whether there were more. Users without a decision yet that cannot be
// decided now are Pending. Returns KindNotFound (tenant), KindUnavailable.
func (s *Service) DecisionsByExternalID(ctx context.Context, tenant, externalID string) ([]Decision, bool, error) {
	ids, raws, more, err := s.store.AccessDecisionsByExternalID(ctx, tenant, externalID, MaxDecisionList)
	if err != nil {
		return nil, false, fromStorage(err, "access decisions")
	}
	if len(ids) == 0 {
		if err := s.TenantExists(ctx, tenant); err != nil {
			return nil, false, err
		}
	}
	out, err := s.decisionsOf(ctx, tenant, ids, raws)
	return out, more, err
}

// decisionsOf parses raws, the records of ids, deciding those missing now.
func (s *Service) decisionsOf(ctx context.Context, tenant string, ids []string, raws [][]byte) ([]Decision, error) {
	out := make([]Decision, 0, len(ids))
	decided := 0
	for i, raw := range raws {
		if raw == nil {
			if decided == MaxDecidedOnRead {
				out = append(out, Decision{User: ids[i], Pending: true})
				continue
			}
			decided++
			d, err := s.decideNow(ctx, tenant, ids[i])
			switch {
			case err == nil:
				out = append(out, d)
			case err == errPending:
				out = append(out, Decision{User: ids[i], Pending: true})
			case KindOf(err) == KindNotFound:
				// Deleted meanwhile.
			default:
				return nil, err
			}
			continue
		}
		d, err := parseDecision(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// DecisionBatch is the answer to a batch read: the decisions found (in the
// order asked), the ids that name no user, and the users whose decision is
// not made yet.
type DecisionBatch struct {
	Decisions []Decision
	Missing   []string
	Pending   []string
}

// Decisions returns the decisions of up to MaxDecisionList users in one
// round trip when all are decided. Repeated ids are answered once.
// Returns KindInvalid (too many), KindNotFound (tenant), KindUnavailable.
func (s *Service) Decisions(ctx context.Context, tenant string, ids []string) (DecisionBatch, error) {
	if len(ids) > MaxDecisionList {
		return DecisionBatch{}, &Error{Kind: KindInvalid, Attribute: "ids", Detail: "a batch asks for at most " + strconv.Itoa(MaxDecisionList) + " users"}
	}
	ids = uniqueIDs(ids)
	raws, err := s.store.AccessDecisions(ctx, tenant, ids)
	if err != nil {
		return DecisionBatch{}, fromStorage(err, "access decisions")
	}
	out := DecisionBatch{Decisions: make([]Decision, 0, len(ids)), Missing: []string{}, Pending: []string{}}
	var absent []string
	for i, raw := range raws {
		if raw == nil {
			absent = append(absent, ids[i])
		}
	}
	exists := map[string]bool{}
	if len(absent) > 0 {
		ex, err := s.store.UsersExist(ctx, tenant, absent)
		if err != nil {
			return DecisionBatch{}, fromStorage(err, "users")
		}
		for i, id := range absent {
			exists[id] = ex[i]
		}
		if len(absent) == len(ids) {
			// Nothing found at all: maybe there is no such tenant.
			if err := s.TenantExists(ctx, tenant); err != nil {
				return DecisionBatch{}, err
			}
		}
	}
	decided := 0
	for i, raw := range raws {
		id := ids[i]
		if raw == nil {
			if !exists[id] {
				out.Missing = append(out.Missing, id)
				continue
			}
			if decided == MaxDecidedOnRead {
				out.Pending = append(out.Pending, id)
				continue
			}
			decided++
			d, err := s.decideNow(ctx, tenant, id)
			switch {
			case err == nil:
				out.Decisions = append(out.Decisions, d)
			case err == errPending:
				out.Pending = append(out.Pending, id)
			case KindOf(err) == KindNotFound:
				out.Missing = append(out.Missing, id)
			default:
				return DecisionBatch{}, err
			}
			continue
		}
		d, err := parseDecision(raw)
		if err != nil {
			return DecisionBatch{}, err
		}
		out.Decisions = append(out.Decisions, d)
	}
	return out, nil
}

func uniqueIDs(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// DecisionPage returns the decisions of up to count users created after
// cursor ("" starts at the first), in creation order, the cursor of the
// next page and whether this one is the last: an export reads page after
// page, holding one at a time. Users without a decision that cannot be
// decided now are Pending. Returns KindNotFound (tenant, on the first
// page), KindUnavailable.
func (s *Service) DecisionPage(ctx context.Context, tenant, cursor string, count int) ([]Decision, string, bool, error) {
	p, err := s.store.AccessDecisionPage(ctx, tenant, cursor, count)
	if err != nil {
		return nil, "", false, fromStorage(err, "access decisions")
	}
	if cursor == "" && len(p.IDs) == 0 {
		if err := s.TenantExists(ctx, tenant); err != nil {
			return nil, "", false, err
		}
	}
	out, err := s.decisionsOf(ctx, tenant, p.IDs, p.Records)
	if err != nil {
		return nil, "", false, err
	}
	return out, p.Next, p.Done, nil
}

// Decision tokens read a tenant's decisions and change feed and nothing
// else; platform decision tokens do so for every tenant. Their prefixes
// tell them apart (and from every other kind), so a token of another kind
// is refused without a round trip.
const (
	decisionTokenKind = "dec"
	platformTokenKind = "pdec"
	// platformCache is the token cache's "tenant" of platform tokens: no
	// tenant id is empty.
	platformCache = ""
)

// DecisionReader is who a decision token authenticates.
type DecisionReader struct {
	Name     string // the token's name
	Platform bool   // a platform decision token: every tenant
}

// AuthenticateDecision checks a bearer token for reading tenant's
// decisions: one of the tenant's decision tokens or a platform decision
// token. Admin, SCIM and operator tokens are not decision tokens.
// Returns KindUnauthorized, KindUnavailable.
func (s *Service) AuthenticateDecision(ctx context.Context, tenant, token string) (DecisionReader, error) {
	if !ValidTenantID(tenant) {
		return DecisionReader{}, errUnauthorized
	}
	if who, ok := s.CachedDecisionReader(tenant, token); ok {
		return who, nil
	}
	switch {
	case strings.HasPrefix(token, "scimd_"+decisionTokenKind+"_"):
		return s.authenticateDecisionToken(ctx, tenant, hashToken(token))
	case strings.HasPrefix(token, "scimd_"+platformTokenKind+"_"):
		return s.authenticatePlatformToken(ctx, hashToken(token))
	}
	return DecisionReader{}, errUnauthorized
}

// CachedDecisionReader is AuthenticateDecision when this process remembers
// the token's check (no round trip, no context); false when it does not,
// whatever the token, and the caller asks AuthenticateDecision.
func (s *Service) CachedDecisionReader(tenant, token string) (DecisionReader, bool) {
	switch {
	case strings.HasPrefix(token, "scimd_"+decisionTokenKind+"_"):
		// A tenant id that is not valid is never remembered.
		if name, ok := s.tokens.name(tenant, "decision:"+hashToken(token)); ok {
			return DecisionReader{Name: name}, true
		}
	case strings.HasPrefix(token, "scimd_"+platformTokenKind+"_"):
		if ValidTenantID(tenant) {
			if name, ok := s.tokens.name(platformCache, "platform:"+hashToken(token)); ok {
				return DecisionReader{Name: name, Platform: true}, true
			}
		}
	}
	return DecisionReader{}, false
}

// authenticateDecisionToken looks the tenant's decision token of hash h up
// in the store and remembers it.
func (s *Service) authenticateDecisionToken(ctx context.Context, tenant, h string) (DecisionReader, error) {
	g := s.tokens.generation(tenant)
	name, err := s.store.DecisionTokenName(ctx, tenant, h)
	if errors.Is(err, storage.ErrNotFound) {
		return DecisionReader{}, errUnauthorized
	}
	if err != nil {
		return DecisionReader{}, fromStorage(err, "decision token")
	}
	s.tokens.remember(tenant, "decision:"+h, name, g)
	return DecisionReader{Name: name}, nil
}

// authenticatePlatformToken looks the platform decision token of hash h up
// in the store and remembers it.
func (s *Service) authenticatePlatformToken(ctx context.Context, h string) (DecisionReader, error) {
	g := s.tokens.generation(platformCache)
	name, err := s.store.PlatformDecisionTokenName(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		return DecisionReader{}, errUnauthorized
	}
	if err != nil {
		return DecisionReader{}, fromStorage(err, "decision token")
	}
	s.tokens.remember(platformCache, "platform:"+h, name, g)
	return DecisionReader{Name: name, Platform: true}, nil
}

// TokenName is a name tokens are issued under, and how many bear it.
type TokenName struct {
	Name   string
	Tokens int
}

func sortedNames(names map[string]int) []TokenName {
	out := make([]TokenName, 0, len(names))
	for n, c := range names {
		out = append(out, TokenName{Name: n, Tokens: c})
	}
	slices.SortFunc(out, func(a, b TokenName) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// CreateDecisionToken makes a decision token for the tenant under a name
// (the consumer's, for example "login-service") and returns it; it is shown
// once. Returns KindInvalid, KindNotFound, KindQuotaExceeded, KindAuditFull,
// KindUnavailable.
func (s *Service) CreateDecisionToken(ctx context.Context, tenant, name string, a Actor) (string, error) {
	if why := validTokenName(name); why != "" {
		return "", &Error{Kind: KindInvalid, Attribute: "name", Detail: why}
	}
	token := newToken(decisionTokenKind)
	ev := s.event(a, "decisionToken.create", "DecisionToken", name, nil)
	if err := s.store.PutDecisionToken(ctx, tenant, hashToken(token), name, ev.encode()); err != nil {
		return "", fromStorage(err, "tenant")
	}
	return token, nil
}

// DecisionTokens lists the names of the tenant's decision tokens, sorted
// (never the tokens, which are not kept). Returns KindNotFound, KindUnavailable.
func (s *Service) DecisionTokens(ctx context.Context, tenant string) ([]TokenName, error) {
	names, err := s.store.DecisionTokenNames(ctx, tenant)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	return sortedNames(names), nil
}

// RevokeDecisionTokens revokes every decision token of the tenant issued
// under name and returns how many; they stop working at once on every
// replica that hears of it, else within TokenCacheTTL.
// Returns KindNotFound (tenant, or no token of that name), KindAuditFull,
// KindUnavailable.
func (s *Service) RevokeDecisionTokens(ctx context.Context, tenant, name string, a Actor) (int, error) {
	ev := s.event(a, "decisionToken.revoke", "DecisionToken", name, nil)
	n, err := s.store.RevokeDecisionTokens(ctx, tenant, name, ev.encode())
	s.tokensChanged(ctx, tenant) // also when the outcome is unknown
	if err != nil {
		return 0, fromStorage(err, "decision tokens named "+strconv.Quote(name))
	}
	return int(n), nil
}

// CreatePlatformDecisionToken makes a platform decision token (the
// operator's: it reads every tenant's decisions) and returns it; it is
// shown once. There is no tenant audit log to record it in, so it is
// logged. Returns KindInvalid, KindQuotaExceeded, KindUnavailable.
func (s *Service) CreatePlatformDecisionToken(ctx context.Context, name string, a Actor) (string, error) {
	if why := validTokenName(name); why != "" {
		return "", &Error{Kind: KindInvalid, Attribute: "name", Detail: why}
	}
	token := newToken(platformTokenKind)
	if err := s.store.PutPlatformDecisionToken(ctx, hashToken(token), name); err != nil {
		return "", fromStorage(err, "platform decision tokens")
	}
	slog.Info("platform decision token created", "name", name, "ip", a.IP)
	return token, nil
}

// PlatformDecisionTokens lists the names of the platform decision tokens,
// sorted. Returns KindUnavailable.
func (s *Service) PlatformDecisionTokens(ctx context.Context) ([]TokenName, error) {
	names, err := s.store.PlatformDecisionTokenNames(ctx)
	if err != nil {
		return nil, fromStorage(err, "platform decision tokens")
	}
	return sortedNames(names), nil
}

// RevokePlatformDecisionTokens revokes every platform decision token named
// name and returns how many (logged, like their creation).
// Returns KindNotFound, KindUnavailable.
func (s *Service) RevokePlatformDecisionTokens(ctx context.Context, name string, a Actor) (int, error) {
	n, err := s.store.RevokePlatformDecisionTokens(ctx, name)
	s.tokensChanged(ctx, platformCache)
	if err != nil {
		return 0, fromStorage(err, "platform decision tokens named "+strconv.Quote(name))
	}
	slog.Info("platform decision tokens revoked", "name", name, "revoked", n, "ip", a.IP)
	return int(n), nil
}

// validTokenName is ValidAdminName's rule, in words for any token.
func validTokenName(name string) string {
	if name == "" {
		return "a token needs a name, such as the service that will use it"
	}
	return ValidAdminName(name)
}
