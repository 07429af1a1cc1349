package main

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/server/scimapi"
)

// TestScanFlags: the scan budget is on by default, set by flag or
// environment, and nonsense is refused before the server starts.
func TestScanFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    scimapi.ScanBudget
		wantErr bool
	}{
		{name: "defaults", want: scimapi.ScanBudget{MaxRecords: 25000, Rate: 20000, Concurrency: 2, IndexedFree: 1000}},
		{name: "flags", args: []string{"--scan-max-records", "1000", "--scan-rate", "500", "--scan-burst", "2000", "--scan-concurrency", "4", "--scan-budget-shared", "--scan-indexed-free", "50"},
			want: scimapi.ScanBudget{MaxRecords: 1000, Rate: 500, Burst: 2000, Concurrency: 4, Shared: true, IndexedFree: 50}},
		{name: "environment", env: map[string]string{"SCIMD_SCAN_RATE": "-1", "SCIMD_SCAN_MAX_RECORDS": "-1", "SCIMD_SCAN_CONCURRENCY": "-1"},
			want: scimapi.ScanBudget{MaxRecords: -1, Rate: -1, Concurrency: -1, IndexedFree: 1000}},
		{name: "zero indexed free", args: []string{"--scan-indexed-free", "0"}, wantErr: true},
		{name: "zero max", args: []string{"--scan-max-records", "0"}, wantErr: true},
		{name: "negative rate", args: []string{"--scan-rate", "-2"}, wantErr: true},
		{name: "NaN rate", args: []string{"--scan-rate", "NaN"}, wantErr: true},
		{name: "negative burst", args: []string{"--scan-burst", "-1"}, wantErr: true},
		{name: "shared without rate", args: []string{"--scan-rate", "-1", "--scan-budget-shared"}, wantErr: true},
		{name: "zero concurrency", args: []string{"--scan-concurrency", "0"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServeEnv(tc.args, io.Discard, env(tc.env))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted %v", tc.args)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, c.Scan); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
