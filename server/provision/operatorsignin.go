package provision

import "context"

// OperatorSignInAllowed holds the console's operator sign-ins to the same
// per-address limit of failures as the tenants' sign-ins (never per
// tenant): call it before checking the token with failed false, and again
// with failed true when the token was wrong.
// Returns KindThrottled, KindUnavailable.
func (s *Service) OperatorSignInAllowed(ctx context.Context, ip string, lim SessionLimits, failed bool) error {
	cost := 0
	if failed {
		cost = 1
	}
	ok, wait, err := s.store.TakeConsoleSignInFailure(ctx, ip, lim.FailuresPerSecond, lim.FailureBurst, cost)
	if err != nil {
		return fromStorage(err, "sign-in limit")
	}
	if !ok {
		return &Error{Kind: KindThrottled, RetryAfter: wait, Detail: "too many failed sign-ins from this address; try again later"}
	}
	return nil
}
