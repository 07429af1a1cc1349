package server

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/server/feed"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/server/rollout"
	"github.com/scimd/scimd/storage"
)

// Assembled is a server as `scimd serve` runs it: the service over its
// metered store and the app serving it.
type Assembled struct {
	App     *fiber.App
	Service *provision.Service
	Metrics *Metrics
	// Feed is the change feed's hub; Stop ends its waits and streams.
	Feed *feed.Hub
	// Webhooks deliver the operator's webhooks once started (Start).
	Webhooks *feed.Webhooks
	// Resolver keeps the stored access decisions current; the service
	// notifies it of every write that can change access. It runs once
	// started (scimd serve starts it; tests that need it do), until Stop.
	Resolver *access.Resolver
}

// Assemble builds the service over st and pol and the app serving it,
// exactly as `scimd serve` does: the same Metrics counts the requests and
// wraps the store and the policies, so what a test sees through Assemble is
// what production runs (the metered store included). cfg.Metrics nil makes
// a new registry; opts.Metrics is always cfg.Metrics. The change feed's hub
// reads st with blocking reads on a client of its own
// (cfg.FeedHub.Readers connections); call Stop when done.
func Assemble(cfg Config, st *storage.Store, pol *policies.Engine, opts provision.Options) Assembled {
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	opts.Metrics = cfg.Metrics
	ao := cfg.Access
	ao.Metrics = cfg.Metrics
	if cfg.PolicyRollout != nil && ao.ActiveRevision == nil {
		// Only a replica on the active revision (the one every live
		// replica runs) re-decides: two revisions never undo each other.
		ao.ActiveRevision = cfg.PolicyRollout.ActiveRevision
	}
	if ao.Edge == nil {
		// The app counts its SCIM requests in flight for the resolver,
		// which yields to them (access.Options.Edge).
		ao.Edge = &access.Edge{}
		cfg.Access.Edge = ao.Edge
	}
	res := access.New(st, pol, ao)
	opts.AccessChanged = res.Notify
	svc := provision.New(st, pol, opts)
	cfg.Metrics.reg.MustRegister(newDecisionCacheCollector(svc.DecisionCacheStats))
	hub := feed.NewHub(st, st.FeedReader(readersOrDefault(cfg.FeedHub.Readers)), cfg.FeedHub)
	cfg.Feed = hub
	cfg.Webhooks = feed.NewWebhooks(st, hub, cfg.WebhookOptions)
	cfg.PolicyDiff = rollout.NewPreviewer(st, pol, cfg.PolicyDiffOptions)
	svc.SetResolver(decider{res})
	return Assembled{App: New(cfg, svc), Service: svc, Metrics: cfg.Metrics, Feed: hub, Webhooks: cfg.Webhooks, Resolver: res}
}

// decider has the read path decide a user without a stored decision
// through the resolver, which stores it.
type decider struct{ r *access.Resolver }

func (d decider) ResolveNow(ctx context.Context, tenant, uid string) error {
	_, err := d.r.ResolveNow(ctx, tenant, uid)
	return err
}

func readersOrDefault(n int) int {
	if n <= 0 {
		return feed.DefaultReaders
	}
	return n
}

// Start starts the webhooks' delivery (scimd serve does; tests of other
// things need not).
func (a Assembled) Start() {
	a.Webhooks.Start()
}

// Stop ends the webhooks' deliveries, then the change feed's long polls
// and event streams at once (so that the app's shutdown need not wait for
// them) and its readers. Call it before shutting the app down.
func (a Assembled) Stop() {
	a.Webhooks.Stop()
	a.Feed.Stop()
	a.Resolver.Stop()
}
