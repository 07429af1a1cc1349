package provision

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// Metrics receives the service's counts and timings. The server implements
// it with Prometheus, which the service does not import; a nil Metrics in
// Options counts nothing.
type Metrics interface {
	// RedisError counts a store call that answered storage.ErrUnavailable.
	RedisError()
	// WriteNotReplicated counts a write fewer replicas confirmed than
	// --redis-wait-replicas asks (storage.ErrNotReplicated, also a RedisError).
	WriteNotReplicated()
	// StoreFull counts a write Redis refused for want of memory
	// (storage.ErrStoreFull, also a RedisError).
	StoreFull()
	// LicenseRefused counts a create or reactivation refused for want of a seat.
	LicenseRefused()
	// AuditEvent counts a change written together with its audit event.
	AuditEvent()
	// AuditFull counts a write refused because recording it would drop audit
	// events younger than the minimum age (storage.AuditFullError).
	AuditFull()
	// ConsoleSignIn counts a console sign-in by who ("tenant" or
	// "operator") and outcome ("ok", "failed", or "throttled": refused by
	// the per-address limit before the token was checked).
	ConsoleSignIn(who, outcome string)
	// SignInFailureUnrecorded counts a tenant's failed sign-in that its
	// audit log does not record: past SessionLimits.AuditedFailures in the
	// hour and the notice that says so.
	SignInFailureUnrecorded()
	// PolicyEvaluated records how long one policy decision took; decision is
	// "roles", "scores" or "locks", as `scimd policy explain --decision` names them.
	PolicyEvaluated(decision string, d time.Duration)
}

// meteredStore counts what the service sees from its store. Wrapping the
// store keeps the counting out of the use cases: every store call is seen,
// whichever method makes it. A store method added later is forwarded by the
// embedded interface, uncounted until it gets a wrapper here.
type meteredStore struct {
	store
	m    Metrics
	full *fullWatch
}

// seen counts err if it is an outage and passes it through.
func (s meteredStore) seen(err error) error {
	if err == nil {
		return nil // before full below, which escapes: an allocation per call
	}
	if errors.Is(err, storage.ErrUnavailable) {
		s.m.RedisError()
	}
	if errors.Is(err, storage.ErrNotReplicated) {
		s.m.WriteNotReplicated()
	}
	if errors.Is(err, storage.ErrStoreFull) {
		s.m.StoreFull()
		s.full.refused()
	}
	var full *storage.AuditFullError
	if errors.As(err, &full) {
		s.m.AuditFull()
	}
	return err
}

// wrote counts the audit event of a successful write; an empty audit
// means the write carried none.
func (s meteredStore) wrote(err error, audit []byte) error {
	if err == nil {
		s.full.wrote()
		if len(audit) > 0 {
			s.m.AuditEvent()
		}
	}
	return s.seen(err)
}

// fullWatch remembers when Redis last refused a write for want of memory,
// for readiness to say so; a write that lands since clears it.
type fullWatch struct {
	now  func() time.Time
	last atomic.Int64 // Unix nanoseconds; 0 = none since the last write
}

// fullFor is how long a refusal keeps readiness saying "store full" when
// no write is tried since.
const fullFor = time.Minute

func (f *fullWatch) refused() { f.last.Store(f.now().UnixNano()) }

func (f *fullWatch) wrote() { f.last.Store(0) }

// full reports whether a write was refused within fullFor and none has
// landed since.
func (f *fullWatch) full() bool {
	last := f.last.Load()
	return last != 0 && f.now().Sub(time.Unix(0, last)) < fullFor
}

// nopMetrics counts nothing, for a service made without Metrics.
type nopMetrics struct{}

func (nopMetrics) RedisError()                           {}
func (nopMetrics) WriteNotReplicated()                   {}
func (nopMetrics) StoreFull()                            {}
func (nopMetrics) AuditFull()                            {}
func (nopMetrics) LicenseRefused()                       {}
func (nopMetrics) AuditEvent()                           {}
func (nopMetrics) PolicyEvaluated(string, time.Duration) {}
func (nopMetrics) ConsoleSignIn(string, string)          {}
func (nopMetrics) SignInFailureUnrecorded()              {}

func (s meteredStore) CreateTenant(ctx context.Context, t storage.Tenant) error {
	return s.seen(s.store.CreateTenant(ctx, t))
}

func (s meteredStore) GetTenant(ctx context.Context, id string) (storage.Tenant, error) {
	t, err := s.store.GetTenant(ctx, id)
	return t, s.seen(err)
}

func (s meteredStore) ListTenants(ctx context.Context) ([]storage.Tenant, error) {
	ts, err := s.store.ListTenants(ctx)
	return ts, s.seen(err)
}

func (s meteredStore) UpdateTenant(ctx context.Context, prev, t storage.Tenant, audit []byte) error {
	return s.wrote(s.store.UpdateTenant(ctx, prev, t, audit), audit)
}

func (s meteredStore) DeleteTenant(ctx context.Context, id string) error {
	return s.seen(s.store.DeleteTenant(ctx, id))
}

// RecordLicenseRefusal is called once per refused seat (see noteRefusal),
// so it is where refusals are counted, whether or not recording succeeds.
func (s meteredStore) RecordLicenseRefusal(ctx context.Context, tenant string, at time.Time) error {
	s.m.LicenseRefused()
	return s.seen(s.store.RecordLicenseRefusal(ctx, tenant, at))
}

func (s meteredStore) PutAdminToken(ctx context.Context, tenant, hash, name string, audit []byte) error {
	return s.wrote(s.store.PutAdminToken(ctx, tenant, hash, name, audit), audit)
}

func (s meteredStore) AdminTokenName(ctx context.Context, tenant, hash string) (string, error) {
	n, err := s.store.AdminTokenName(ctx, tenant, hash)
	return n, s.seen(err)
}

func (s meteredStore) AppendAudit(ctx context.Context, tenant string, event []byte) error {
	return s.wrote(s.store.AppendAudit(ctx, tenant, event), event)
}

func (s meteredStore) ReadAudit(ctx context.Context, tenant, before string, count int) ([]storage.AuditEntry, error) {
	es, err := s.store.ReadAudit(ctx, tenant, before, count)
	return es, s.seen(err)
}

func (s meteredStore) Usage(ctx context.Context, tenant string) (storage.Usage, error) {
	u, err := s.store.Usage(ctx, tenant)
	return u, s.seen(err)
}

func (s meteredStore) SeatsUsed(ctx context.Context, tenant string) (int64, error) {
	n, err := s.store.SeatsUsed(ctx, tenant)
	return n, s.seen(err)
}

func (s meteredStore) CreateUser(ctx context.Context, tenant string, u storage.User, audit []byte) error {
	return s.wrote(s.store.CreateUser(ctx, tenant, u, audit), audit)
}

func (s meteredStore) CreateUserUnlinked(ctx context.Context, tenant string, u storage.User, audit []byte) (storage.Holders, error) {
	h, err := s.store.CreateUserUnlinked(ctx, tenant, u, audit)
	return h, s.wrote(err, audit)
}

func (s meteredStore) GetUser(ctx context.Context, tenant, id string) (storage.User, error) {
	u, err := s.store.GetUser(ctx, tenant, id)
	return u, s.seen(err)
}

func (s meteredStore) GetUsers(ctx context.Context, tenant string, ids []string) ([]storage.User, error) {
	us, err := s.store.GetUsers(ctx, tenant, ids)
	return us, s.seen(err)
}

func (s meteredStore) UpdateUser(ctx context.Context, tenant string, prev, u storage.User, audit []byte) error {
	return s.wrote(s.store.UpdateUser(ctx, tenant, prev, u, audit), audit)
}

func (s meteredStore) DeleteUser(ctx context.Context, tenant, id string, audit []byte) error {
	return s.wrote(s.store.DeleteUser(ctx, tenant, id, audit), audit)
}

func (s meteredStore) FindUsers(ctx context.Context, tenant string, by storage.UserIndex, value string) ([]string, error) {
	ids, err := s.store.FindUsers(ctx, tenant, by, value)
	return ids, s.seen(err)
}

func (s meteredStore) FindAndGetUsers(ctx context.Context, tenant string, by storage.UserIndex, value string, limit int) ([]string, []storage.User, bool, error) {
	ids, us, loaded, err := s.store.FindAndGetUsers(ctx, tenant, by, value, limit)
	return ids, us, loaded, s.seen(err)
}

func (s meteredStore) UsersWithUserNamePrefix(ctx context.Context, tenant, prefix string, limit int) ([]string, error) {
	ids, err := s.store.UsersWithUserNamePrefix(ctx, tenant, prefix, limit)
	return ids, s.seen(err)
}

func (s meteredStore) PageUsers(ctx context.Context, tenant string, offset, count int) ([]string, int64, error) {
	ids, total, err := s.store.PageUsers(ctx, tenant, offset, count)
	return ids, total, s.seen(err)
}

func (s meteredStore) ScanUsers(ctx context.Context, tenant string, fn func([]storage.User) bool) error {
	return s.seen(s.store.ScanUsers(ctx, tenant, fn))
}

func (s meteredStore) UserGroups(ctx context.Context, tenant, userID string) ([]string, error) {
	ids, err := s.store.UserGroups(ctx, tenant, userID)
	return ids, s.seen(err)
}

func (s meteredStore) CreateGroup(ctx context.Context, tenant string, g storage.Group, members []string, audit []byte) error {
	return s.wrote(s.store.CreateGroup(ctx, tenant, g, members, audit), audit)
}

func (s meteredStore) GetGroup(ctx context.Context, tenant, id string) (storage.Group, error) {
	g, err := s.store.GetGroup(ctx, tenant, id)
	return g, s.seen(err)
}

func (s meteredStore) GetGroups(ctx context.Context, tenant string, ids []string) ([]storage.Group, error) {
	gs, err := s.store.GetGroups(ctx, tenant, ids)
	return gs, s.seen(err)
}

func (s meteredStore) UpdateGroup(ctx context.Context, tenant string, prev, g storage.Group, change storage.MemberChange, audit []byte) error {
	return s.wrote(s.store.UpdateGroup(ctx, tenant, prev, g, change, audit), audit)
}

func (s meteredStore) DeleteGroup(ctx context.Context, tenant, id string, audit []byte) error {
	return s.wrote(s.store.DeleteGroup(ctx, tenant, id, audit), audit)
}

func (s meteredStore) DeleteGroupAt(ctx context.Context, tenant, id string, version int64, audit []byte) error {
	return s.wrote(s.store.DeleteGroupAt(ctx, tenant, id, version, audit), audit)
}

func (s meteredStore) FindGroups(ctx context.Context, tenant string, by storage.GroupIndex, value string) ([]string, error) {
	ids, err := s.store.FindGroups(ctx, tenant, by, value)
	return ids, s.seen(err)
}

func (s meteredStore) PageGroups(ctx context.Context, tenant string, offset, count int) ([]string, int64, error) {
	ids, total, err := s.store.PageGroups(ctx, tenant, offset, count)
	return ids, total, s.seen(err)
}

func (s meteredStore) UsersGroups(ctx context.Context, tenant string, userIDs []string) ([][]string, error) {
	groups, err := s.store.UsersGroups(ctx, tenant, userIDs)
	return groups, s.seen(err)
}

func (s meteredStore) ScanGroups(ctx context.Context, tenant string, fn func([]storage.Group) bool) error {
	return s.seen(s.store.ScanGroups(ctx, tenant, fn))
}

func (s meteredStore) GroupMembers(ctx context.Context, tenant, id string) ([]string, error) {
	ids, err := s.store.GroupMembers(ctx, tenant, id)
	return ids, s.seen(err)
}

func (s meteredStore) ChangeMembers(ctx context.Context, tenant, groupID string, add, remove []string, modified time.Time, audit []byte) (int64, error) {
	v, err := s.store.ChangeMembers(ctx, tenant, groupID, add, remove, modified, audit)
	return v, s.wrote(err, audit)
}

func (s meteredStore) PutAccount(ctx context.Context, tenant string, a storage.Account, audit []byte) (bool, error) {
	created, err := s.store.PutAccount(ctx, tenant, a, audit)
	return created, s.wrote(err, audit)
}

func (s meteredStore) AddSeatRequest(ctx context.Context, tenant string, r storage.SeatRequest, audit []byte) error {
	return s.wrote(s.store.AddSeatRequest(ctx, tenant, r, audit), audit)
}

func (s meteredStore) SeatRequests(ctx context.Context, tenants []string) (map[string][]storage.SeatRequest, error) {
	rs, err := s.store.SeatRequests(ctx, tenants)
	return rs, s.seen(err)
}

func (s meteredStore) ListAccounts(ctx context.Context, tenant string) ([]storage.Account, error) {
	as, err := s.store.ListAccounts(ctx, tenant)
	return as, s.seen(err)
}

func (s meteredStore) DeleteAccount(ctx context.Context, tenant, id string, audit []byte) (int64, error) {
	n, err := s.store.DeleteAccount(ctx, tenant, id, audit)
	return n, s.wrote(err, audit)
}

func (s meteredStore) PutRole(ctx context.Context, tenant string, r storage.Role, audit []byte) (bool, error) {
	created, err := s.store.PutRole(ctx, tenant, r, audit)
	return created, s.wrote(err, audit)
}

func (s meteredStore) ListRoles(ctx context.Context, tenant string) ([]storage.Role, error) {
	rs, err := s.store.ListRoles(ctx, tenant)
	return rs, s.seen(err)
}

func (s meteredStore) PutGrants(ctx context.Context, tenant, groupID string, grants []storage.Grant, customLevels map[string]string, audit []byte) error {
	return s.wrote(s.store.PutGrants(ctx, tenant, groupID, grants, customLevels, audit), audit)
}

func (s meteredStore) DeleteRole(ctx context.Context, tenant, name string, audit []byte) error {
	return s.wrote(s.store.DeleteRole(ctx, tenant, name, audit), audit)
}

func (s meteredStore) Grants(ctx context.Context, tenant string, groupIDs []string) (map[string][]storage.Grant, error) {
	gs, err := s.store.Grants(ctx, tenant, groupIDs)
	return gs, s.seen(err)
}

func (s meteredStore) Ping(ctx context.Context) error {
	return s.seen(s.store.Ping(ctx))
}

// meteredPolicy times each decision the service asks for. It lives here
// rather than in cmd because New takes the engine itself, not the interface.
type meteredPolicy struct {
	policy
	m Metrics
}

func (p meteredPolicy) ExplainRoles(ctx context.Context, in policies.RoleInput) (policies.Explanation, error) {
	defer p.time("roles", time.Now())
	return p.policy.ExplainRoles(ctx, in)
}

func (p meteredPolicy) RoleScores(ctx context.Context, custom map[string]policies.Role) ([]policies.RoleScore, error) {
	defer p.time("scores", time.Now())
	return p.policy.RoleScores(ctx, custom)
}

func (p meteredPolicy) CheckEdit(ctx context.Context, in policies.EditInput) (policies.EditDecision, error) {
	defer p.time("locks", time.Now())
	return p.policy.CheckEdit(ctx, in)
}

// time measures wall time, not the service's clock: tests freeze that one.
func (p meteredPolicy) time(decision string, start time.Time) {
	p.m.PolicyEvaluated(decision, time.Since(start))
}

func (s meteredStore) PublishTokenChange(ctx context.Context, tenant string) error {
	return s.seen(s.store.PublishTokenChange(ctx, tenant))
}

func (s meteredStore) AdminTokenNames(ctx context.Context, tenant, firstName string) (map[string]int, error) {
	names, err := s.store.AdminTokenNames(ctx, tenant, firstName)
	return names, s.seen(err)
}

func (s meteredStore) RevokeAdminTokens(ctx context.Context, tenant, name, firstName string, audit []byte) (int64, error) {
	n, err := s.store.RevokeAdminTokens(ctx, tenant, name, firstName, audit)
	return n, s.wrote(err, audit)
}

func (s meteredStore) TakeScanRecords(ctx context.Context, tenant string, perSecond float64, burst, records int) (bool, time.Duration, error) {
	ok, wait, err := s.store.TakeScanRecords(ctx, tenant, perSecond, burst, records)
	return ok, wait, s.seen(err)
}

func (s meteredStore) AllowRequest(ctx context.Context, tenant string, perSecond float64, burst int) (bool, time.Duration, error) {
	ok, wait, err := s.store.AllowRequest(ctx, tenant, perSecond, burst)
	return ok, wait, s.seen(err)
}

func (s meteredStore) RecordRefusal(ctx context.Context, tenant, group string, descriptor []byte, at time.Time, window time.Duration, audit []byte) (int64, error) {
	n, err := s.store.RecordRefusal(ctx, tenant, group, descriptor, at, window, audit)
	if n != 1 {
		audit = nil // a repeat is counted, its event was appended before
	}
	return n, s.wrote(err, audit)
}

func (s meteredStore) Refusals(ctx context.Context, tenant string) ([]storage.RefusalGroup, error) {
	gs, err := s.store.Refusals(ctx, tenant)
	return gs, s.seen(err)
}

func (s meteredStore) FlushStatus(ctx context.Context, tenant string, d storage.StatusDelta, now time.Time, keep time.Duration) error {
	return s.seen(s.store.FlushStatus(ctx, tenant, d, now, keep))
}

func (s meteredStore) Status(ctx context.Context, tenant string) (storage.StatusRecord, error) {
	r, err := s.store.Status(ctx, tenant)
	return r, s.seen(err)
}

func (s meteredStore) TakeConsoleSignInFailure(ctx context.Context, ip string, perSecond float64, burst, cost int) (bool, time.Duration, error) {
	ok, wait, err := s.store.TakeConsoleSignInFailure(ctx, ip, perSecond, burst, cost)
	return ok, wait, s.seen(err)
}

func (s meteredStore) CountSignInFailure(ctx context.Context, tenant string, window time.Time, keep time.Duration, recorded int, audit, notice []byte) (int64, error) {
	n, err := s.store.CountSignInFailure(ctx, tenant, window, keep, recorded, audit, notice)
	if n <= int64(recorded)+1 {
		return n, s.wrote(err, audit)
	}
	return n, s.seen(err)
}

func (s meteredStore) PutConsoleSession(ctx context.Context, tenant, idHash string, record []byte, ttl time.Duration) error {
	return s.wrote(s.store.PutConsoleSession(ctx, tenant, idHash, record, ttl), nil)
}

func (s meteredStore) ConsoleSession(ctx context.Context, tenant, idHash string) ([]byte, error) {
	b, err := s.store.ConsoleSession(ctx, tenant, idHash)
	return b, s.seen(err)
}

func (s meteredStore) DeleteConsoleSession(ctx context.Context, tenant, idHash string) error {
	return s.wrote(s.store.DeleteConsoleSession(ctx, tenant, idHash), nil)
}
