package console

import (
	"testing"

	"github.com/scimd/scimd/server/httpstatus/edgetest"
)

// TestErrorStatuses: the console's error pages carry the shared status of
// every kind of error.
func TestErrorStatuses(t *testing.T) {
	edgetest.Renders(t, New(nil, Options{}).fail)
}
