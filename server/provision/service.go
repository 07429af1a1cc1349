// Package provision holds the provisioning rules that the SCIM API and the
// admin API share: creating, changing and deleting users and groups, tenant
// management, license seats and audit events. It knows neither HTTP nor
// Redis: the edges call it, it calls storage.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/decisioncache"
	"github.com/scimd/scimd/storage"
)

// store is what the service needs from storage; declared here, where it is
// used, so tests can inject faults.
type store interface {
	CreateTenant(ctx context.Context, t storage.Tenant) error
	GetTenant(ctx context.Context, id string) (storage.Tenant, error)
	ListTenants(ctx context.Context) ([]storage.Tenant, error)
	UpdateTenant(ctx context.Context, prev, t storage.Tenant, audit []byte) error
	DeleteTenant(ctx context.Context, id string) error
	RecordLicenseRefusal(ctx context.Context, tenant string, at time.Time) error
	PutAdminToken(ctx context.Context, tenant, hash, name string, audit []byte) error
	AdminTokenName(ctx context.Context, tenant, hash string) (string, error)
	AdminTokenNames(ctx context.Context, tenant, firstName string) (map[string]int, error)
	RevokeAdminTokens(ctx context.Context, tenant, name, firstName string, audit []byte) (int64, error)
	AppendAudit(ctx context.Context, tenant string, event []byte) error
	ReadAudit(ctx context.Context, tenant, before string, count int) ([]storage.AuditEntry, error)
	ReadAccessLog(ctx context.Context, tenant, user, before string, count int) ([]storage.AccessLogEntry, string, error)
	SeatsUsed(ctx context.Context, tenant string) (int64, error)
	Usage(ctx context.Context, tenant string) (storage.Usage, error)
	EffectiveQuotas(t storage.Tenant) storage.Quotas

	CreateUser(ctx context.Context, tenant string, u storage.User, audit []byte) error
	CreateUserUnlinked(ctx context.Context, tenant string, u storage.User, audit []byte) (storage.Holders, error)
	GetUser(ctx context.Context, tenant, id string) (storage.User, error)
	GetUsers(ctx context.Context, tenant string, ids []string) ([]storage.User, error)
	UpdateUser(ctx context.Context, tenant string, prev, u storage.User, audit []byte) error
	DeleteUser(ctx context.Context, tenant, id string, audit []byte) error
	FindUsers(ctx context.Context, tenant string, by storage.UserIndex, value string) ([]string, error)
	FindAndGetUsers(ctx context.Context, tenant string, by storage.UserIndex, value string, limit int) ([]string, []storage.User, bool, error)
	UsersWithUserNamePrefix(ctx context.Context, tenant, prefix string, limit int) ([]string, error)
	PageUsers(ctx context.Context, tenant string, offset, count int) ([]string, int64, error)
	ScanUsers(ctx context.Context, tenant string, fn func([]storage.User) bool) error
	UserGroups(ctx context.Context, tenant, userID string) ([]string, error)
	UsersGroups(ctx context.Context, tenant string, userIDs []string) ([][]string, error)

	CreateGroup(ctx context.Context, tenant string, g storage.Group, members []string, audit []byte) error
	GetGroup(ctx context.Context, tenant, id string) (storage.Group, error)
	GetGroups(ctx context.Context, tenant string, ids []string) ([]storage.Group, error)
	UpdateGroup(ctx context.Context, tenant string, prev, g storage.Group, change storage.MemberChange, audit []byte) error
	DeleteGroup(ctx context.Context, tenant, id string, audit []byte) error
	DeleteGroupAt(ctx context.Context, tenant, id string, version int64, audit []byte) error
	FindGroups(ctx context.Context, tenant string, by storage.GroupIndex, value string) ([]string, error)
	PageGroups(ctx context.Context, tenant string, offset, count int) ([]string, int64, error)
	ScanGroups(ctx context.Context, tenant string, fn func([]storage.Group) bool) error
	GroupMembers(ctx context.Context, tenant, id string) ([]string, error)
	ChangeMembers(ctx context.Context, tenant, groupID string, add, remove []string, modified time.Time, audit []byte) (int64, error)

	PutAccount(ctx context.Context, tenant string, a storage.Account, audit []byte) (bool, error)
	AddSeatRequest(ctx context.Context, tenant string, r storage.SeatRequest, audit []byte) error
	SeatRequests(ctx context.Context, tenants []string) (map[string][]storage.SeatRequest, error)
	ListAccounts(ctx context.Context, tenant string) ([]storage.Account, error)
	DeleteAccount(ctx context.Context, tenant, id string, audit []byte) (int64, error)
	PutRole(ctx context.Context, tenant string, r storage.Role, audit []byte) (bool, error)
	ListRoles(ctx context.Context, tenant string) ([]storage.Role, error)
	PutGrants(ctx context.Context, tenant, groupID string, grants []storage.Grant, customLevels map[string]string, audit []byte) error
	DeleteRole(ctx context.Context, tenant, name string, audit []byte) error
	Grants(ctx context.Context, tenant string, groupIDs []string) (map[string][]storage.Grant, error)
	AccessState(ctx context.Context, tenant string) (storage.AccessState, error)

	RecordRefusal(ctx context.Context, tenant, group string, descriptor []byte, at time.Time, window time.Duration, audit []byte) (int64, error)
	Refusals(ctx context.Context, tenant string) ([]storage.RefusalGroup, error)
	FlushStatus(ctx context.Context, tenant string, d storage.StatusDelta, now time.Time, keep time.Duration) error
	Status(ctx context.Context, tenant string) (storage.StatusRecord, error)

	Ping(ctx context.Context) error
	PublishTokenChange(ctx context.Context, tenant string) error
	AllowRequest(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error)
	TakeScanRecords(ctx context.Context, tenant string, perSecond float64, burst, records int) (bool, time.Duration, error)
	AllowAdminWrite(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error)
	TakeConsoleSignInFailure(ctx context.Context, ip string, perSecond float64, burst, cost int) (bool, time.Duration, error)
	CountSignInFailure(ctx context.Context, tenant string, window time.Time, keep time.Duration, recorded int, audit, notice []byte) (int64, error)
	PutConsoleSession(ctx context.Context, tenant, idHash string, record []byte, ttl time.Duration) error
	ConsoleSession(ctx context.Context, tenant, idHash string) ([]byte, error)
	DeleteConsoleSession(ctx context.Context, tenant, idHash string) error
	WatchTokenChanges(ctx context.Context, changed func(tenant string), subscribed func()) (ready <-chan struct{})
	WatchAccessChanged(ctx context.Context, w storage.AccessWatcher, interval time.Duration) (ready <-chan struct{})

	decisionStore
}

// Actor says who made a change, for the audit stream.
type Actor struct {
	Source string // SourceSCIM or SourceAdmin
	// Operator says the operator token acted; User is then empty.
	Operator bool
	User     string // the acting admin token's name; empty for SCIM and the operator
	IP       string // the client address; empty for SCIM
	// Dropped lists the request's attributes the edge dropped (not in the
	// published schemas, or never stored, like password), for the audit event.
	Dropped []string
}

// SCIM is the actor of every SCIM request: the identity provider's calls
// carry neither a user nor a meaningful source address.
var SCIM = Actor{Source: "scim"}

// Options tune a Service.
type Options struct {
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// TokenCacheTTL is how long a successful token check is remembered in
	// process; a revoked token keeps working at most this long. 0 means 5s.
	TokenCacheTTL time.Duration
	// WriteRetries bounds compare-and-set retries of one PATCH or settings
	// change. 0 means 8.
	WriteRetries int
	// Metrics counts store outages, license refusals and audit events, and
	// times policy decisions; nil counts nothing.
	Metrics Metrics
	// RefusalWindow groups refused SCIM writes: within it, only the first
	// refusal of an identifier and reason is an audit event. 0 means 1h.
	RefusalWindow time.Duration
	// AccessChanged is called, without blocking, after every write that
	// can change someone's effective access (the access resolver's
	// Notify); nil calls nothing.
	AccessChanged func(tenant string)
	// DecisionCache caps the bytes of stored decisions kept in process
	// for decision reads by id (see WatchAccessChanged); 0 keeps none.
	DecisionCache int64
}

// Service implements the provisioning use cases over a store.
type Service struct {
	store   store
	policy  policy
	now     func() time.Time
	tokens  *tokenCache
	status  *statusCounter
	full    *fullWatch
	opts    Options
	metrics Metrics
	decide  Resolver // decides missing decisions on read (SetResolver); nil: none
	// decisions are recently read decisions, used once WatchAccessChanged
	// hears the replicas' writes.
	decisions *decisioncache.Cache[Decision]
}

// New returns a Service over st that asks pol for every decision.
func New(st *storage.Store, pol *policies.Engine, opts Options) *Service {
	return newService(st, pol, opts)
}

func newService(st store, pol policy, opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.TokenCacheTTL <= 0 {
		opts.TokenCacheTTL = 5 * time.Second
	}
	if opts.WriteRetries <= 0 {
		opts.WriteRetries = 8
	}
	if opts.RefusalWindow <= 0 {
		opts.RefusalWindow = time.Hour
	}
	m := opts.Metrics
	if m == nil {
		m = nopMetrics{}
	}
	full := &fullWatch{now: opts.Clock}
	// The store is always wrapped: it also watches for writes refused for
	// want of memory, which readiness reports.
	st, pol = meteredStore{st, m, full}, meteredPolicy{pol, m}
	if opts.AccessChanged != nil {
		st = notifyingStore{st, opts.AccessChanged}
	}
	return &Service{store: st, policy: pol, now: opts.Clock, tokens: newTokenCache(opts.TokenCacheTTL, opts.Clock), status: newStatusCounter(), full: full, opts: opts, metrics: m,
		decisions: decisioncache.New[Decision](decisioncache.Options{Bytes: opts.DecisionCache})}
}

// Ready reports whether the store answers. Returns KindUnavailable.
func (s *Service) Ready(ctx context.Context) error {
	return fromStorage(s.store.Ping(ctx), "store")
}

// StoreFull reports whether Redis refused a write for want of memory in the
// last minute, with no write landing since: the store answers reads, so the
// instance stays ready (taking every replica out of the load balancer would
// also stop the reads and deletes that free space), and says so.
func (s *Service) StoreFull() bool { return s.full.full() }

// newID returns a random 128-bit identifier in hex; ids are opaque to clients.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("provision: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
