package storage

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// The re-resolution log (issue 12): a sampled, size-bounded stream per
// tenant of the resolver's decisions, each traced to its input, revision,
// generation and cause. The resolver samples; WriteDecisions appends the
// sampled entries in the script that writes the records, so logging costs
// no round trip and never names a record that was not written.

// AccessLogEntry is one re-resolution of a user's decision.
type AccessLogEntry struct {
	// ID is the stream entry id, the reader's cursor (set on read).
	ID         string    `json:"id,omitempty"`
	User       string    `json:"user"`
	InputHash  string    `json:"inputHash,omitempty"`
	Revision   string    `json:"revision"`
	Generation int64     `json:"generation"`
	Cause      LogCause  `json:"cause"`
	Old        *Summary  `json:"old"` // nil: the user had no decision
	New        *Summary  `json:"new"` // nil: the user is gone
	Changed    bool      `json:"changed"`
	Stale      bool      `json:"stale,omitempty"` // the policy failed; the old decision stays, marked stale
	At         time.Time `json:"at"`
}

// LogCause is what made the resolver decide again.
type LogCause struct {
	Kind       string `json:"kind"`
	ID         string `json:"id"`
	Generation int64  `json:"generation"`
}

// Summary is a decision in a few bytes: its ETag (as the decision API
// served it), whether the user is active, the enterprise role and how many
// sub-accounts grant a role.
type Summary struct {
	ETag       string `json:"etag"`
	Active     bool   `json:"active"`
	Enterprise string `json:"enterprise"`
	Accounts   int    `json:"accounts"`
}

const (
	logUserField  = "u"
	logEntryField = "e"
)

// appendLogArgs adds WriteDecisions' log arguments: the bound, then each
// sampled record's index, user and entry.
func appendLogArgs(args []any, maxLen int64, recs []DecisionWrite) []any {
	k := 0
	for _, r := range recs {
		if r.Log != nil {
			k++
		}
	}
	args = append(args, strconv.FormatInt(maxLen, 10), k)
	for i, r := range recs {
		if r.Log != nil {
			args = append(args, i+1, r.User, r.Log)
		}
	}
	return args
}

// ReadAccessLog returns up to count entries of the tenant's re-resolution
// log newest first, strictly older than before (a stream id; empty means
// from the newest), and the id of the last entry examined ("" when the log
// holds no older one). Only the entries of user are returned when user is
// set; count entries are examined either way, so a filtered page may be
// short while older entries remain. Entries that do not decode are
// skipped. Returns ErrUnavailable, and a plain error for a before that is
// not a stream id.
func (s *Store) ReadAccessLog(ctx context.Context, tenant, user, before string, count int) ([]AccessLogEntry, string, error) {
	msgs, err := s.revRange(ctx, "read access log", accessLogKey(tenant), before, count)
	if err != nil || len(msgs) == 0 {
		return nil, "", err
	}
	var out []AccessLogEntry
	for _, m := range msgs {
		if u, _ := m.Values[logUserField].(string); user != "" && u != user {
			continue
		}
		raw, _ := m.Values[logEntryField].(string)
		var e AccessLogEntry
		if json.Unmarshal([]byte(raw), &e) != nil {
			continue
		}
		e.ID = m.ID
		out = append(out, e)
	}
	last := msgs[len(msgs)-1].ID
	if len(msgs) < count {
		last = ""
	}
	return out, last, nil
}
