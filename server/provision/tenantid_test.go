package provision

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// tenantIDRegexp is the check ValidTenantID replaced; it accepts exactly
// the same ids.
var tenantIDRegexp = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// TestValidTenantID: the hand-written check accepts what the regexp did,
// on edge cases and on random strings over an alphabet near the valid one.
func TestValidTenantID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"", false},
		{"a", true},
		{"0", true},
		{"-", false},
		{"a-", false},
		{"-a", false},
		{"a-b", true},
		{"a--b", true},
		{"acme", true},
		{"Acme", false},
		{"acme\n", false},
		{"\nacme", false},
		{"ac me", false},
		{"ac_me", false},
		{"ac.me", false},
		{"ac/me", false},
		{"ac{me}", false},
		{"acmé", false},
		{"acme\x00", false},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"a" + strings.Repeat("-", 61) + "a", true},
		{"a" + strings.Repeat("-", 62) + "a", false},
	} {
		if got := ValidTenantID(tc.id); got != tc.want {
			t.Errorf("ValidTenantID(%q) = %v, want %v", tc.id, got, tc.want)
		}
		if re := tenantIDRegexp.MatchString(tc.id); re != tc.want {
			t.Errorf("regexp(%q) = %v, want %v (the table is wrong)", tc.id, re, tc.want)
		}
	}
	const alphabet = "az09-_A.\n \x00\xff{"
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.IntN(70))
		for j := range b {
			// Mostly valid bytes, so that valid ids come up too.
			if r.IntN(10) < 8 {
				b[j] = alphabet[r.IntN(5)]
			} else {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
		}
		id := string(b)
		if got, want := ValidTenantID(id), tenantIDRegexp.MatchString(id); got != want {
			t.Fatalf("ValidTenantID(%q) = %v, the regexp says %v", id, got, want)
		}
	}
}
