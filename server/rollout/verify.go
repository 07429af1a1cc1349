package rollout

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/access"
)

// Kinds of finding of VerifyDecisions.
const (
	DecisionMissing  = "missing"        // the user has no stored decision
	DecisionDiffers  = "differs"        // stored at this revision, but not what the policies decide now
	DecisionOutdated = "other_revision" // stored at another policy revision
	DecisionStale    = "stale"          // marked stale: the last attempt to re-decide failed
	DecisionBad      = "unreadable"     // not a decision record
	DecisionError    = "policy_error"   // the policies failed to decide the user now
)

// DecisionFinding is one user whose stored decision is not the fresh one.
type DecisionFinding struct {
	User string `json:"user"`
	Kind string `json:"kind"`
}

// DecisionReport is what VerifyDecisions found in a tenant.
type DecisionReport struct {
	Tenant   string `json:"tenant"`
	Revision string `json:"revision"`
	Users    int    `json:"users"`
	// Counts of findings by kind; Findings lists them (up to the limit).
	Counts   map[string]int    `json:"counts"`
	Findings []DecisionFinding `json:"findings"`
}

// Found is the number of findings.
func (r DecisionReport) Found() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// storedDecision is the part of a stored decision record (ACCESS.md) that
// the policies decide, and what says how it was made.
type storedDecision struct {
	policies.Access
	Revision string `json:"revision"`
	Stale    bool   `json:"stale"`
}

// VerifyDecisions decides every user of the tenant afresh with eng
// (access.Evaluate, as the resolver does) and compares each stored decision
// (t:{T}:access:user:<uid>) with it. It writes nothing; list bounds the
// findings listed (0: all). Returns storage.ErrUnavailable or ctx.Err().
func VerifyDecisions(ctx context.Context, st DiffStore, eng access.Engine, tenant string, pageSize, list int) (DecisionReport, error) {
	if pageSize <= 0 {
		pageSize = 500
	}
	rep := DecisionReport{Tenant: tenant, Revision: eng.Revision(), Counts: map[string]int{}, Findings: []DecisionFinding{}}
	found := func(uid, kind string) {
		rep.Counts[kind]++
		if list <= 0 || len(rep.Findings) < list {
			rep.Findings = append(rep.Findings, DecisionFinding{User: uid, Kind: kind})
		}
	}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return DecisionReport{}, err
		}
		ids, last, err := st.UsersAfter(ctx, tenant, after, pageSize)
		if err != nil {
			return DecisionReport{}, err
		}
		if len(ids) == 0 {
			return rep, nil
		}
		after = last
		ev, err := access.Evaluate(ctx, eng, st, tenant, ids)
		if err != nil {
			return DecisionReport{}, err
		}
		for _, sub := range ev.Subjects {
			d, ok := ev.Decisions[sub.ID]
			if !ok {
				continue // deleted since it was listed
			}
			rep.Users++
			var rec storedDecision
			switch {
			case d.Err != nil:
				if err := ctx.Err(); err != nil {
					return DecisionReport{}, err
				}
				found(sub.ID, DecisionError)
			case sub.Record == nil:
				found(sub.ID, DecisionMissing)
			case json.Unmarshal(sub.Record, &rec) != nil || rec.Revision == "":
				found(sub.ID, DecisionBad)
			case rec.Stale:
				found(sub.ID, DecisionStale)
			case rec.Revision != ev.Revision:
				found(sub.ID, DecisionOutdated)
			case !sameAccess(rec.Access, d.Access):
				found(sub.ID, DecisionDiffers)
			}
		}
	}
}

// sameAccess compares two decisions; a missing accounts map is an empty one.
func sameAccess(a, b policies.Access) bool {
	if len(a.Accounts) == 0 && len(b.Accounts) == 0 {
		a.Accounts, b.Accounts = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
