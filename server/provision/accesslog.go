package provision

import (
	"context"

	"github.com/scimd/scimd/storage"
)

// AccessLogQuery selects entries of a tenant's re-resolution log.
type AccessLogQuery struct {
	User   string // only this user's entries; empty: everyone's
	Cursor string // the NextCursor of the previous page
	Count  int
}

// AccessLogPage is a page of the re-resolution log, newest first.
// NextCursor is empty when the log holds nothing older.
type AccessLogPage struct {
	Entries    []storage.AccessLogEntry `json:"entries"`
	NextCursor string                   `json:"nextCursor"`
}

// accessLogScanLimit bounds the entries one filtered page examines, so a
// user rare in the log answers with a cursor instead of reading it all.
const accessLogScanLimit = 5000

// AccessLog pages through the tenant's re-resolution log (sampled by the
// resolver: see access.Options.LogSample), newest first.
// Returns KindInvalid (a bad cursor), KindNotFound, KindUnavailable.
func (s *Service) AccessLog(ctx context.Context, tenant string, q AccessLogQuery) (AccessLogPage, error) {
	if err := s.TenantExists(ctx, tenant); err != nil {
		return AccessLogPage{}, err
	}
	if q.Cursor != "" && !validStreamID(q.Cursor) {
		return AccessLogPage{}, &Error{Kind: KindInvalid, Attribute: "cursor", Detail: "cursor is not one this API gave out"}
	}
	page := AccessLogPage{Entries: []storage.AccessLogEntry{}, NextCursor: q.Cursor}
	for scanned := 0; scanned < accessLogScanLimit; {
		n := q.Count - len(page.Entries)
		if q.User != "" {
			n = min(500, accessLogScanLimit-scanned)
		}
		es, next, err := s.store.ReadAccessLog(ctx, tenant, q.User, page.NextCursor, n)
		if err != nil {
			return AccessLogPage{}, fromStorage(err, "access log")
		}
		scanned += n
		for _, e := range es {
			page.Entries = append(page.Entries, e)
			if len(page.Entries) == q.Count {
				page.NextCursor = e.ID
				return page, nil
			}
		}
		page.NextCursor = next
		if next == "" || q.User == "" {
			return page, nil
		}
	}
	return page, nil
}
