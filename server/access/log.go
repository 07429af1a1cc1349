package access

import (
	"math/rand/v2"

	"github.com/scimd/scimd/storage"
)

// sample draws whether a re-resolution goes to the log (Options.LogSample).
func (r *Resolver) sample() bool {
	p := r.opts.LogSample
	return p >= 1 || p > 0 && rand.Float64() < p
}

// logged gives w its re-resolution log entry, built from the records the
// write already carries; callers build it only for the writes sample drew.
func (r *Resolver) logged(w storage.DecisionWrite, cause Cause) storage.DecisionWrite {
	e := storage.AccessLogEntry{User: w.User, Cause: storage.LogCause(cause), Changed: w.Entry != nil, At: r.opts.Clock().UTC()}
	if old, ok := parseRecord(w.Read); ok {
		e.Old = summary(old)
		e.InputHash, e.Revision, e.Generation = old.InputHash, old.Revision, old.Generation
	}
	if rec, ok := parseRecord(w.Record); ok {
		if rec.Stale {
			// The policy failed: the old decision stays, what it was made of too.
			e.Stale = true
		} else {
			e.New = summary(rec)
			e.InputHash, e.Revision, e.Generation = rec.InputHash, rec.Revision, rec.Generation
		}
	}
	if e.New == nil && !e.Stale {
		e.Generation = cause.Generation // the user is gone
	}
	w.Log = mustJSON(e)
	return w
}

// summary is a decision in a few bytes, for the log.
func summary(rec Record) *storage.Summary {
	s := &storage.Summary{ETag: rec.ETag, Active: rec.Active, Accounts: len(rec.Accounts)}
	if rec.Enterprise != nil {
		s.Enterprise = rec.Enterprise.Role
	}
	return s
}
