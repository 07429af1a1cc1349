package storage

import (
	"context"
	_ "embed"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A tenant's webhook pushes its change feed to a URL the operator set. Its
// hash holds the URL, the signing secret and the delivery status; the cursor
// says how far delivery got; one replica delivers at a time (the lease);
// batches given up on are dead letters.

var (
	//go:embed lua/put_webhook.lua
	putWebhookLua    string
	putWebhookScript = redis.NewScript(putWebhookLua)

	//go:embed lua/webhook_progress.lua
	webhookProgressLua    string
	webhookProgressScript = redis.NewScript(webhookProgressLua)

	//go:embed lua/webhook_lease.lua
	webhookLeaseLua    string
	webhookLeaseScript = redis.NewScript(webhookLeaseLua)
)

// DeadLettersKept bounds each tenant's dead letters (about: trimmed with ~).
const DeadLettersKept = 1000

// Webhook is a tenant's webhook and its delivery status.
type Webhook struct {
	URL     string
	Secret  string
	Created time.Time
	// Cursor is the last feed entry delivered or given up on.
	Cursor string
	// Deliverer is the replica holding the lease ("" when none).
	Deliverer   string
	LastAttempt time.Time
	LastSuccess time.Time
	LastStatus  int    // the HTTP status of the last attempt (0: none answered)
	LastError   string // why the last attempt failed ("" after a success)
	Failures    int64  // failed attempts of the batch under way
	Delivered   int64  // entries delivered since the webhook was set
	DeadLetters int64  // dead letters kept
	RecentDead  []DeadLetter
}

// DeadLetter is a batch given up on after every retry: the feed entries
// first..last (still in the feed while retained).
type DeadLetter struct {
	ID       string    `json:"-"`
	At       time.Time `json:"-"`
	First    string    `json:"first"`
	Last     string    `json:"last"`
	Count    int       `json:"count"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
}

// WebhookProgress is what one delivery attempt records.
type WebhookProgress struct {
	Cursor    string      // the new cursor ("" = unchanged)
	Dead      *DeadLetter // a batch given up on
	Delivered int         // entries delivered
	Attempt   time.Time
	Success   bool
	Status    int
	Error     string
	Failures  int64
}

// PutWebhook sets the tenant's webhook (clearing its status) and lists the
// tenant among those with one. Returns ErrNotFound (tenant),
// ErrUnavailable.
func (s *Store) PutWebhook(ctx context.Context, tenant, url, secret string, created time.Time) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	if err := s.runScript(ctx, "put webhook", putWebhookScript,
		[]string{tenantKey(tenant), webhookKey(tenant), webhookCursorKey(tenant), accessFeedKey(tenant)},
		[]any{url, secret, encodeTime(created)}); err != nil {
		return err
	}
	// Listed once it exists: a dispatcher that found it listed earlier
	// would find no webhook. A failure here is the caller's to retry.
	if err := s.rdb.SAdd(ctx, webhooksKey(), tenant).Err(); err != nil {
		return unavailable("put webhook", err)
	}
	return nil
}

// DeleteWebhook removes the tenant's webhook, its cursor, lease and dead
// letters. Returns ErrNotFound (no webhook), ErrUnavailable.
func (s *Store) DeleteWebhook(ctx context.Context, tenant string) error {
	if !validTenantID(tenant) {
		return notFound("webhook")
	}
	n, err := s.rdb.Del(ctx, webhookKey(tenant), webhookCursorKey(tenant), webhookLeaseKey(tenant), webhookDeadKey(tenant)).Result()
	if err != nil {
		return unavailable("delete webhook", err)
	}
	if err := s.ForgetWebhook(ctx, tenant); err != nil {
		return err
	}
	if n == 0 {
		return notFound("webhook")
	}
	return nil
}

// ForgetWebhook drops the tenant from the list of tenants with a webhook
// (its webhook is gone). Returns ErrUnavailable.
func (s *Store) ForgetWebhook(ctx context.Context, tenant string) error {
	if err := s.rdb.SRem(ctx, webhooksKey(), tenant).Err(); err != nil {
		return unavailable("forget webhook", err)
	}
	return nil
}

// WebhookTenants lists the tenants with a webhook. Returns ErrUnavailable.
func (s *Store) WebhookTenants(ctx context.Context) ([]string, error) {
	ts, err := s.rdb.SMembers(ctx, webhooksKey()).Result()
	if err != nil {
		return nil, unavailable("list webhooks", err)
	}
	return ts, nil
}

// recentDeadShown is how many dead letters GetWebhook returns.
const recentDeadShown = 10

// GetWebhook returns the tenant's webhook, its status and its newest dead
// letters. Returns ErrNotFound (no webhook), ErrUnavailable.
func (s *Store) GetWebhook(ctx context.Context, tenant string) (Webhook, error) {
	if !validTenantID(tenant) {
		return Webhook{}, notFound("webhook")
	}
	var hash *redis.MapStringStringCmd
	var cursor, lease *redis.StringCmd
	var deadLen *redis.IntCmd
	var dead *redis.XMessageSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hash = p.HGetAll(ctx, webhookKey(tenant))
		cursor = p.Get(ctx, webhookCursorKey(tenant))
		lease = p.Get(ctx, webhookLeaseKey(tenant))
		deadLen = p.XLen(ctx, webhookDeadKey(tenant))
		dead = p.XRevRangeN(ctx, webhookDeadKey(tenant), "+", "-", recentDeadShown)
		return nil
	})
	if err != nil && !isNil(err) {
		return Webhook{}, unavailable("get webhook", err)
	}
	h := hash.Val()
	if h["url"] == "" {
		return Webhook{}, notFound("webhook")
	}
	w := Webhook{URL: h["url"], Secret: h["secret"], Cursor: cursor.Val(), Deliverer: lease.Val(), LastError: h["last_error"], DeadLetters: deadLen.Val()}
	var errs []error
	var e error
	w.Created, e = decodeTime(h["created"])
	errs = append(errs, e)
	w.LastAttempt, e = decodeTime(h["last_attempt"])
	errs = append(errs, e)
	w.LastSuccess, e = decodeTime(h["last_success"])
	errs = append(errs, e)
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"failures", &w.Failures}, {"delivered", &w.Delivered}} {
		if v := h[f.name]; v != "" {
			*f.dst, e = strconv.ParseInt(v, 10, 64)
			errs = append(errs, e)
		}
	}
	if v := h["last_status"]; v != "" {
		w.LastStatus, e = strconv.Atoi(v)
		errs = append(errs, e)
	}
	for _, e := range errs {
		if e != nil {
			return Webhook{}, unavailable("get webhook", badReply("webhook of %s: %v", tenant, e))
		}
	}
	for _, m := range dead.Val() {
		raw, ok := m.Values["d"].(string)
		var d DeadLetter
		if !ok || json.Unmarshal([]byte(raw), &d) != nil {
			return Webhook{}, unavailable("get webhook", badReply("dead letter %s", m.ID))
		}
		ms, err := parseStreamID(m.ID)
		if err != nil {
			return Webhook{}, unavailable("get webhook", badReply("dead letter id %q", m.ID))
		}
		d.ID, d.At = m.ID, time.UnixMilli(ms).UTC()
		w.RecentDead = append(w.RecentDead, d)
	}
	return w, nil
}

// AcquireWebhookLease takes the lease on delivering the tenant's webhook for
// ttl when nobody holds it, and reports whether replica has it now.
// Returns ErrUnavailable.
func (s *Store) AcquireWebhookLease(ctx context.Context, tenant, replica string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, webhookLeaseKey(tenant), replica, ttl).Result()
	if err != nil {
		return false, unavailable("webhook lease", err)
	}
	return ok, nil
}

// RenewWebhookLease extends replica's lease by ttl, or releases it when ttl
// is 0. Returns ErrNotFound (replica does not hold it), ErrUnavailable.
func (s *Store) RenewWebhookLease(ctx context.Context, tenant, replica string, ttl time.Duration) error {
	return s.runScript(ctx, "webhook lease", webhookLeaseScript, []string{webhookLeaseKey(tenant)},
		[]any{replica, strconv.FormatInt(ttl.Milliseconds(), 10)})
}

// RecordWebhookProgress records one delivery attempt by replica, which must
// hold the lease. Returns ErrNotFound (the lease was lost or the webhook
// deleted: stop delivering), ErrUnavailable.
func (s *Store) RecordWebhookProgress(ctx context.Context, tenant, replica string, p WebhookProgress) error {
	dead := ""
	if p.Dead != nil {
		raw, err := json.Marshal(p.Dead)
		if err != nil {
			return err
		}
		dead = string(raw)
	}
	args := []any{replica, p.Cursor, dead, DeadLettersKept, p.Delivered,
		"last_attempt", encodeTime(p.Attempt), "last_status", p.Status, "last_error", p.Error, "failures", p.Failures}
	if p.Success {
		args = append(args, "last_success", encodeTime(p.Attempt))
	}
	return s.runScript(ctx, "webhook progress", webhookProgressScript,
		[]string{webhookKey(tenant), webhookCursorKey(tenant), webhookLeaseKey(tenant), webhookDeadKey(tenant)}, args)
}

// TenantExists returns ErrNotFound when the tenant does not exist, and
// ErrUnavailable.
func (s *Store) TenantExists(ctx context.Context, tenant string) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	n, err := s.rdb.Exists(ctx, tenantKey(tenant)).Result()
	if err != nil {
		return unavailable("tenant exists", err)
	}
	if n == 0 {
		return notFound("tenant")
	}
	return nil
}
