// Package httpstatus maps the provisioning service's error kinds to HTTP
// statuses. It is the one table the edges (SCIM, admin API, decision API,
// console) answer from: each edge renders the status in its own format, but
// none keeps a mapping of its own to drift from the others.
package httpstatus

import (
	"net/http"
	"time"

	"github.com/scimd/scimd/server/provision"
)

// statuses holds every kind but KindInternal; TestEveryKind keeps it whole.
var statuses = map[provision.Kind]int{
	provision.KindNotFound:         http.StatusNotFound,
	provision.KindUniqueness:       http.StatusConflict,
	provision.KindInvalid:          http.StatusBadRequest,
	provision.KindPrecondition:     http.StatusPreconditionFailed,
	provision.KindLicenseExhausted: http.StatusForbidden,
	provision.KindUnavailable:      http.StatusServiceUnavailable,
	provision.KindConflict:         http.StatusConflict,
	provision.KindUnauthorized:     http.StatusUnauthorized,
	provision.KindForbidden:        http.StatusForbidden,
	provision.KindInUse:            http.StatusConflict,
	// 403 like an exhausted license: retrying cannot help until the
	// operator raises the quota (and Entra retries 5xx, but logs a 4xx
	// against the object, where the detail tells the admin why).
	provision.KindQuotaExceeded: http.StatusForbidden,
	provision.KindAuditFull:     http.StatusTooManyRequests,
	provision.KindThrottled:     http.StatusTooManyRequests,
}

// Of returns the status for an error of kind k: 500 for KindInternal and for
// a kind the table lacks (the edge then logs the error and hides its detail).
func Of(k provision.Kind) int {
	if s, ok := statuses[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// UnavailableRetry is the Retry-After, in seconds, of a 503 from an
// unreachable store: long enough for a failover, short for a client.
const UnavailableRetry = 5

// RetryAfter returns the Retry-After seconds to send with e, 0 for none: the
// service's own RetryAfter (an audit log full, a throttled client) rounded
// up to whole seconds, else UnavailableRetry for KindUnavailable.
func RetryAfter(e *provision.Error) int {
	if e.RetryAfter > 0 {
		return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
	}
	if e.Kind == provision.KindUnavailable {
		return UnavailableRetry
	}
	return 0
}
