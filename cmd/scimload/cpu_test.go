package main

import (
	"os"
	"testing"
)

func TestCPUPIDsFlag(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"scimd=1234", true},
		{"redis=1", true},
		{"scimd", false},
		{"=12", false},
		{"scimd=0", false},
		{"scimd=x", false},
	} {
		var c cpuPIDs
		if err := c.Set(tc.in); (err == nil) != tc.ok {
			t.Errorf("Set(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// TestCPUTicks reads this very process, whose command name may hold
// spaces and parentheses: the fields are counted after the last ')'.
func TestCPUTicks(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	before, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	after, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before || before < 0 {
		t.Errorf("ticks %d then %d (%d)", before, after, x)
	}
	if _, err := cpuTicks(1 << 30); err == nil {
		t.Error("a process that does not exist was read")
	}
	got := cpuSample(cpuPIDs{{Name: "gone", PID: 1 << 30}})
	if len(got) != 1 || got[0] != -1 {
		t.Errorf("cpuSample of a missing process = %v, want [-1]", got)
	}
}

// TestPhaseCPU: a phase's CPU per request is its processes' ticks over the
// phase divided by its requests; a process that could not be read is left out.
func TestPhaseCPU(t *testing.T) {
	p := newPhase("x", 4)
	for range 4 {
		p.record("GET", 0, false)
	}
	p.pids = cpuPIDs{{Name: "scimd", PID: 1}, {Name: "redis", PID: 2}}
	p.cpu0, p.cpu1 = []int64{10, -1}, []int64{12, 5}
	got := p.Summary().CPU
	if len(got) != 1 || got["scimd"] != 5000 {
		t.Errorf("CPU = %v, want scimd 5000 µs (2 ticks of 10 ms over 4 requests) only", got)
	}
}
