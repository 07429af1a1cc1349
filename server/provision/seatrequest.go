package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/scimd/scimd/storage"
)

// SeatRequest is a tenant admin's request for more license seats: the path
// the FAQ calls "purchase additional licenses". It changes no limit; the
// operator reads it and raises the limit (PATCH tenant) or not.
type SeatRequest = storage.SeatRequest

// TenantSeatRequest is a seat request with the tenant that made it, for the
// operator's list.
type TenantSeatRequest struct {
	Tenant string `json:"tenant"`
	SeatRequest
}

// Bounds of a seat request.
const (
	MaxSeatsRequested = 1_000_000
	MaxSeatNoteBytes  = 1000
)

// RequestSeats records a request for more license seats, with the
// license as it stands, and audits it as "license.seats_requested". The
// store keeps the newest storage.MaxSeatRequests of a tenant.
// Returns KindInvalid, KindNotFound, KindAuditFull, KindUnavailable.
func (s *Service) RequestSeats(ctx context.Context, tenant string, seats int64, note string, a Actor) (SeatRequest, error) {
	note = strings.TrimSpace(note)
	switch {
	case seats < 1 || seats > MaxSeatsRequested:
		return SeatRequest{}, &Error{Kind: KindInvalid, Attribute: "seats", Detail: fmt.Sprintf("seats must be between 1 and %d", MaxSeatsRequested)}
	case len(note) > MaxSeatNoteBytes:
		return SeatRequest{}, &Error{Kind: KindInvalid, Attribute: "note", Detail: fmt.Sprintf("note is %d bytes; it may be at most %d", len(note), MaxSeatNoteBytes)}
	case !utf8.ValidString(note):
		return SeatRequest{}, &Error{Kind: KindInvalid, Attribute: "note", Detail: "note is not valid UTF-8"}
	}
	l, err := s.License(ctx, tenant)
	if err != nil {
		return SeatRequest{}, err
	}
	r := SeatRequest{ID: newID(), Time: s.now().UTC(), Seats: seats, Note: note, By: a.User, Limit: l.Limit, SeatsUsed: l.SeatsUsed}
	changes := []Change{{Attribute: "seats", New: seats}}
	if note != "" {
		changes = append(changes, Change{Attribute: "note", New: note})
	}
	ev := s.event(a, "license.seats_requested", "Tenant", tenant, changes)
	if err := s.store.AddSeatRequest(ctx, tenant, r, ev.encode()); err != nil {
		return SeatRequest{}, fromStorage(err, "tenant")
	}
	return r, nil
}

// SeatRequests returns the tenant's seat requests, newest first.
// Returns KindNotFound, KindUnavailable.
func (s *Service) SeatRequests(ctx context.Context, tenant string) ([]SeatRequest, error) {
	if err := s.TenantExists(ctx, tenant); err != nil {
		return nil, err
	}
	all, err := s.store.SeatRequests(ctx, []string{tenant})
	if err != nil {
		return nil, fromStorage(err, "seat requests")
	}
	return all[tenant], nil
}

// AllSeatRequests returns every tenant's seat requests, newest first: the
// operator's list, read in one pipelined round trip after the tenant list.
// Returns KindUnavailable.
func (s *Service) AllSeatRequests(ctx context.Context) ([]TenantSeatRequest, error) {
	ts, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, fromStorage(err, "tenants")
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	all, err := s.store.SeatRequests(ctx, ids)
	if err != nil {
		return nil, fromStorage(err, "seat requests")
	}
	var out []TenantSeatRequest
	for t, rs := range all {
		for _, r := range rs {
			out = append(out, TenantSeatRequest{Tenant: t, SeatRequest: r})
		}
	}
	slices.SortFunc(out, func(a, b TenantSeatRequest) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Tenant, b.Tenant)
	})
	return out, nil
}
