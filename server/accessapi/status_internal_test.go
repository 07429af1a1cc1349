package accessapi

import (
	"testing"

	"github.com/scimd/scimd/server/httpstatus/edgetest"
)

// TestErrorStatuses: the decision API answers every kind of error with the
// shared status.
func TestErrorStatuses(t *testing.T) {
	edgetest.Renders(t, fail)
}
