package scimapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/server/provision"
)

// errSlot carries, for one request, an error whose status elimity cannot
// send (it turns 503 and 429 into 500): the handler returns a 500 to elimity
// and parks the real error here; the Fiber wrapper then sends this instead.
type errSlot struct {
	err        scimerrors.ScimError
	retryAfter int
	set        bool
	// reason is the refusal the service answered (provision.RefusalReason),
	// for the refusal record; "" when it answered none.
	reason string
}

// scimError maps an error from the service (or from scimdoc, which already
// speaks SCIM) to the SCIM error value elimity sends. Unknown errors are
// logged with the request id and answered with a bare 500.
func scimError(ctx context.Context, err error) error {
	var se scimerrors.ScimError
	if errors.As(err, &se) {
		return se
	}
	var pe *provision.Error
	if !errors.As(err, &pe) {
		return internal(ctx, err)
	}
	if slot, ok := ctx.Value(slotKey{}).(*errSlot); ok {
		slot.reason, _ = provision.RefusalReason(pe)
	}
	switch pe.Kind {
	case provision.KindNotFound:
		return scimerrors.ScimError{Status: http.StatusNotFound, Detail: pe.Detail}
	case provision.KindUniqueness:
		return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: pe.Detail}
	case provision.KindInvalid:
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: pe.Detail}
	case provision.KindPrecondition:
		return scimerrors.ScimError{Status: http.StatusPreconditionFailed, Detail: pe.Detail}
	case provision.KindLicenseExhausted:
		return scimerrors.ScimError{Status: http.StatusForbidden, Detail: pe.Detail}
	case provision.KindConflict:
		return park(ctx, scimerrors.ScimError{Status: http.StatusConflict, Detail: pe.Detail}, 0)
	case provision.KindForbidden:
		return scimerrors.ScimError{Status: http.StatusForbidden, Detail: pe.Detail}
	case provision.KindQuotaExceeded:
		// 403 like an exhausted license: retrying cannot help until the
		// operator raises the quota, and Entra retries 5xx but logs a 4xx
		// against the object, where the detail tells the admin why.
		return scimerrors.ScimError{Status: http.StatusForbidden, Detail: pe.Detail}
	case provision.KindUnauthorized:
		// Parked: elimity would send it without WWW-Authenticate.
		return park(ctx, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: pe.Detail}, 0)
	case provision.KindAuditFull:
		return park(ctx, scimerrors.ScimError{Status: http.StatusTooManyRequests, Detail: pe.Detail}, retrySeconds(pe.RetryAfter))
	case provision.KindUnavailable:
		slog.WarnContext(ctx, "store unavailable", "request_id", requestID(ctx), "err", err)
		return park(ctx, scimerrors.ScimError{Status: http.StatusServiceUnavailable, Detail: pe.Detail}, retryAfterSeconds)
	}
	return internal(ctx, err)
}

const retryAfterSeconds = 5

func internal(ctx context.Context, err error) error {
	slog.ErrorContext(ctx, "internal error", "request_id", requestID(ctx), "err", err)
	return park(ctx, scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error; request id " + requestID(ctx)}, 0)
}

// park stores e in the request's slot when there is one and returns the 500
// that elimity will accept for any method.
func park(ctx context.Context, e scimerrors.ScimError, retryAfter int) error {
	if slot, ok := ctx.Value(slotKey{}).(*errSlot); ok {
		slot.err, slot.retryAfter, slot.set = e, retryAfter, true
	}
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: e.Detail}
}

// retrySeconds rounds d up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

func retryAfterHeader(n int) string { return strconv.Itoa(n) }
