package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"
)

// Refusal is a SCIM write the server refused (license 403, uniqueness or
// ambiguous-link 409, 400), described by the identifiers it carried, never
// by its body.
type Refusal struct {
	Resource    string `json:"resource"` // "User" or "Group"
	ID          string `json:"id,omitempty"`
	UserName    string `json:"userName,omitempty"`
	ExternalID  string `json:"externalId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	// Reason is "licenseExhausted", "uniqueness", "ambiguousLink", or the
	// SCIM error type of a 400 ("invalidValue", "invalidSyntax", ...).
	Reason string `json:"reason"`
	Status int    `json:"status"`
}

// RefusalGroup is the refusals of one identifier and reason in the window.
type RefusalGroup struct {
	Refusal
	Count       int64
	First, Last time.Time
}

// maxIdentifier bounds each identifier kept of a refused request.
const maxIdentifier = 256

// RefusalReason is the reason a refusal records for an error the service
// returned, and false for errors that are not refusals of the request
// (outages, not found, preconditions).
func RefusalReason(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", false
	}
	switch {
	case e.Kind == KindLicenseExhausted:
		return "licenseExhausted", true
	case e.Kind == KindUniqueness && e.ambiguous:
		return "ambiguousLink", true
	case e.Kind == KindUniqueness:
		return "uniqueness", true
	case e.Kind == KindInvalid:
		return "invalidValue", true
	}
	return "", false
}

// RecordRefusal records a refused SCIM write as a "provisioning.refused"
// audit event, grouped: within Options.RefusalWindow, only the first refusal
// of an identifier and reason is an event, the repeats are counted (GET
// license shows both). It is best effort: the refusal already happened, so
// a failure to record it is logged, not returned.
func (s *Service) RecordRefusal(ctx context.Context, tenant string, r Refusal) {
	for _, p := range []*string{&r.ID, &r.UserName, &r.ExternalID, &r.DisplayName} {
		if len(*p) > maxIdentifier {
			*p = strings.ToValidUTF8((*p)[:maxIdentifier], "")
		}
	}
	desc, err := json.Marshal(r)
	if err != nil {
		return // plain strings and an int: cannot happen
	}
	// One group per identifier and reason; hashed to bound the field.
	sum := sha256.Sum256([]byte(strings.Join([]string{r.Reason, r.Resource, r.ID, strings.ToLower(r.UserName), r.ExternalID, strings.ToLower(r.DisplayName)}, "\x00")))
	var changes []Change
	for _, c := range []struct {
		name string
		v    any
	}{{"userName", r.UserName}, {"externalId", r.ExternalID}, {"displayName", r.DisplayName}, {"reason", r.Reason}, {"status", r.Status}} {
		if c.v != "" {
			changes = append(changes, Change{Attribute: c.name, New: c.v})
		}
	}
	ev := s.event(SCIM, "provisioning.refused", r.Resource, r.ID, changes)
	if _, err := s.store.RecordRefusal(ctx, tenant, hex.EncodeToString(sum[:16]), desc, s.now().UTC(), s.opts.RefusalWindow, ev.encode()); err != nil {
		slog.WarnContext(ctx, "recording a refused SCIM request", "tenant", tenant, "err", err)
	}
}

// RecentRefusals lists the tenant's refusal groups of the current window,
// the latest first. Returns KindUnavailable.
func (s *Service) RecentRefusals(ctx context.Context, tenant string) ([]RefusalGroup, error) {
	gs, err := s.store.Refusals(ctx, tenant)
	if err != nil {
		return nil, fromStorage(err, "tenant")
	}
	cutoff := s.now().Add(-s.opts.RefusalWindow)
	out := make([]RefusalGroup, 0, len(gs))
	for _, g := range gs {
		var r Refusal
		if !g.Last.After(cutoff) || json.Unmarshal(g.Descriptor, &r) != nil {
			continue
		}
		out = append(out, RefusalGroup{Refusal: r, Count: g.Count, First: g.First, Last: g.Last})
	}
	return out, nil
}
