package scimapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestScanGateDefaults: the scan budget is on when nothing is configured,
// and a negative field turns its bound off.
func TestScanGateDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   ScanBudget
		want ScanBudget
	}{
		{"zero", ScanBudget{}, ScanBudget{MaxRecords: DefaultScanMaxRecords, Rate: DefaultScanRate, Burst: DefaultScanMaxRecords, Concurrency: DefaultScanConcurrency, IndexedFree: DefaultScanIndexedFree}},
		{"rate above max", ScanBudget{MaxRecords: 10, Rate: 50}, ScanBudget{MaxRecords: 10, Rate: 50, Burst: 50, Concurrency: DefaultScanConcurrency, IndexedFree: DefaultScanIndexedFree}},
		{"off", ScanBudget{MaxRecords: -1, Rate: -1, Concurrency: -1}, ScanBudget{MaxRecords: -1, Rate: -1, Burst: -1, Concurrency: -1, IndexedFree: DefaultScanIndexedFree}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, newScanGate(tc.in).b); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	g := newScanGate(ScanBudget{MaxRecords: -1, Rate: -1, Concurrency: -1})
	for range 3 {
		if _, err := g.admit(context.Background(), "t", 1<<30); err != nil {
			t.Fatalf("unbounded gate refused: %v", err)
		}
	}
}

// TestScanGateConcurrency: a tenant runs at most Concurrency scans at once
// in a process; the next answers 429 with Retry-After until one ends, and
// other tenants are not held.
func TestScanGateConcurrency(t *testing.T) {
	g := newScanGate(ScanBudget{Concurrency: 2, Rate: -1})
	admit := func(tenant string) (func(), *errSlot) {
		slot := &errSlot{}
		release, err := g.admit(context.WithValue(context.Background(), slotKey{}, slot), tenant, 5)
		if err == nil {
			return release, nil
		}
		if !slot.set {
			t.Fatalf("refusal not parked: %v", err)
		}
		return nil, slot
	}
	r1, _ := admit("a")
	r2, _ := admit("a")
	if r1 == nil || r2 == nil {
		t.Fatal("the first two scans were refused")
	}
	_, slot := admit("a")
	if slot == nil || slot.err.Status != http.StatusTooManyRequests || slot.retryAfter < 1 {
		t.Fatalf("third scan: %+v", slot)
	}
	if rb, _ := admit("b"); rb == nil {
		t.Fatal("another tenant was held")
	}
	r1()
	if r3, _ := admit("a"); r3 == nil {
		t.Fatal("refused after a scan ended")
	}
}
