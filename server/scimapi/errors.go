package scimapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/server/httpstatus"
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
	status := httpstatus.Of(pe.Kind)
	e := scimerrors.ScimError{Status: status, Detail: pe.Detail}
	switch pe.Kind {
	case provision.KindUniqueness:
		e.ScimType = scimerrors.ScimTypeUniqueness
	case provision.KindInvalid:
		e.ScimType = scimerrors.ScimTypeInvalidValue
	case provision.KindUnavailable:
		slog.WarnContext(ctx, "store unavailable", "request_id", requestID(ctx), "err", err)
	}
	switch status {
	case http.StatusInternalServerError:
		return internal(ctx, err)
	case http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// Parked: elimity turns 429 and 503 into 500, and sends a 401
		// without WWW-Authenticate.
		return park(ctx, e, httpstatus.RetryAfter(pe))
	}
	if pe.Kind == provision.KindConflict {
		// Parked: elimity allows 409 only on POST, PUT, PATCH and DELETE.
		return park(ctx, e, 0)
	}
	return e
}

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

func retryAfterHeader(n int) string { return strconv.Itoa(n) }
