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

// newRecord is the record of a decision made at revision for generation.
func newRecord(uid string, a policies.Access, inputHash, revision string, gen int64, at time.Time) Record {
	if a.Accounts == nil {
		a.Accounts = map[string]*policies.EffectiveRole{}
	}
	r := Record{User: uid, Active: a.Active, Enterprise: a.Enterprise, Accounts: a.Accounts, Revision: revision,
		Generation: gen, InputHash: inputHash, DecidedAt: at.UTC()}
	r.ETag = etag(a, revision)
	return r
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

// sameAccess reports whether two decisions are equal (JSON writes the
// accounts in order, so equal decisions encode equal).
func sameAccess(a, b policies.Access) bool {
	if a.Accounts == nil {
		a.Accounts = map[string]*policies.EffectiveRole{}
	}
	if b.Accounts == nil {
		b.Accounts = map[string]*policies.EffectiveRole{}
	}
	return bytes.Equal(mustJSON(a), mustJSON(b))
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
	for _, sub := range ev.Subjects {
		cause, ci := causeOf(sub.ID)
		old, hadOld := parseRecord(sub.Record)
		entry := FeedEntry{User: sub.ID, UserName: sub.UserName, ExternalID: sub.ExternalID, Cause: cause,
			Revision: ev.Revision, Generation: cause.Generation, At: at.UTC()}
		if hadOld {
			a := old.Access()
			entry.Old = &a
		}
		w := storage.DecisionWrite{User: sub.ID, Read: sub.Record, Cause: ci}
		if !sub.Exists {
			if sub.Record == nil {
				continue
			}
			if hadOld {
				w.Entry = mustJSON(entry)
			}
			out = append(out, change{write: w, changed: hadOld})
			continue
		}
		d := ev.Decisions[sub.ID]
		if d.Err != nil {
			failed++
			if hadOld && !old.Stale {
				old.Stale = true
				w.Record = mustJSON(old)
				out = append(out, change{write: w})
			}
			continue
		}
		rec := newRecord(sub.ID, d.Access, d.InputHash, ev.Revision, cause.Generation, at)
		w.Record = mustJSON(rec)
		changed := !hadOld || !sameAccess(old.Access(), d.Access)
		if changed {
			a := rec.Access()
			entry.New = &a
			w.Entry = mustJSON(entry)
		}
		out = append(out, change{write: w, changed: changed})
	}
	return out, failed
}
