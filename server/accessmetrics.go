package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/server/access"
)

// accessMetrics are the resolver's series (issue 12); Metrics implements
// access.Metrics with them.
type accessMetrics struct {
	resolved     prometheus.Counter
	evaluations  prometheus.Counter
	changed      prometheus.Counter
	policyErrors prometheus.Counter
	causes       prometheus.Gauge
	lag          prometheus.Gauge
	usersLeft    prometheus.Gauge
	causeLag     prometheus.Histogram
}

var _ access.Metrics = (*Metrics)(nil)

func newAccessMetrics(reg *prometheus.Registry) *accessMetrics {
	a := &accessMetrics{
		resolved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_access_users_resolved_total",
			Help: "Users whose stored access decision the resolver made again.",
		}),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_access_evaluations_total",
			Help: "Policy evaluations the resolver made: one per distinct input (users with the same grants through their groups share one).",
		}),
		changed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_access_changes_total",
			Help: "Change feed entries written: users whose effective access changed.",
		}),
		policyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_access_policy_errors_total",
			Help: "Users whose decision the policy failed to make; their previous decision stays, marked stale. Alert on any rate.",
		}),
		causes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimd_access_outbox_causes",
			Help: "Causes waiting in the tenants' outboxes (changes whose decisions are not made yet), at the last sweep.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimd_access_outbox_lag_seconds",
			Help: "Age of the oldest cause waiting in any tenant's outbox, at the last sweep: how stale stored decisions may be.",
		}),
		usersLeft: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimd_access_job_users_left",
			Help: "Users left to decide again in the resolver jobs under way, at the last sweep.",
		}),
		causeLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scimd_access_cause_lag_seconds",
			Help:    "Time from a write that changes access (an outbox cause) to its users' decisions being written, by cause resolved: how long stored decisions stayed stale.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
	}
	reg.MustRegister(a.resolved, a.evaluations, a.changed, a.policyErrors, a.causes, a.lag, a.usersLeft, a.causeLag)
	return a
}

// AccessResolved implements access.Metrics.
func (m *Metrics) AccessResolved(users, evaluations int) {
	m.access.resolved.Add(float64(users))
	m.access.evaluations.Add(float64(evaluations))
}

// AccessChanged implements access.Metrics.
func (m *Metrics) AccessChanged(users int) { m.access.changed.Add(float64(users)) }

// AccessPolicyErrors implements access.Metrics.
func (m *Metrics) AccessPolicyErrors(users int) { m.access.policyErrors.Add(float64(users)) }

// AccessBacklog implements access.Metrics.
func (m *Metrics) AccessBacklog(causes int64, lag time.Duration, usersLeft int64) {
	m.access.causes.Set(float64(causes))
	m.access.lag.Set(lag.Seconds())
	m.access.usersLeft.Set(float64(usersLeft))
}

// AccessCauseResolved implements access.Metrics.
func (m *Metrics) AccessCauseResolved(lag time.Duration) { m.access.causeLag.Observe(lag.Seconds()) }
