package provision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/scimd/scimd/storage"
)

// Tenant is a tenant as the edges show it; token hashes stay inside.
type Tenant struct {
	ID           string
	Name         string
	LicenseLimit int64
	SeatsUsed    int64
	Mode         string
	Created      time.Time
	// MatchBy lists the identifiers a SCIM create links manual users by, in order.
	MatchBy []string
	// UnmatchedUsers is what finalizing does to unlinked manual users.
	UnmatchedUsers string
	// LicenseRefusals counts refused seats; LastLicenseRefusal is the latest.
	LicenseRefusals    int64
	LastLicenseRefusal time.Time
	// Quotas are the tenant's quotas in force; QuotasSet the ones the
	// operator set for it (zero fields: the default applies).
	Quotas, QuotasSet Quotas
	// Users and Groups count what the tenant holds (-1 when not read).
	Users, Groups int64
}

// Quotas bound what a tenant may store: users (inactive ones included),
// groups, and members of one group.
type Quotas = storage.Quotas

// The identifiers linking can match on, and the default order.
const (
	MatchUserName       = "userName"
	MatchEmail          = "email"
	MatchEmployeeNumber = "employeeNumber"
)

// DefaultMatchBy is the matching order of a new tenant.
var DefaultMatchBy = []string{MatchUserName, MatchEmail, MatchEmployeeNumber}

// NewTenant is the input of CreateTenant.
type NewTenant struct {
	ID           string
	Name         string
	LicenseLimit *int64
	// AdminName names the first admin token in the audit log; empty means "tenant-admin".
	AdminName string
}

// TenantCredentials are the tokens of a new tenant, shown once.
type TenantCredentials struct {
	SCIMToken  string
	AdminToken string
}

// ValidTenantID tells whether id can name a tenant: lower-case letters,
// digits and dashes, 1 to 63 characters, no dash at either end (the
// language of ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$, checked by hand: it
// runs on most requests, and a regexp match costs several times this loop).
func ValidTenantID(id string) bool {
	if len(id) == 0 || len(id) > 63 || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CreateTenant creates a tenant with fresh tokens.
// Returns KindInvalid, KindUniqueness (id taken), KindUnavailable.
func (s *Service) CreateTenant(ctx context.Context, in NewTenant) (Tenant, TenantCredentials, error) {
	switch {
	case !ValidTenantID(in.ID):
		return Tenant{}, TenantCredentials{}, &Error{Kind: KindInvalid, Attribute: "id",
			Detail: "id must be 1-63 lower-case letters, digits or dashes, not starting or ending with a dash"}
	case strings.TrimSpace(in.Name) == "":
		return Tenant{}, TenantCredentials{}, &Error{Kind: KindInvalid, Attribute: "name", Detail: "name is required"}
	case in.LicenseLimit == nil:
		return Tenant{}, TenantCredentials{}, &Error{Kind: KindInvalid, Attribute: "licenseLimit", Detail: "licenseLimit is required"}
	case *in.LicenseLimit < 0:
		return Tenant{}, TenantCredentials{}, &Error{Kind: KindInvalid, Attribute: "licenseLimit", Detail: "licenseLimit must not be negative"}
	}
	creds := TenantCredentials{SCIMToken: newToken("scim"), AdminToken: newToken("adm")}
	if in.AdminName == "" {
		in.AdminName = firstAdminName
	} else if why := ValidAdminName(in.AdminName); why != "" {
		return Tenant{}, TenantCredentials{}, &Error{Kind: KindInvalid, Attribute: "adminName", Detail: "adminName: " + why}
	}
	t := storage.Tenant{
		AdminName:      in.AdminName,
		MatchBy:        DefaultMatchBy,
		UnmatchedUsers: "keep",
		ID:             in.ID,
		Name:           strings.TrimSpace(in.Name),
		LicenseLimit:   *in.LicenseLimit,
		Mode:           "idp",
		Created:        s.now().UTC(),
		SCIMTokenHash:  hashToken(creds.SCIMToken),
		AdminTokenHash: hashToken(creds.AdminToken),
	}
	if err := s.store.CreateTenant(ctx, t); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return Tenant{}, TenantCredentials{}, &Error{Kind: KindUniqueness, Attribute: "id", Detail: "a tenant with this id exists already", cause: err}
		}
		return Tenant{}, TenantCredentials{}, fromStorage(err, "tenant")
	}
	return s.tenantView(t, 0), creds, nil
}

// GetTenant returns a tenant with its seat count. Returns KindNotFound, KindUnavailable.
func (s *Service) GetTenant(ctx context.Context, id string) (Tenant, error) {
	t, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return Tenant{}, fromStorage(err, "tenant")
	}
	u, err := s.store.Usage(ctx, id)
	if err != nil {
		return Tenant{}, fromStorage(err, "tenant")
	}
	v := s.tenantView(t, u.Seats)
	v.Users, v.Groups = u.Users, u.Groups
	return v, nil
}

// TenantExists answers nil when the tenant exists.
// Returns KindNotFound, KindUnavailable.
func (s *Service) TenantExists(ctx context.Context, id string) error {
	if !ValidTenantID(id) {
		return &Error{Kind: KindNotFound, Detail: "tenant not found"}
	}
	_, err := s.store.GetTenant(ctx, id)
	return fromStorage(err, "tenant")
}

// ListTenants returns every tenant, oldest first. Returns KindUnavailable.
func (s *Service) ListTenants(ctx context.Context) ([]Tenant, error) {
	ts, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	out := make([]Tenant, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.tenantView(t, -1))
	}
	return out, nil
}

// DeleteTenant removes a tenant and all its data. Returns KindNotFound, KindUnavailable.
func (s *Service) DeleteTenant(ctx context.Context, id string) error {
	err := s.store.DeleteTenant(ctx, id)
	// Also when it failed part-way (the settings go first): forgetting is
	// always safe.
	s.tokensChanged(ctx, id)
	return fromStorage(err, "tenant")
}

// RotateSCIMToken gives the tenant a new SCIM token and returns it; it is
// shown once, and the old one stops working at once, on every replica that
// hears of it (WatchTokenChanges), else within TokenCacheTTL.
// Returns KindNotFound, KindConflict, KindUnavailable.
func (s *Service) RotateSCIMToken(ctx context.Context, tenant string, a Actor) (string, error) {
	token := newToken("scim")
	err := s.writeTenant(ctx, tenant, a, "tenant.scimToken.rotate", func(t *storage.Tenant) ([]Change, error) {
		t.SCIMTokenHash = hashToken(token)
		// The audit event says that it changed, never to what.
		return []Change{{Attribute: "scimToken", New: "rotated"}}, nil
	})
	// Also when the outcome is unknown (the write may have landed):
	// forgetting is always safe.
	s.tokensChanged(ctx, tenant)
	if err != nil {
		return "", err
	}
	return token, nil
}

// WatchTokenChanges makes this service forget cached token checks of the
// tenants whose tokens change through any replica, until ctx ends; it is
// listening once ready is closed.
func (s *Service) WatchTokenChanges(ctx context.Context) (ready <-chan struct{}) {
	return s.store.WatchTokenChanges(ctx, s.tokens.forgetTenant, s.tokens.forgetAll)
}

// tokensChanged forgets the tenant's cached token checks here and tells the
// other replicas. Telling them is best effort: their entries expire within
// TokenCacheTTL anyway.
func (s *Service) tokensChanged(ctx context.Context, tenant string) {
	s.tokens.forgetTenant(tenant)
	_ = s.store.PublishTokenChange(ctx, tenant)
}

// AuthenticateSCIM checks a bearer token against the tenant's SCIM token.
// Returns KindUnauthorized (also for an unknown tenant, so that a caller
// learns nothing about other tenants), KindUnavailable.
func (s *Service) AuthenticateSCIM(ctx context.Context, tenant, token string) error {
	return s.authenticate(ctx, tenant, "scim", token, func(t storage.Tenant) string { return t.SCIMTokenHash })
}

// AuthenticateAdmin checks a bearer token against the tenant's admin tokens
// and returns the token's name, the acting user of the audit log.
// Returns KindUnauthorized, KindUnavailable.
func (s *Service) AuthenticateAdmin(ctx context.Context, tenant, token string) (string, error) {
	if token == "" {
		return "", errUnauthorized
	}
	return s.adminTokenName(ctx, tenant, hashToken(token))
}

// adminTokenName is AuthenticateAdmin by the token's hash, which is what a
// console session keeps: checked through the same cache, a session ends
// when its token is revoked. Returns KindUnauthorized, KindUnavailable.
func (s *Service) adminTokenName(ctx context.Context, tenant, h string) (string, error) {
	if !ValidTenantID(tenant) {
		return "", errUnauthorized
	}
	if name, ok := s.tokens.name(tenant, "admin:"+h); ok {
		return name, nil
	}
	g := s.tokens.generation(tenant)
	name, err := s.store.AdminTokenName(ctx, tenant, h)
	if errors.Is(err, storage.ErrNotFound) {
		// The first admin token lives in the tenant's settings.
		var t storage.Tenant
		t, err = s.store.GetTenant(ctx, tenant)
		if errors.Is(err, storage.ErrNotFound) || err == nil && (t.AdminTokenHash == "" || subtle.ConstantTimeCompare([]byte(t.AdminTokenHash), []byte(h)) != 1) {
			return "", errUnauthorized
		}
		name = t.AdminName
		if name == "" {
			name = firstAdminName
		}
	}
	if err != nil {
		return "", fromStorage(err, "tenant")
	}
	s.tokens.remember(tenant, "admin:"+h, name, g)
	return name, nil
}

// CreateAdminToken makes a new admin token for the tenant under a name (for
// example the admin's email) and returns it; it is shown once.
// Returns KindInvalid, KindNotFound, KindUnavailable.
func (s *Service) CreateAdminToken(ctx context.Context, tenant, name string, a Actor) (string, error) {
	if why := ValidAdminName(name); why != "" {
		return "", &Error{Kind: KindInvalid, Attribute: "name", Detail: why}
	}
	token := newToken("adm")
	ev := s.event(a, "adminToken.create", "AdminToken", name, nil)
	if err := s.store.PutAdminToken(ctx, tenant, hashToken(token), name, ev.encode()); err != nil {
		return "", fromStorage(err, "tenant")
	}
	return token, nil
}

// firstAdminName names a tenant's first admin token when the tenant was
// made without an adminName.
const firstAdminName = "tenant-admin"

// AdminTokenName is one name admin tokens are issued under, and how many.
// Warning says why the name would not be accepted today (a token made by an
// older scimd under a reserved name, or one with control characters), so
// that the admin revokes it and mints one under another name; its events
// still show it as an admin, never as what its name spells.
type AdminTokenName struct {
	Name    string
	Tokens  int
	Warning string
}

// AdminTokens lists the names of the tenant's admin tokens, sorted (never
// the tokens, which are not kept). Returns KindNotFound, KindUnavailable.
func (s *Service) AdminTokens(ctx context.Context, tenant string) ([]AdminTokenName, error) {
	names, err := s.store.AdminTokenNames(ctx, tenant, firstAdminName)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	out := make([]AdminTokenName, 0, len(names))
	for n, count := range names {
		var warn string
		if why := ValidAdminName(n); why != "" {
			warn = "this name is no longer accepted (" + why + "): revoke these tokens and make new ones under another name"
		}
		out = append(out, AdminTokenName{Name: n, Tokens: count, Warning: warn})
	}
	slices.SortFunc(out, func(a, b AdminTokenName) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// RevokeAdminTokens revokes every admin token issued under name (the
// tenant's first token included) and returns how many; they stop working
// at once on every replica that hears of it, else within TokenCacheTTL.
// The operator token is never one of them, so a tenant left without admin
// tokens can be given a new one by the operator.
// Returns KindNotFound (tenant, or no token of that name), KindUnavailable.
func (s *Service) RevokeAdminTokens(ctx context.Context, tenant, name string, a Actor) (int, error) {
	ev := s.event(a, "adminToken.revoke", "AdminToken", name, nil)
	n, err := s.store.RevokeAdminTokens(ctx, tenant, name, firstAdminName, ev.encode())
	s.tokensChanged(ctx, tenant) // also when the outcome is unknown
	if err != nil {
		return 0, fromStorage(err, "admin tokens named "+strconv.Quote(name))
	}
	return int(n), nil
}

// TakeScanRecords takes records from the tenant's scan budget shared by
// every replica (perSecond a second, burst at once), or says how long until
// they are there. Returns KindUnavailable when Redis cannot be asked: the
// caller then decides with a budget of its own.
func (s *Service) TakeScanRecords(ctx context.Context, tenant string, perSecond float64, burst, records int) (bool, time.Duration, error) {
	ok, wait, err := s.store.TakeScanRecords(ctx, tenant, perSecond, burst, records)
	if err != nil {
		return false, 0, fromStorage(err, "scan budget")
	}
	return ok, wait, nil
}

// AllowRequest takes one of the tenant's requests from a bucket shared by
// every replica (perSecond a second, burst at once), or says how long until
// one is free. Returns KindUnavailable when Redis cannot be asked: the
// caller then decides with a limit of its own rather than letting every
// request through to a struggling Redis.
func (s *Service) AllowRequest(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error) {
	ok, wait, err := s.store.AllowRequest(ctx, tenant, perSecond, burst)
	if err != nil {
		return false, 0, fromStorage(err, "rate limit")
	}
	return ok, wait, nil
}

// AllowAdminWrite takes one of the tenant's admin writes from a bucket
// shared by every replica (perSecond a second, burst at once), or says how
// long until one is free. Returns KindUnavailable.
func (s *Service) AllowAdminWrite(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error) {
	ok, wait, err := s.store.AllowAdminWrite(ctx, tenant, perSecond, burst)
	if err != nil {
		return false, 0, fromStorage(err, "admin rate limit")
	}
	return ok, wait, nil
}

// authenticate checks token against the kind of token want selects. The
// cache key holds the kind, so that a token checked as one kind is never
// taken for another.
func (s *Service) authenticate(ctx context.Context, tenant, kind, token string, want func(storage.Tenant) string) error {
	if token == "" || !ValidTenantID(tenant) {
		return errUnauthorized
	}
	if s.tokens.validRaw(tenant, kind, token) {
		return nil
	}
	h := kind + ":" + hashToken(token)
	g := s.tokens.generation(tenant)
	if expires, ok := s.tokens.validUntil(tenant, h); ok {
		// Known only until the store's last check expires: a fresh TTL
		// here would keep a rotated-away token working on a replica that
		// missed the notice for up to twice the TTL.
		s.tokens.rememberRaw(tenant, kind, token, g, expires)
		return nil
	}
	t, err := s.store.GetTenant(ctx, tenant)
	if errors.Is(err, storage.ErrNotFound) {
		return errUnauthorized
	}
	if err != nil {
		return fromStorage(err, "tenant")
	}
	stored := want(t)
	if stored == "" || subtle.ConstantTimeCompare([]byte(stored), []byte(hashToken(token))) != 1 {
		return errWrongToken
	}
	s.tokens.remember(tenant, h, "", g)
	s.tokens.rememberRaw(tenant, kind, token, g, s.tokens.fresh())
	return nil
}

var errUnauthorized = &Error{Kind: KindUnauthorized, Detail: "a valid bearer token for this tenant is required"}

// ErrWrongToken is the cause of an unauthorized answer for a tenant that
// exists: the token is not its (errors.Is tells it from a tenant that does
// not exist, whose requests nobody's status counts).
var ErrWrongToken = errors.New("provision: the token is not the tenant's")

var errWrongToken = &Error{Kind: KindUnauthorized, Detail: errUnauthorized.Detail, cause: ErrWrongToken}

func (s *Service) tenantView(t storage.Tenant, used int64) Tenant {
	return Tenant{ID: t.ID, Name: t.Name, LicenseLimit: t.LicenseLimit, SeatsUsed: used, Mode: t.Mode, Created: t.Created,
		MatchBy: t.MatchBy, UnmatchedUsers: t.UnmatchedUsers, LicenseRefusals: t.LicenseRefusals, LastLicenseRefusal: t.LastLicenseRefusal,
		Quotas: s.store.EffectiveQuotas(t), QuotasSet: t.Quotas, Users: -1, Groups: -1}
}

// newToken returns 256 random bits, prefixed so that a leaked token can be
// recognised by secret scanners.
func newToken(kind string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("provision: no randomness: " + err.Error())
	}
	return "scimd_" + kind + "_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is SHA-256: tokens carry 256 random bits, so a slow hash adds nothing.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenCache remembers successful token checks for a short time so that a
// request does not pay a Redis round trip for authentication.
//
// A check reads the tenant, then remembers; a token change landing in
// between must not be undone by that late remember. So each tenant has a
// generation, bumped when its entries are forgotten, and a check remembers
// only if the generation it saw before reading is still current.
//
// In front of it, for a kind of token of which a tenant has one (its SCIM
// token), raw remembers the token itself: a request whose token is the
// tenant's last good one is known by a constant-time comparison, without
// hashing it (SHA-256, its hex and two keys made of it were about 6% of a
// SCIM request). The token is kept in this process's memory only, for the
// same TTL, and forgotten with the tenant's other entries; a token that
// differs goes on to the hash and the store as before.
type tokenCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedToken
	raw map[rawTokenKey]rawToken
	gen map[string]uint64 // by tenant; bumped by forgetTenant
	all uint64            // bumped by forgetAll
}

type rawTokenKey struct{ tenant, kind string }

type rawToken struct {
	expires time.Time
	token   []byte
}

type cachedToken struct {
	expires time.Time
	name    string
}

func newTokenCache(ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{ttl: ttl, now: now, m: make(map[string]cachedToken), raw: make(map[rawTokenKey]rawToken), gen: make(map[string]uint64)}
}

// validRaw tells whether token is the tenant's last good token of this
// kind, remembered by rememberRaw within the TTL.
func (c *tokenCache) validRaw(tenant, kind, token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.raw[rawTokenKey{tenant, kind}]
	// Read in place: the comparison neither keeps nor changes it.
	given := unsafe.Slice(unsafe.StringData(token), len(token))
	return ok && c.now().Before(e.expires) && subtle.ConstantTimeCompare(e.token, given) == 1
}

// rememberRaw keeps token as the tenant's good token of this kind until
// expires, checked at generation g, unless the tenant's tokens changed since.
func (c *tokenCache) rememberRaw(tenant, kind, token string, g generation, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (generation{c.gen[tenant], c.all}) != g {
		return
	}
	// One entry per tenant and kind, only for tokens that were valid:
	// bounded by the tenants there are.
	c.raw[rawTokenKey{strings.Clone(tenant), kind}] = rawToken{expires: expires, token: []byte(token)}
}

// generation is what a check must see unchanged to remember its result.
type generation struct{ tenant, all uint64 }

func (c *tokenCache) generation(tenant string) generation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return generation{c.gen[tenant], c.all}
}

// fresh is the expiry of a check the store has just answered.
func (c *tokenCache) fresh() time.Time { return c.now().Add(c.ttl) }

// validUntil tells whether the token hashed as hash was found good within
// the TTL, and until when that holds.
func (c *tokenCache) validUntil(tenant, hash string) (time.Time, bool) {
	e, ok := c.lookup(tenant, hash)
	return e.expires, ok
}

func (c *tokenCache) name(tenant, hash string) (string, bool) {
	e, ok := c.lookup(tenant, hash)
	return e.name, ok
}

func (c *tokenCache) lookup(tenant, hash string) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tenant+"\x00"+hash]
	if ok && c.now().Before(e.expires) {
		return e, true
	}
	if ok {
		delete(c.m, tenant+"\x00"+hash)
	}
	return cachedToken{}, false
}

// remember keeps a successful check made at generation g, unless the
// tenant's tokens changed since.
func (c *tokenCache) remember(tenant, hash, name string, g generation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (generation{c.gen[tenant], c.all}) != g {
		return
	}
	// Only valid tokens enter, so the map is bounded by tenants x tokens;
	// sweep expired entries when it grows, to keep it so.
	if len(c.m) > 4096 {
		now := c.now()
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
	}
	c.m[tenant+"\x00"+hash] = cachedToken{expires: c.fresh(), name: name}
}

func (c *tokenCache) forgetTenant(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[tenant]++
	for k := range c.raw {
		if k.tenant == tenant {
			delete(c.raw, k)
		}
	}
	for k := range c.m {
		if strings.HasPrefix(k, tenant+"\x00") {
			delete(c.m, k)
		}
	}
}

// forgetAll drops every entry: after a lost subscription, a change may
// have been missed.
func (c *tokenCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all++
	clear(c.m)
	clear(c.raw)
}
