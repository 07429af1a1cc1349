package access

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// Record is a user's stored decision (the value of t:{T}:access:user:<uid>,
// helpers/ACCESS.md).
type Record struct {
	User       string                             `json:"user"`
	Active     bool                               `json:"active"`
	Enterprise *policies.EffectiveRole            `json:"enterprise"`
	Accounts   map[string]*policies.EffectiveRole `json:"accounts"`
	Revision   string                             `json:"revision"`
	Generation int64                              `json:"generation"`
	InputHash  string                             `json:"input_hash"`
	ETag       string                             `json:"etag"`
	DecidedAt  time.Time                          `json:"decided_at"`
	// Stale: the last attempt to decide again failed (a policy error);
	// the decision is the previous one.
	Stale bool `json:"stale"`
}

// Access is the decision part of the record, what the feed compares.
func (r Record) Access() policies.Access {
	return policies.Access{Active: r.Active, Enterprise: r.Enterprise, Accounts: r.Accounts}
}

// Cause is what made a user's decision change, as the feed shows it.
type Cause struct {
	Kind       string `json:"kind"`
	ID         string `json:"id"`
	Generation int64  `json:"generation"`
}

// FeedEntry is one entry of the change feed (field e, helpers/ACCESS.md).
type FeedEntry struct {
	User       string           `json:"user"`
	UserName   string           `json:"userName"`
	ExternalID string           `json:"externalId"`
	Old        *policies.Access `json:"old"` // nil: the user had no decision
	New        *policies.Access `json:"new"` // nil: the user was deleted
	Cause      Cause            `json:"cause"`
	Revision   string           `json:"revision"`
	Generation int64            `json:"generation"`
	At         time.Time        `json:"at"`
}

// etag hashes what a reader of the decision sees change: the decision and
// the revision that made it.
func etag(a policies.Access, revision string) string {
	raw := mustJSON(struct {
		A policies.Access `json:"a"`
		R string          `json:"r"`
	}{a, revision})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// parseRecord decodes a stored record; ok false for one that does not
// decode (it is then treated as absent and overwritten).
func parseRecord(raw []byte) (Record, bool) {
	if raw == nil {
		return Record{}, false
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Record{}, false
	}
	return r, true
}

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		// Plain data: failing is a bug.
		panic("access: does not encode: " + err.Error())
	}
	return raw
}

// change is what the batch writes for one user: the write and whether the
// decision changed, for the counts.
type change struct {
	write   storage.DecisionWrite
	changed bool
}

// plan builds the writes of one evaluated batch: a new record for every
// user decided (with a feed entry when the decision differs from the stored
// one, or when there was none), the stored record marked stale for a user
// whose input the policy failed on (never a record with more access), and
// the deletion of the record of a user that no longer exists.
//
// causeOf gives each user's cause, and the index of its audit event in the
// batch (DecisionWrite.Cause).
func plan(ev Evaluation, causeOf func(uid string) (Cause, int), at time.Time) (out []change, failed int) {
	enc := newEncoder(ev.Revision, at)
	for _, sub := range ev.Subjects {
		cause, ci := causeOf(sub.ID)
		d, decided := ev.Decisions[sub.ID]
		// The stored decision: in place, once per distinct one, unless this
		// user's policy input failed (then the whole record is rewritten).
		var old *oldAccess
		var stored Record
		hadOld := false
		if sub.Record != nil && (!decided || d.Err == nil) {
			old, hadOld = enc.old(sub.Record)
		}
		if sub.Record != nil && !hadOld {
			stored, hadOld = parseRecord(sub.Record)
			if hadOld {
				old = newOldAccess(stored.Access())
			}
		}
		var oldJSON []byte
		if hadOld {
			oldJSON = old.json
		}
		w := storage.DecisionWrite{User: sub.ID, Read: sub.Record, Cause: ci}
		if !sub.Exists {
			if sub.Record == nil {
				continue
			}
			if hadOld {
				w.Entry = enc.entry(sub.ID, sub.UserName, sub.ExternalID, oldJSON, nil, cause)
			}
			out = append(out, change{write: w, changed: hadOld})
			continue
		}
		if d.Err != nil {
			failed++
			if hadOld && !stored.Stale {
				stored.Stale = true
				w.Record = mustJSON(stored)
				out = append(out, change{write: w})
			}
			continue
		}
		na := enc.decision(d.InputHash, d.Access)
		w.Record = enc.record(sub.ID, na, d.InputHash, cause.Generation)
		changed := !hadOld || !bytes.Equal(old.same, na.json)
		if changed {
			w.Entry = enc.entry(sub.ID, sub.UserName, sub.ExternalID, oldJSON, na.json, cause)
		}
		out = append(out, change{write: w, changed: changed})
	}
	return out, failed
}
