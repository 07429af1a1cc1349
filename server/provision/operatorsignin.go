package provision

import (
	"context"
	"log/slog"
)

// OperatorSignInAllowed holds the console's operator sign-ins to the same
// per-address limit of failures as the tenants' sign-ins (never per
// tenant): call it before checking the token with failed false, and again
// with failed true when the token was wrong. There is no operator audit
// log: a failure is a warning in the log (bounded by the limit), and the
// metric counts every outcome.
// Returns KindThrottled, KindUnavailable.
func (s *Service) OperatorSignInAllowed(ctx context.Context, ip string, lim SessionLimits, failed bool) error {
	if failed {
		slog.WarnContext(ctx, "console: failed operator sign-in", "ip", ip)
	}
	return s.signInAllowed(ctx, "operator", ip, lim, failed)
}

// OperatorSignedIn records an operator's sign-in to the console: a log
// line, as there is no operator audit log, and the metric.
func (s *Service) OperatorSignedIn(ctx context.Context, ip string) {
	slog.InfoContext(ctx, "console: operator signed in", "ip", ip)
	s.metrics.ConsoleSignIn("operator", "ok")
}
