package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/provision"
	"github.com/scimd/scimd/storage"
)

// Assembled is a server as `scimd serve` runs it: the service over its
// metered store and the app serving it.
type Assembled struct {
	App     *fiber.App
	Service *provision.Service
	Metrics *Metrics
}

// Assemble builds the service over st and pol and the app serving it,
// exactly as `scimd serve` does: the same Metrics counts the requests and
// wraps the store and the policies, so what a test sees through Assemble is
// what production runs (the metered store included). cfg.Metrics nil makes
// a new registry; opts.Metrics is always cfg.Metrics.
func Assemble(cfg Config, st *storage.Store, pol *policies.Engine, opts provision.Options) Assembled {
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	opts.Metrics = cfg.Metrics
	svc := provision.New(st, pol, opts)
	return Assembled{App: New(cfg, svc), Service: svc, Metrics: cfg.Metrics}
}
