package httpstatus_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
)

// TestEveryKind: every kind of the service's errors has a status of its own
// (a kind added without one would be a 500 on every edge), and only
// KindInternal is a 500.
func TestEveryKind(t *testing.T) {
	for _, k := range provision.Kinds() {
		got := httpstatus.Of(k)
		if k == provision.KindInternal {
			if got != http.StatusInternalServerError {
				t.Errorf("KindInternal: %d, want 500", got)
			}
			continue
		}
		if got < 400 || got >= 600 || got == http.StatusInternalServerError {
			t.Errorf("kind %d: status %d, want its own 4xx or 503", k, got)
		}
	}
	if got := httpstatus.Of(provision.Kind(len(provision.Kinds()))); got != http.StatusInternalServerError {
		t.Errorf("a kind past the last: %d, want 500", got)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  provision.Error
		want int
	}{
		{"unavailable", provision.Error{Kind: provision.KindUnavailable}, httpstatus.UnavailableRetry},
		{"throttled, rounded up", provision.Error{Kind: provision.KindThrottled, RetryAfter: 1500 * time.Millisecond}, 2},
		{"throttled, under a second", provision.Error{Kind: provision.KindThrottled, RetryAfter: time.Millisecond}, 1},
		{"audit full", provision.Error{Kind: provision.KindAuditFull, RetryAfter: time.Hour}, 3600},
		{"not found", provision.Error{Kind: provision.KindNotFound}, 0},
	} {
		if got := httpstatus.RetryAfter(&tc.err); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
