package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/server/decisioncache"
)

// decisionCacheCollector reads the decision cache's counters at each
// scrape: the read path counts in the cache itself, with no metric calls.
type decisionCacheCollector struct {
	stats                                  func() decisioncache.Stats
	reads, evictions, changes, drops, size *prometheus.Desc
	entries                                *prometheus.Desc
}

func newDecisionCacheCollector(stats func() decisioncache.Stats) *decisionCacheCollector {
	return &decisionCacheCollector{
		stats: stats,
		reads: prometheus.NewDesc("scimd_decision_cache_reads_total",
			"Decision reads by id: result hit (answered in process), miss (read from Redis and kept), bypass (read from Redis: the cache was not known to hear the replicas' changes).",
			[]string{"result"}, nil),
		evictions: prometheus.NewDesc("scimd_decision_cache_evictions_total", "Cached decisions dropped for room (--decision-cache).", nil, nil),
		changes:   prometheus.NewDesc("scimd_decision_cache_changes_total", "Notices of changed decision records applied to the cache.", nil, nil),
		drops:     prometheus.NewDesc("scimd_decision_cache_drops_total", "Times the whole cache was dropped: its subscription broke or was made again.", nil, nil),
		size:      prometheus.NewDesc("scimd_decision_cache_bytes", "Bytes the cached decisions account for.", nil, nil),
		entries:   prometheus.NewDesc("scimd_decision_cache_entries", "Decisions cached.", nil, nil),
	}
}

func (c *decisionCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.reads, c.evictions, c.changes, c.drops, c.size, c.entries} {
		ch <- d
	}
}

func (c *decisionCacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(s.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(s.Bypassed), "bypass")
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(s.Evictions))
	ch <- prometheus.MustNewConstMetric(c.changes, prometheus.CounterValue, float64(s.Invalidations))
	ch <- prometheus.MustNewConstMetric(c.drops, prometheus.CounterValue, float64(s.Drops))
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Entries))
}
