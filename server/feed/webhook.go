package feed

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// SignatureHeader carries a delivery's signature: "t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" under the webhook's secret>".
const SignatureHeader = "X-Scimd-Signature"

// webhookStore is what the webhooks keep in storage.
type webhookStore interface {
	feedStore
	PutWebhook(ctx context.Context, tenant, url, secret string, created time.Time) error
	GetWebhook(ctx context.Context, tenant string) (storage.Webhook, error)
	DeleteWebhook(ctx context.Context, tenant string) error
	ForgetWebhook(ctx context.Context, tenant string) error
	TenantExists(ctx context.Context, tenant string) error
	WebhookTenants(ctx context.Context) ([]string, error)
	AcquireWebhookLease(ctx context.Context, tenant, replica string, ttl time.Duration) (bool, error)
	RenewWebhookLease(ctx context.Context, tenant, replica string, ttl time.Duration) error
	RecordWebhookProgress(ctx context.Context, tenant, replica string, p storage.WebhookProgress) error
}

// WebhookOptions configure the webhooks.
type WebhookOptions struct {
	// AllowPrivate lets webhook URLs reach loopback, private and link-local
	// addresses (tests; a receiver on the operator's own network).
	AllowPrivate bool
	// Attempts is how many times a batch is sent before it is dead-lettered;
	// 0 means 8.
	Attempts int
	// Backoff is the wait after a first failure, doubled after each next
	// one up to MaxBackoff; 0 means 1s and 5m.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Timeout bounds one delivery (connect, send, answer); 0 means 10s.
	Timeout time.Duration
	// Batch is the most entries one delivery carries; 0 means 100.
	Batch int
	// Scan is how often this process looks for webhooks nobody delivers;
	// 0 means 5s.
	Scan time.Duration
	// Lease is how long a replica holds a tenant's delivery without
	// renewing it; 0 means 30s.
	Lease time.Duration
	// Workers caps the tenants this process delivers at once; 0 means 64.
	Workers int
	// Replica names this process in the leases; empty makes a random one.
	Replica string
	// Clock is the time (signature timestamps, status); nil means time.Now.
	Clock func() time.Time
}

// Webhooks sets the operator's webhooks and delivers them: a dispatcher
// finds the tenants with a webhook that no replica delivers, and a worker
// per tenant, holding the tenant's lease, posts the feed from the stored
// cursor in signed batches, retried with backoff and dead-lettered after
// Attempts. Nothing here runs in a provisioning request.
type Webhooks struct {
	st     webhookStore
	hub    *Hub
	opts   WebhookOptions
	client *http.Client
	// resolve is the host lookup for checkURL (tests replace it).
	resolve func(context.Context, string) ([]netip.Addr, error)

	ctx     context.Context
	stop    context.CancelFunc
	mu      sync.Mutex
	started bool
	workers map[string]bool
	wg      sync.WaitGroup
}

// NewWebhooks returns the webhooks over st, waking on hub's readers.
func NewWebhooks(st webhookStore, hub *Hub, opts WebhookOptions) *Webhooks {
	if opts.Attempts <= 0 {
		opts.Attempts = 8
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.Scan <= 0 {
		opts.Scan = 5 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.Replica == "" {
		opts.Replica = "scimd-" + randomHex(8)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	transport := &http.Transport{
		// No proxy from the environment: the address check is on the
		// connection, which would be the proxy's.
		Proxy:                 nil,
		DialContext:           dialer(opts.AllowPrivate).DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		// A redirect is an answer, not a new target: it would send the
		// signed batch somewhere the operator did not set.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Webhooks{st: st, hub: hub, opts: opts, client: client, resolve: lookup, ctx: ctx, stop: stop, workers: map[string]bool{}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Put sets the tenant's webhook to url and returns its new signing secret
// (shown once). Returns *provision.Error: Invalid (the URL), NotFound (the
// tenant), Unavailable.
func (w *Webhooks) Put(ctx context.Context, tenant, url string) (string, error) {
	if err := checkURL(ctx, url, w.opts.AllowPrivate, w.resolve); err != nil {
		return "", &provision.Error{Kind: provision.KindInvalid, Detail: "webhook url: " + err.Error(), Attribute: "url"}
	}
	secret := "whsec_" + randomHex(32)
	if err := w.st.PutWebhook(ctx, tenant, url, secret, w.opts.Clock()); err != nil {
		return "", storeError(err, "tenant not found")
	}
	return secret, nil
}

// Get returns the tenant's webhook and its delivery status (the secret
// blanked). Returns *provision.Error: NotFound, Unavailable.
func (w *Webhooks) Get(ctx context.Context, tenant string) (storage.Webhook, error) {
	h, err := w.st.GetWebhook(ctx, tenant)
	if err != nil {
		return storage.Webhook{}, storeError(err, "this tenant has no webhook")
	}
	h.Secret = ""
	return h, nil
}

// Delete removes the tenant's webhook; delivery stops. Returns
// *provision.Error: NotFound, Unavailable.
func (w *Webhooks) Delete(ctx context.Context, tenant string) error {
	return storeError(w.st.DeleteWebhook(ctx, tenant), "this tenant has no webhook")
}

func storeError(err error, notFound string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return &provision.Error{Kind: provision.KindNotFound, Detail: notFound}
	case errors.Is(err, storage.ErrUnavailable):
		return &provision.Error{Kind: provision.KindUnavailable, Detail: "the store is unavailable; try again"}
	}
	return err
}

// Start runs the dispatcher until Stop.
func (w *Webhooks) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.ctx.Err() != nil {
		return
	}
	w.started = true
	w.wg.Add(1)
	go w.dispatch()
}

// Stop ends the dispatcher and the workers (a delivery in flight is
// abandoned and sent again by whoever delivers next: at least once), and
// releases their leases.
func (w *Webhooks) Stop() {
	w.mu.Lock()
	w.stop()
	w.mu.Unlock()
	w.wg.Wait()
	w.client.CloseIdleConnections()
}

// dispatch looks for tenants whose webhook nobody delivers, every Scan.
func (w *Webhooks) dispatch() {
	defer w.wg.Done()
	for {
		w.claim()
		t := time.NewTimer(w.opts.Scan)
		select {
		case <-w.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// claim starts a worker for every listed tenant this process can take.
func (w *Webhooks) claim() {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	tenants, err := w.st.WebhookTenants(ctx)
	if err != nil {
		if w.ctx.Err() == nil {
			slog.Warn("webhooks: cannot list tenants with a webhook", "err", err)
		}
		return
	}
	for _, t := range tenants {
		w.mu.Lock()
		busy := w.workers[t] || len(w.workers) >= w.opts.Workers || w.ctx.Err() != nil
		w.mu.Unlock()
		if busy {
			continue
		}
		ok, err := w.st.AcquireWebhookLease(ctx, t, w.opts.Replica, w.opts.Lease)
		if err != nil || !ok {
			continue
		}
		w.mu.Lock()
		if w.ctx.Err() != nil {
			w.mu.Unlock()
			return
		}
		w.workers[t] = true
		w.wg.Add(1)
		w.mu.Unlock()
		go w.work(t)
	}
}

// errLeaseLost ends a worker: another replica delivers, or the webhook is
// gone.
var errLeaseLost = errors.New("webhook: lease lost")

// work delivers tenant's webhook while this process holds its lease.
func (w *Webhooks) work(tenant string) {
	defer w.wg.Done()
	defer func() {
		w.mu.Lock()
		delete(w.workers, tenant)
		w.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := w.st.RenewWebhookLease(ctx, tenant, w.opts.Replica, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
			slog.Debug("webhooks: releasing a lease", "tenant", tenant, "err", err)
		}
	}()
	wk := &worker{w: w, tenant: tenant, renewed: w.opts.Clock()}
	if err := wk.run(); err != nil && !errors.Is(err, errLeaseLost) && w.ctx.Err() == nil {
		slog.Warn("webhooks: delivery stopped", "tenant", tenant, "err", err)
	}
}

// worker is one tenant's delivery loop.
type worker struct {
	w       *Webhooks
	tenant  string
	renewed time.Time
	sub     *Sub
}

func (k *worker) run() error {
	defer func() {
		if k.sub != nil {
			k.sub.Close()
		}
	}()
	for {
		if err := k.renew(); err != nil {
			return err
		}
		hook, err := k.load()
		if err != nil {
			return err
		}
		es, err := k.batch(hook)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			if err := k.wait(); err != nil {
				return err
			}
			continue
		}
		if err := k.deliver(hook, es); err != nil {
			return err
		}
	}
}

// renew extends the lease once a third of it has passed.
func (k *worker) renew() error {
	w := k.w
	if w.ctx.Err() != nil {
		return w.ctx.Err()
	}
	if w.opts.Clock().Sub(k.renewed) < w.opts.Lease/3 {
		return nil
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	err := w.st.RenewWebhookLease(ctx, k.tenant, w.opts.Replica, w.opts.Lease)
	if errors.Is(err, storage.ErrNotFound) {
		return errLeaseLost
	}
	if err == nil {
		k.renewed = w.opts.Clock()
	}
	return nil // Redis out: the next write will tell whether the lease holds
}

// load reads the webhook (its URL, secret and cursor may have changed).
func (k *worker) load() (storage.Webhook, error) {
	w := k.w
	for {
		ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
		h, err := w.st.GetWebhook(ctx, k.tenant)
		cancel()
		switch {
		case err == nil:
			return h, nil
		case errors.Is(err, storage.ErrNotFound):
			// Deleted (DeleteWebhook unlists it), or its tenant deleted:
			// unlisted here, once the tenant is gone for good.
			k.forgetIfTenantGone()
			return storage.Webhook{}, errLeaseLost
		}
		if !k.pause(time.Second) {
			return storage.Webhook{}, w.ctx.Err()
		}
	}
}

// forgetIfTenantGone unlists a deleted tenant's webhook, which its
// deletion left listed.
func (k *worker) forgetIfTenantGone() {
	w := k.w
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	if !errors.Is(w.st.TenantExists(ctx, k.tenant), storage.ErrNotFound) {
		return
	}
	if err := w.st.ForgetWebhook(ctx, k.tenant); err != nil {
		slog.Debug("webhooks: unlisting a deleted tenant's webhook", "tenant", k.tenant, "err", err)
	}
}

// batch reads the entries after the cursor. A cursor that fell out of the
// feed's retention is dead-lettered as a gap, and delivery goes on from the
// oldest retained entry.
func (k *worker) batch(h storage.Webhook) ([]Entry, error) {
	w := k.w
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	es, floor, err := w.st.FeedRange(ctx, k.tenant, h.Cursor, w.opts.Batch)
	switch {
	case errors.Is(err, storage.ErrCursorExpired):
		return nil, k.record(storage.WebhookProgress{Cursor: floor, Attempt: w.opts.Clock(), Error: "changes trimmed from the feed before delivery",
			Dead: &storage.DeadLetter{First: h.Cursor, Last: floor, Error: "trimmed from the feed before they could be delivered"}})
	case errors.Is(err, storage.ErrBadCursor):
		return nil, k.record(storage.WebhookProgress{Cursor: "0-0", Attempt: w.opts.Clock(), Error: "the stored cursor was not a cursor; restarted at the oldest retained change"})
	case err != nil:
		k.pause(time.Second)
		return nil, nil
	}
	return es, nil
}

// wait waits for new entries (the hub wakes the worker), a renewal, or
// Stop.
func (k *worker) wait() error {
	w := k.w
	if k.sub == nil {
		ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
		sub, err := w.hub.Subscribe(ctx, k.tenant)
		cancel()
		if err != nil {
			k.pause(time.Second)
			return nil
		}
		// Subscribed after the read: anything appended meanwhile is read
		// on the next turn.
		k.sub = sub
		return nil
	}
	t := time.NewTimer(w.opts.Lease / 3)
	defer t.Stop()
	select {
	case <-k.sub.Wake():
	case <-t.C:
	case <-w.ctx.Done():
		return w.ctx.Err()
	case <-w.hub.Done():
		return w.hub.ctx.Err()
	}
	return nil
}

// pause waits d or until Stop; false when stopped.
func (k *worker) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-k.w.ctx.Done():
		return false
	}
}

// deliver posts one batch until it is accepted or Attempts failed (then a
// dead letter), recording every attempt.
func (k *worker) deliver(h storage.Webhook, es []Entry) error {
	w := k.w
	body := batchBody(k.tenant, es)
	last := es[len(es)-1].ID
	backoff := w.opts.Backoff
	for attempt := 1; ; attempt++ {
		if err := k.renew(); err != nil {
			return err
		}
		at := w.opts.Clock()
		status, err := w.post(h.URL, h.Secret, k.tenant, body, at)
		if err == nil {
			return k.record(storage.WebhookProgress{Cursor: last, Delivered: len(es), Attempt: at, Success: true, Status: status})
		}
		if w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		p := storage.WebhookProgress{Attempt: at, Status: status, Error: err.Error(), Failures: int64(attempt)}
		if attempt >= w.opts.Attempts {
			p.Cursor, p.Failures = last, 0
			p.Dead = &storage.DeadLetter{First: es[0].ID, Last: last, Count: len(es), Attempts: attempt, Error: err.Error()}
			return k.record(p)
		}
		if err := k.record(p); err != nil {
			return err
		}
		if !k.pause(backoff) {
			return w.ctx.Err()
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
	}
}

// record writes an attempt's outcome; a lost lease or deleted webhook ends
// the worker, Redis being out is retried by the next turn.
func (k *worker) record(p storage.WebhookProgress) error {
	w := k.w
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	err := w.st.RecordWebhookProgress(ctx, k.tenant, w.opts.Replica, p)
	if errors.Is(err, storage.ErrNotFound) {
		return errLeaseLost
	}
	if err != nil && w.ctx.Err() == nil {
		slog.Warn("webhooks: cannot record a delivery", "tenant", k.tenant, "err", err)
		k.pause(time.Second)
	}
	return nil
}

// batchBody is a delivery's JSON: {"tenant", "changes": [...], "next"},
// each change as the feed's long poll answers it.
func batchBody(tenant string, es []Entry) []byte {
	var b bytes.Buffer
	b.WriteString(`{"tenant":`)
	b.WriteString(strconv.Quote(tenant))
	b.WriteString(`,"changes":[`)
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(EntryJSON(e))
	}
	b.WriteString(`],"next":`)
	b.WriteString(strconv.Quote(es[len(es)-1].ID))
	b.WriteString("}")
	return b.Bytes()
}

// Sign returns the signature header's value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// errStatus is a delivery the receiver answered with other than 2xx.
type errStatus int

func (e errStatus) Error() string { return "the receiver answered " + strconv.Itoa(int(e)) }

// post sends one signed batch; nil error means the receiver took it (2xx).
// The error is for the status page: it never holds the secret.
func (w *Webhooks) post(url, secret, tenant string, body []byte, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scimd-webhook")
	req.Header.Set("X-Scimd-Tenant", tenant)
	req.Header.Set(SignatureHeader, Sign(secret, at, body))
	res, err := w.client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return 0, errPrivateAddress
		}
		return 0, errors.New("sending: " + trimErr(err))
	}
	// A little of the answer is read so that the connection can be reused;
	// the rest is not the receiver's to make scimd read.
	if _, err := io.Copy(io.Discard, io.LimitReader(res.Body, 4096)); err != nil {
		slog.Debug("webhooks: reading an answer", "err", err)
	}
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, errStatus(res.StatusCode)
	}
	return res.StatusCode, nil
}

// trimErr bounds an error's text for the status page.
func trimErr(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
