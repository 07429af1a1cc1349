package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestConfigAuditRetention: --audit-min-age (24h by default) takes Go
// durations and whole days; the admin write limit is on by default.
func TestConfigAuditRetention(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		minAge time.Duration
		rate   float64
		burst  int
		err    string
	}{
		{"defaults", nil, nil, 24 * time.Hour, 10, 50, ""},
		{"days", []string{"--audit-min-age", "30d"}, nil, 30 * 24 * time.Hour, 10, 50, ""},
		{"off", nil, map[string]string{"SCIMD_AUDIT_MIN_AGE": "0", "SCIMD_ADMIN_RATE_LIMIT": "0"}, 0, 0, 50, ""},
		{"hours", []string{"--audit-min-age", "36h", "--admin-rate-limit", "2.5", "--admin-rate-burst", "5"}, nil, 36 * time.Hour, 2.5, 5, ""},
		{"bad age", []string{"--audit-min-age", "3x"}, nil, 0, 0, 0, `"3x" is not a duration`},
		{"negative age", []string{"--audit-min-age", "-1h"}, nil, 0, 0, 0, "is not a duration"},
		{"bad days", []string{"--audit-min-age", "1.5d"}, nil, 0, 0, 0, "is not a number of days"},
		{"negative rate", []string{"--admin-rate-limit", "-1"}, nil, 0, 0, 0, "--admin-rate-limit must be"},
		{"no burst", []string{"--admin-rate-burst", "0"}, nil, 0, 0, 0, "--admin-rate-burst must be 1 or more"},
		{"no events", []string{"--audit-max-len", "0"}, nil, 0, 0, 0, "--audit-max-len must be 1 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServeEnv(tc.args, io.Discard, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AuditMinAge != tc.minAge || c.AdminRateLimit != tc.rate || c.AdminRateBurst != tc.burst {
				t.Errorf("got %v %v %v, want %v %v %v", c.AuditMinAge, c.AdminRateLimit, c.AdminRateBurst, tc.minAge, tc.rate, tc.burst)
			}
		})
	}
}
