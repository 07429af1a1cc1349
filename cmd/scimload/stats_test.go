package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", ms(7), 50, 7 * time.Millisecond},
		{"one value p99", ms(7), 99, 7 * time.Millisecond},
		{"two values p50 is the lower", ms(1, 2), 50, 1 * time.Millisecond},
		{"two values p51 is the upper", ms(1, 2), 51, 2 * time.Millisecond},
		{"four values p50", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"four values p75", ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{"four values p95", ms(1, 2, 3, 4), 95, 4 * time.Millisecond},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p95", hundred, 95, 95 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p100", hundred, 100, 100 * time.Millisecond},
		{"hundred p0 is the minimum", hundred, 0, 1 * time.Millisecond},
		{"outlier shows in p99 of 10", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 900), 99, 900 * time.Millisecond},
		{"outlier hides from p90 of 10", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 900), 90, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name   string
		lat    []time.Duration
		errors int
		wall   time.Duration
		want   Summary
	}{
		{
			name: "empty",
			wall: time.Second,
			want: Summary{Name: "x", WallSeconds: 1},
		},
		{
			name: "unsorted input, rate over the wall clock",
			lat:  ms(4, 1, 3, 2),
			wall: 2 * time.Second, errors: 1,
			want: Summary{Name: "x", Requests: 4, Errors: 1, WallSeconds: 2, RequestsPerSec: 2,
				P50: Millis(2 * time.Millisecond), P95: Millis(4 * time.Millisecond),
				P99: Millis(4 * time.Millisecond), Max: Millis(4 * time.Millisecond)},
		},
		{
			name: "zero wall clock gives no rate",
			lat:  ms(5),
			want: Summary{Name: "x", Requests: 1, P50: Millis(5 * time.Millisecond), P95: Millis(5 * time.Millisecond),
				P99: Millis(5 * time.Millisecond), Max: Millis(5 * time.Millisecond)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize("x", tt.lat, tt.errors, tt.wall)); diff != "" {
				t.Errorf("summarize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPhaseSummary(t *testing.T) {
	p := newPhase("user create", 3)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.start, p.end = t0, t0.Add(time.Second)
	for _, d := range ms(3, 1, 2) {
		p.record("filter", d, false)
	}
	p.record("POST", 10*time.Millisecond, false)
	p.record("POST", 20*time.Millisecond, true)
	p.done.Add(3)
	p.items.Add(2)
	got := p.Summary()
	if got.Requests != 5 || got.Errors != 1 || got.Done != 3 || got.Jobs != 3 || got.Items != 2 || got.ItemsPerSec != 2 || got.RequestsPerSec != 5 {
		t.Errorf("phase row = %+v", got)
	}
	if got.Max != Millis(20*time.Millisecond) || got.P50 != Millis(3*time.Millisecond) {
		t.Errorf("p50 %v max %v, want 3ms and 20ms", got.P50, got.Max)
	}
	var names []string
	for _, o := range got.Ops {
		names = append(names, o.Name)
	}
	if diff := cmp.Diff([]string{"filter", "POST"}, names); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	if got.Ops[1].Errors != 1 || got.Ops[1].Requests != 2 {
		t.Errorf("POST row = %+v", got.Ops[1])
	}

	var buf bytes.Buffer
	if err := writeTable(&buf, []Summary{got}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "user create ") || !strings.HasPrefix(lines[3], "  POST ") {
		t.Errorf("table:\n%s", buf.String())
	}
}

func TestMillis(t *testing.T) {
	tests := []struct {
		d       time.Duration
		str, js string
	}{
		{0, "-", "0"},
		{1234 * time.Microsecond, "1.23ms", "1.234"},
		{45678 * time.Microsecond, "45.7ms", "45.678"},
		{12 * time.Second, "12.0s", "12000"},
	}
	for _, tt := range tests {
		js, err := Millis(tt.d).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if Millis(tt.d).String() != tt.str || string(js) != tt.js {
			t.Errorf("%v: got %q and %s, want %q and %s", tt.d, Millis(tt.d).String(), js, tt.str, tt.js)
		}
	}
}
