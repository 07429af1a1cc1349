package provision

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/scimd/scimd/storage"
)

// The outcomes the provisioning status counts SCIM requests by.
const (
	OutcomeSuccess      = "success"      // 1xx-3xx
	OutcomeRefused      = "refused"      // a 4xx but those below
	OutcomeNotFound     = "notFound"     // 404: Entra's lookups by id can miss
	OutcomeUnauthorized = "unauthorized" // 401: a wrong or old token
	OutcomeThrottled    = "throttled"    // 429
	OutcomeFailed       = "failed"       // 5xx
)

// Outcomes lists every outcome, in the order the status shows them.
var Outcomes = []string{OutcomeSuccess, OutcomeRefused, OutcomeNotFound, OutcomeUnauthorized, OutcomeThrottled, OutcomeFailed}

func outcomeOf(status int) string {
	switch {
	case status < 400:
		return OutcomeSuccess
	case status == 401:
		return OutcomeUnauthorized
	case status == 404:
		return OutcomeNotFound
	case status == 429:
		return OutcomeThrottled
	case status < 500:
		return OutcomeRefused
	}
	return OutcomeFailed
}

const (
	// statusBucket is the resolution of the counts.
	statusBucket = time.Minute
	// statusKeep is how long counts are kept: a day and a margin.
	statusKeep = 25 * time.Hour
	// maxPendingTenants bounds the tenants one process holds counts for
	// between flushes (401s are counted for any well-formed tenant id).
	maxPendingTenants = 10000
)

// StatusError is the last SCIM request of a tenant that failed.
type StatusError struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Route    string    `json:"route"` // the route template, never a path with a userName
	Status   int       `json:"status"`
	ScimType string    `json:"scimType,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// statusCounter holds this process's SCIM request counts until the next
// flush, so that counting costs no Redis write per request.
type statusCounter struct {
	mu      sync.Mutex
	pending map[string]*storage.StatusDelta
}

func newStatusCounter() *statusCounter {
	return &statusCounter{pending: map[string]*storage.StatusDelta{}}
}

// ObserveSCIM counts one SCIM request of tenant answered with status, in
// process; FlushStatus writes the counts. Errors (a 4xx but 404, or a 5xx)
// become the tenant's last error, with the SCIM error's type and detail.
func (s *Service) ObserveSCIM(tenant, method, route string, status int, scimType, detail string) {
	if !ValidTenantID(tenant) {
		return
	}
	now := s.now().UTC()
	outcome := outcomeOf(status)
	var errJSON []byte
	// A 401 is counted, but anyone can cause one: it never becomes the last
	// request or the last error, which would hide the identity provider's.
	stranger := outcome == OutcomeUnauthorized
	if outcome != OutcomeSuccess && outcome != OutcomeNotFound && !stranger {
		if len(detail) > 300 {
			detail = detail[:300]
		}
		errJSON, _ = json.Marshal(StatusError{Time: now, Method: method, Route: route, Status: status, ScimType: scimType, Detail: detail})
	}
	c := s.status
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.pending[tenant]
	if d == nil {
		if len(c.pending) >= maxPendingTenants {
			return
		}
		d = &storage.StatusDelta{Counts: map[storage.StatusKey]int64{}}
		c.pending[tenant] = d
	}
	d.Counts[storage.StatusKey{Bucket: now.Truncate(statusBucket), Outcome: outcome}]++
	if now.After(d.Last) && !stranger {
		d.Last = now
	}
	if errJSON != nil && !now.Before(d.LastErrorAt) {
		d.LastErrorAt, d.LastError = now, errJSON
	}
}

// take removes and returns the pending counts of one tenant, or of all when
// tenant is "".
func (c *statusCounter) take(tenant string) map[string]*storage.StatusDelta {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tenant == "" {
		out := c.pending
		c.pending = map[string]*storage.StatusDelta{}
		return out
	}
	d, ok := c.pending[tenant]
	if !ok {
		return nil
	}
	delete(c.pending, tenant)
	return map[string]*storage.StatusDelta{tenant: d}
}

// putBack merges counts a flush could not write into the pending ones, so
// that an outage delays them rather than losing them.
func (c *statusCounter) putBack(tenant string, d *storage.StatusDelta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[tenant]
	if p == nil {
		if len(c.pending) >= maxPendingTenants {
			return
		}
		c.pending[tenant] = d
		return
	}
	for k, n := range d.Counts {
		p.Counts[k] += n
	}
	if d.Last.After(p.Last) {
		p.Last = d.Last
	}
	if d.LastErrorAt.After(p.LastErrorAt) {
		p.LastErrorAt, p.LastError = d.LastErrorAt, d.LastError
	}
}

// FlushStatus writes this process's pending counts to the store, one
// script per tenant with counts; a tenant that no longer exists drops
// them, an outage keeps them for the next flush. Returns KindUnavailable
// (the first outage met).
func (s *Service) FlushStatus(ctx context.Context) error {
	return s.flushStatus(ctx, "")
}

func (s *Service) flushStatus(ctx context.Context, tenant string) error {
	var first error
	now := s.now().UTC()
	for t, d := range s.status.take(tenant) {
		err := s.store.FlushStatus(ctx, t, *d, now, statusKeep)
		switch {
		case err == nil, errors.Is(err, storage.ErrNotFound):
		default:
			s.status.putBack(t, d)
			if first == nil {
				first = fromStorage(err, "tenant")
			}
		}
	}
	return first
}

// RunStatusFlusher flushes the counts every interval until ctx ends, then
// once more. serve runs it; tests call FlushStatus.
func (s *Service) RunStatusFlusher(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := s.FlushStatus(fctx); err != nil {
				slog.Warn("flushing the provisioning status at exit", "err", err)
			}
			return
		case <-tick.C:
			fctx, cancel := context.WithTimeout(ctx, every)
			if err := s.FlushStatus(fctx); err != nil {
				slog.Warn("flushing the provisioning status", "err", err)
			}
			cancel()
		}
	}
}

// ProvisioningStatus is whether the identity provider's calls succeed: its
// last request, its requests by outcome over the last hour and day, and
// its last error, merged over every replica.
type ProvisioningStatus struct {
	LastRequest *time.Time       `json:"lastRequest"`
	LastHour    map[string]int64 `json:"lastHour"`
	LastDay     map[string]int64 `json:"lastDay"`
	LastError   *StatusError     `json:"lastError"`
}

// ProvisioningStatus reads the tenant's status after flushing this
// process's own counts for it; other replicas' counts are at most one
// flush interval behind. Returns KindNotFound, KindUnavailable.
func (s *Service) ProvisioningStatus(ctx context.Context, tenant string) (ProvisioningStatus, error) {
	if err := s.TenantExists(ctx, tenant); err != nil {
		return ProvisioningStatus{}, err
	}
	if err := s.flushStatus(ctx, tenant); err != nil {
		return ProvisioningStatus{}, err
	}
	rec, err := s.store.Status(ctx, tenant)
	if err != nil {
		return ProvisioningStatus{}, fromStorage(err, "tenant")
	}
	st := ProvisioningStatus{LastHour: map[string]int64{}, LastDay: map[string]int64{}}
	for _, o := range Outcomes {
		st.LastHour[o], st.LastDay[o] = 0, 0
	}
	// The current minute counts in full: an hour is the last 60 buckets.
	current := s.now().UTC().Truncate(statusBucket)
	hour, day := current.Add(-59*statusBucket), current.Add(-(24*60-1)*statusBucket)
	for k, n := range rec.Counts {
		if k.Bucket.After(current) {
			continue // a replica's clock ahead of ours: not yet
		}
		if !k.Bucket.Before(day) {
			st.LastDay[k.Outcome] += n
		}
		if !k.Bucket.Before(hour) {
			st.LastHour[k.Outcome] += n
		}
	}
	if !rec.Last.IsZero() {
		st.LastRequest = &rec.Last
	}
	if len(rec.LastError) > 0 {
		var e StatusError
		if json.Unmarshal(rec.LastError, &e) == nil {
			st.LastError = &e
		}
	}
	return st, nil
}
