package adminapi

import (
	"testing"

	"github.com/scimd/scimd/server/httpstatus/edgetest"
)

// TestErrorStatuses: the admin API answers every kind of error with the
// shared status (KindThrottled too: 429 with Retry-After).
func TestErrorStatuses(t *testing.T) {
	edgetest.Renders(t, (&API{}).fail)
}
