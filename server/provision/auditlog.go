package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditQuery selects audit events; empty fields do not filter.
type AuditQuery struct {
	TargetID   string
	TargetType string
	Action     string
	Source     string
	// Actor is an admin token's name, or "operator" for the operator (a
	// name no admin token may take).
	Actor  string
	Since  time.Time // inclusive
	Until  time.Time // inclusive
	Cursor string    // the NextCursor of the previous page
	Count  int
}

// AuditPage is a page of events, newest first. NextCursor is empty when the
// stream holds nothing older that could match.
type AuditPage struct {
	Events     []StoredEvent
	NextCursor string
}

// StoredEvent is an audit event with its position in the stream.
type StoredEvent struct {
	ID string `json:"id"`
	AuditEvent
}

// auditScanLimit bounds the entries one page reads while filtering, so a
// rare filter over a long stream answers with a cursor instead of running on.
const auditScanLimit = 20000

// Audit pages through a tenant's audit stream, newest first.
// Returns KindInvalid (a bad cursor), KindNotFound, KindUnavailable.
func (s *Service) Audit(ctx context.Context, tenant string, q AuditQuery) (AuditPage, error) {
	if _, err := s.store.GetTenant(ctx, tenant); err != nil {
		return AuditPage{}, fromStorage(err, "tenant")
	}
	before := q.Cursor
	if before != "" && !validStreamID(before) {
		return AuditPage{}, &Error{Kind: KindInvalid, Attribute: "cursor", Detail: "cursor is not one this API gave out"}
	}
	if !q.Until.IsZero() {
		// Entries are ordered by their millisecond ids: start just after Until.
		until := fmt.Sprintf("%d-0", q.Until.UnixMilli()+1)
		if before == "" || streamLess(until, before) {
			before = until
		}
	}
	var page AuditPage
	scanned := 0
	for scanned < auditScanLimit {
		batch, err := s.store.ReadAudit(ctx, tenant, before, 500)
		if err != nil {
			return AuditPage{}, fromStorage(err, "audit")
		}
		if len(batch) == 0 {
			return page, nil
		}
		for _, e := range batch {
			scanned++
			before = e.ID
			if !q.Since.IsZero() && e.Time.Before(q.Since.Truncate(time.Millisecond)) {
				return page, nil
			}
			var ev AuditEvent
			if err := json.Unmarshal(e.Event, &ev); err != nil {
				continue // not written by this version; skip rather than fail the page
			}
			if !q.matches(ev) {
				continue
			}
			page.Events = append(page.Events, StoredEvent{ID: e.ID, AuditEvent: ev})
			if len(page.Events) == q.Count {
				page.NextCursor = e.ID
				return page, nil
			}
		}
	}
	page.NextCursor = before
	return page, nil
}

func (q AuditQuery) matches(e AuditEvent) bool {
	return (q.TargetID == "" || e.TargetID == q.TargetID) &&
		(q.TargetType == "" || strings.EqualFold(e.TargetType, q.TargetType)) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.Source == "" || e.Source == q.Source) &&
		(q.Actor == "" || e.Actor != nil && actorIs(*e.Actor, q.Actor))
}

// actorIs matches an event's actor to an actor filter: the operator only by
// the reserved word, anyone else by name. A legacy event's bare "operator"
// may have been a token so named, and an admin token an older release let
// take the name is not the operator: neither matches "operator".
func actorIs(r ActorRef, actor string) bool {
	if r.Kind == ActorOperator || actor == ActorOperator {
		return r.Kind == ActorOperator && actor == ActorOperator
	}
	return r.Name == actor
}
func validStreamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return ok && err1 == nil && err2 == nil
}

// streamLess orders two valid stream ids.
func streamLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ami, _ := strconv.ParseUint(am, 10, 64)
	bmi, _ := strconv.ParseUint(bm, 10, 64)
	if ami != bmi {
		return ami < bmi
	}
	asi, _ := strconv.ParseUint(as, 10, 64)
	bsi, _ := strconv.ParseUint(bs, 10, 64)
	return asi < bsi
}
