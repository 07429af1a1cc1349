// Package storage keeps every piece of scimd's state in Redis: tenants, users,
// groups, member sets, license seats and the audit stream. Each multi-key
// change is one Lua script over keys that share the tenant's hash tag, so it
// is atomic on a single server and legal on Redis Cluster.
//
// Times (Created, Modified) are stored as Unix nanoseconds: they come back
// equal to what was stored, to the nanosecond, in UTC. Audit entry times are
// the stream id's millisecond. keys.go lists every key; lua/ holds the
// scripts, each with its KEYS, ARGV and replies in its header.
package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors. The service maps them to its own error kinds; callers test
// them with errors.Is (or errors.As for *UniquenessError).
var (
	// ErrNotFound: the tenant, user or group does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrExists: a tenant with that id exists already.
	ErrExists = errors.New("storage: already exists")
	// ErrVersionConflict: the record changed since it was read (compare-and-set lost).
	ErrVersionConflict = errors.New("storage: version conflict")
	// ErrLicenseExhausted: taking a seat would pass the tenant's license limit.
	ErrLicenseExhausted = errors.New("storage: license limit reached")
	// ErrMemberNotFound: a group member id names no user of the tenant.
	ErrMemberNotFound = errors.New("storage: member not found")
	// ErrUnavailable wraps every failure to reach Redis (connection, timeout,
	// unexpected reply), so the service can answer 503 without leaking text.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrStoreFull: Redis refused a write because it reached maxmemory
	// (with noeviction, as it must run). Nothing was written; reads still
	// work. It is also ErrUnavailable.
	ErrStoreFull = errors.New("storage: store full")
	// ErrNotReplicated: with Options.WaitReplicas, fewer replicas than asked
	// confirmed a write in time. It is also ErrUnavailable; the write may
	// have landed on the master.
	ErrNotReplicated = errors.New("storage: write not confirmed by enough replicas")
	// ErrManualGroup: ChangeMembers met a group managed in the app; nothing
	// was written.
	ErrManualGroup = errors.New("storage: group is managed in the app")
	// ErrMayLink: CreateUserUnlinked met an identifier another user holds;
	// nothing was written.
	ErrMayLink = errors.New("storage: an identifier is held: decide linking first")
)

// UniquenessError reports which attribute's value is held by another record.
// errors.Is(err, ErrUniqueness) is true for it.
type UniquenessError struct {
	Attribute string // "userName", "externalId" or "displayName"
	HolderID  string // the id of the record that holds the value
}

// ErrUniqueness is the target for errors.Is on a *UniquenessError.
var ErrUniqueness = errors.New("storage: value not unique")

func (e *UniquenessError) Error() string {
	return fmt.Sprintf("storage: %s is held by %s", e.Attribute, e.HolderID)
}

// Is makes errors.Is(err, ErrUniqueness) work.
func (e *UniquenessError) Is(target error) bool { return target == ErrUniqueness }

// LicenseError reports a refused seat with the counters at the time.
// errors.Is(err, ErrLicenseExhausted) is true for it.
type LicenseError struct {
	Limit int64
	Used  int64
}

func (e *LicenseError) Error() string {
	return fmt.Sprintf("storage: license limit %d reached (%d seats in use)", e.Limit, e.Used)
}

// Is makes errors.Is(err, ErrLicenseExhausted) work.
func (e *LicenseError) Is(target error) bool { return target == ErrLicenseExhausted }

// Options tune a Store.
type Options struct {
	// AuditMaxLen bounds each tenant's audit stream: the oldest events
	// beyond it are trimmed, unless younger than AuditMinAge. 0 means 100000.
	AuditMaxLen int64
	// AuditMinAge is how long an event is kept whatever AuditMaxLen says:
	// an append that would trim a younger one is refused (AuditFullError).
	// 0 means no minimum.
	AuditMinAge time.Duration
	// Clock returns the current time (for AuditMinAge); nil means time.Now.
	Clock func() time.Time
	// ScanBatch is how many records one batch of a scan loads. 0 means 500.
	ScanBatch int
	// WaitReplicas, when above 0, makes every write script wait (Redis
	// WAIT, on the same connection, in the same round trip) until that many
	// replicas have it, and reports a write fewer confirmed within
	// WaitTimeout as ErrUnavailable. Replication is asynchronous: without
	// this, a write the master acknowledged just before a failover is lost
	// with it.
	WaitReplicas int
	// WaitTimeout bounds that wait. 0 means 1s; keep it below the client's
	// read timeout.
	WaitTimeout time.Duration
	// BuiltinRoles names the policies' built-in roles, for Check to flag a
	// custom role named like one but for case.
	BuiltinRoles []string
	// Quotas are the quotas of tenants that set none; a zero field means
	// DefaultQuotas'.
	Quotas Quotas
	// FeedMaxLen bounds each tenant's access change feed: older entries
	// are trimmed. 0 means 100000.
	FeedMaxLen int64
	// FeedMaxAge is how long a feed entry is kept at most. 0 means 7 days.
	FeedMaxAge time.Duration
	// AccessLogMaxLen bounds each tenant's re-resolution log (entries
	// beyond it are trimmed, oldest first). 0 means 1000.
	AccessLogMaxLen int64
	// PolicyKeyTag is the hash tag of the policy rollout's global keys
	// ({policy}:replicas, {policy}:active); empty means "policy". Replicas
	// that roll out together share it.
	PolicyKeyTag string
}

// Store is the Redis-backed state of all tenants. It is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
}

// New returns a Store over rdb (a single server, Sentinel or Cluster client).
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.AuditMaxLen <= 0 {
		opts.AuditMaxLen = 100000
	}
	if opts.ScanBatch <= 0 {
		opts.ScanBatch = 500
	}
	if opts.FeedMaxLen <= 0 {
		opts.FeedMaxLen = 100000
	}
	if opts.FeedMaxAge <= 0 {
		opts.FeedMaxAge = 7 * 24 * time.Hour
	}
	if opts.AccessLogMaxLen <= 0 {
		opts.AccessLogMaxLen = 1000
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = time.Second
	}
	opts.Quotas = opts.Quotas.or(DefaultQuotas)
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Store{rdb: rdb, opts: opts}
}

// Tenant is one customer organisation. Token fields hold hashes, never tokens.
type Tenant struct {
	ID             string
	Name           string
	LicenseLimit   int64
	Mode           string // "idp" or "manual"
	Created        time.Time
	SCIMTokenHash  string
	AdminTokenHash string
	// AdminName names the admin token made with the tenant, for the audit log.
	AdminName string
	// MatchBy lists the identifiers ("userName", "email", "employeeNumber")
	// by which a SCIM create links an existing manual user, in order: nil
	// is unset (the service's default), empty links on nothing.
	MatchBy []string
	// UnmatchedUsers says what finalizing a migration does to manual users
	// no SCIM create linked: "keep" or "deactivate".
	UnmatchedUsers string
	// Quotas overrides the operator's default quotas; a zero field is the
	// default (Store.EffectiveQuotas fills them in).
	Quotas Quotas

	// LicenseRefusals and LastLicenseRefusal are read-only here: only
	// RecordLicenseRefusal changes them.
	LicenseRefusals    int64
	LastLicenseRefusal time.Time
}

// User is a stored SCIM user. The indexed fields are copies of values inside
// Doc, extracted by the caller, so that the scripts can maintain the indexes
// without parsing JSON.
type User struct {
	ID        string
	Version   int64 // starts at 1, +1 on every write
	Created   time.Time
	Modified  time.Time
	ManagedBy string // "scim" or "manual"
	Active    bool

	UserName       string // unique, compared case-insensitively
	ExternalID     string // not unique, looked up exactly; "" is not indexed
	WorkEmail      string // not unique, looked up case-insensitively
	EmployeeNumber string // not unique, looked up exactly

	Doc []byte // the SCIM attributes as JSON (no id, meta or groups)
}

// Group is a stored SCIM group; its members live in a set of their own.
type Group struct {
	ID       string
	Version  int64
	Created  time.Time
	Modified time.Time

	DisplayName string // unique, compared case-insensitively
	ExternalID  string // not unique
	// ManagedBy is "scim" or "manual" (made in the app); records written
	// before groups could be made in the app have none, which means "scim".
	ManagedBy string

	Doc []byte // the SCIM attributes as JSON (no id, meta or members)
}

// UserIndex names a user attribute that has an index behind it.
type UserIndex int

// The user indexes.
const (
	UserByUserName       UserIndex = iota + 1 // case-insensitive
	UserByExternalID                          // exact
	UserByWorkEmail                           // case-insensitive
	UserByEmployeeNumber                      // exact
)

// GroupIndex names a group attribute that has an index behind it.
type GroupIndex int

// The group indexes.
const (
	GroupByDisplayName GroupIndex = iota + 1 // case-insensitive
	GroupByExternalID                        // exact
)

// MemberChange is a change to one group's member set, as the net effect of a
// PATCH: Replace drops every current member first, then Add and Remove apply.
type MemberChange struct {
	Replace bool
	Add     []string
	Remove  []string
}

// Ping checks that Redis answers; on a cluster, that some master does.
// Returns ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		// A cluster's PING reaches one random node, so one master down
		// would make readiness flap. Every master is asked instead, and
		// only all of them down makes this instance unready: a master
		// down affects its tenants on every instance alike (their
		// requests answer 503), and taking every instance out of the
		// load balancer would take the other tenants down with them.
		var (
			mu       sync.Mutex
			answered int
		)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			if err := c.Ping(ctx).Err(); err != nil {
				return nil // counted by its absence
			}
			mu.Lock()
			answered++
			mu.Unlock()
			return nil
		})
		if err == nil && answered == 0 {
			err = errors.New("no cluster master answers")
		}
		if err != nil {
			return unavailable("ping", err)
		}
		return nil
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}
