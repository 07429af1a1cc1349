package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Series records every latency and error of one kind of request in a phase
// (for example the filter GETs of "user create").
type Series struct {
	Name string

	mu     sync.Mutex
	lat    []time.Duration
	errors int
}

// record adds one request that answered (or failed) after d.
func (s *Series) record(d time.Duration, failed bool) {
	s.mu.Lock()
	s.lat = append(s.lat, d)
	if failed {
		s.errors++
	}
	s.mu.Unlock()
}

// Phase is one measured step of a run: its jobs, the series of requests they
// sent, and its wall clock.
type Phase struct {
	Name  string
	Total int // jobs planned

	done     atomic.Int64 // jobs finished
	items    atomic.Int64 // users created, members added, ...
	requests atomic.Int64
	errors   atomic.Int64

	mu     sync.Mutex
	series []*Series
	start  time.Time
	end    time.Time
	// CPU ticks of --cpu-pid processes at the start and end.
	pids       cpuPIDs
	cpu0, cpu1 []int64
}

// newPhase returns a phase of total jobs, not started.
func newPhase(name string, total int) *Phase {
	return &Phase{Name: name, Total: total}
}

// op returns the series named name, creating it on first use; series keep
// the order in which they were first used.
func (p *Phase) op(name string) *Series {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.series {
		if s.Name == name {
			return s
		}
	}
	s := &Series{Name: name}
	p.series = append(p.series, s)
	return s
}

// record adds one request to the series op.
func (p *Phase) record(op string, d time.Duration, failed bool) {
	p.op(op).record(d, failed)
	p.requests.Add(1)
	if failed {
		p.errors.Add(1)
	}
}

// Summary is the table row of a phase or of one of its series.
type Summary struct {
	Name           string    `json:"name"`
	Jobs           int       `json:"jobs,omitempty"`
	Done           int       `json:"done,omitempty"`
	Items          int64     `json:"items,omitempty"`
	Requests       int       `json:"requests"`
	Errors         int       `json:"errors"`
	WallSeconds    float64   `json:"wallSeconds"`
	RequestsPerSec float64   `json:"requestsPerSecond"`
	ItemsPerSec    float64   `json:"itemsPerSecond,omitempty"`
	P50            Millis    `json:"p50Ms"`
	P95            Millis    `json:"p95Ms"`
	P99            Millis    `json:"p99Ms"`
	Max            Millis    `json:"maxMs"`
	Ops            []Summary `json:"ops,omitempty"`
	// CPU is each --cpu-pid process's CPU time over the phase divided by
	// its requests, in microseconds.
	CPU map[string]float64 `json:"cpuMicrosPerRequest,omitempty"`
}

// Millis is a duration shown and encoded in milliseconds.
type Millis time.Duration

// MarshalJSON encodes m as milliseconds with microsecond precision.
func (m Millis) MarshalJSON() ([]byte, error) {
	return json.Marshal(float64(time.Duration(m).Microseconds()) / 1000)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Millis(math.Round(v * float64(time.Millisecond)))
	return nil
}

// String shows m for the table: two decimals under 10ms, one above, seconds from 10s.
func (m Millis) String() string {
	d := time.Duration(m)
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

// summarize computes a row from latencies (sorted in place), an error count
// and the wall clock the requests took.
func summarize(name string, lat []time.Duration, errors int, wall time.Duration) Summary {
	slices.Sort(lat)
	s := Summary{Name: name, Requests: len(lat), Errors: errors, WallSeconds: wall.Seconds(),
		P50: Millis(percentile(lat, 50)), P95: Millis(percentile(lat, 95)), P99: Millis(percentile(lat, 99))}
	if len(lat) > 0 {
		s.Max = Millis(lat[len(lat)-1])
	}
	if wall > 0 {
		s.RequestsPerSec = float64(len(lat)) / wall.Seconds()
	}
	return s
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value with at least p% of the values at or below it. It is exact:
// no interpolation, no buckets. An empty slice gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summary returns the phase's row, with a row per series when it has more
// than one. Call it once the phase has ended.
func (p *Phase) Summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	wall := p.end.Sub(p.start)
	var all []time.Duration
	var errs int
	var ops []Summary
	for _, s := range p.series {
		s.mu.Lock()
		lat := slices.Clone(s.lat)
		e := s.errors
		s.mu.Unlock()
		all = append(all, lat...)
		errs += e
		ops = append(ops, summarize(s.Name, lat, e, wall))
	}
	sum := summarize(p.Name, all, errs, wall)
	sum.Jobs, sum.Done, sum.Items = p.Total, int(p.done.Load()), p.items.Load()
	if wall > 0 {
		sum.ItemsPerSec = float64(sum.Items) / wall.Seconds()
	}
	if len(ops) > 1 {
		sum.Ops = ops
	}
	for i, proc := range p.pids {
		if i < len(p.cpu0) && i < len(p.cpu1) && p.cpu0[i] >= 0 && p.cpu1[i] >= 0 && sum.Requests > 0 {
			if sum.CPU == nil {
				sum.CPU = map[string]float64{}
			}
			sum.CPU[proc.Name] = float64(p.cpu1[i]-p.cpu0[i]) * 1e6 / clockTicks / float64(sum.Requests)
		}
	}
	return sum
}

// writeTable prints one row per phase (and an indented row per series of a
// phase that sent more than one kind of request): names left-aligned,
// figures right-aligned.
func writeTable(w io.Writer, rows []Summary) error {
	width := len("phase")
	for _, r := range rows {
		width = max(width, len(r.Name))
		for _, o := range r.Ops {
			width = max(width, len(o.Name)+2)
		}
	}
	const figures = "%11s %9s %7s %8s %8s %8s %8s %8s %8s\n"
	line := func(name string, cells ...any) error {
		_, err := fmt.Fprintf(w, "%-*s "+figures, append([]any{width, name}, cells...)...)
		return err
	}
	if err := line("phase", "done/jobs", "requests", "errors", "req/s", "items/s", "p50", "p95", "p99", "max"); err != nil {
		return err
	}
	for _, r := range rows {
		if err := line(r.Name, fmt.Sprintf("%d/%d", r.Done, r.Jobs), fmt.Sprint(r.Requests), fmt.Sprint(r.Errors),
			fmt.Sprintf("%.0f", r.RequestsPerSec), fmt.Sprintf("%.0f", r.ItemsPerSec), r.P50, r.P95, r.P99, r.Max); err != nil {
			return err
		}
		for _, o := range r.Ops {
			if err := line("  "+o.Name, "", fmt.Sprint(o.Requests), fmt.Sprint(o.Errors),
				fmt.Sprintf("%.0f", o.RequestsPerSec), "", o.P50, o.P95, o.P99, o.Max); err != nil {
				return err
			}
		}
	}
	return nil
}

// started returns when the phase began.
func (p *Phase) started() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.start
}

// writeCPU prints each phase's CPU time per request of the --cpu-pid
// processes, under the table.
func writeCPU(w io.Writer, pids cpuPIDs, rows []Summary) {
	if len(pids) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCPU per request (µs):")
	for _, p := range pids {
		fmt.Fprintf(w, " %10s", p.Name)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-18s", r.Name)
		for _, p := range pids {
			if v, ok := r.CPU[p.Name]; ok {
				fmt.Fprintf(w, " %10.0f", v)
			} else {
				fmt.Fprintf(w, " %10s", "-")
			}
		}
		fmt.Fprintln(w)
	}
}
