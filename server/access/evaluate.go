// Package access keeps every user's effective access decided and stored
// (issue 12): Evaluate asks the policies for the decisions of a batch of
// users, and the Resolver re-decides, in the background, the users each
// write made stale (the causes of the tenant's outbox), storing each
// decision with its change feed entry. Go decides when to ask the policies,
// never what they answer.
package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// Engine is what deciding asks of the policies.
type Engine interface {
	ResolveRoles(ctx context.Context, in policies.RoleInput) (policies.Access, error)
	Revision() string
}

// Reader is what Evaluate reads from storage.
type Reader interface {
	AccessInputs(ctx context.Context, tenant string, uids []string) (storage.AccessInputs, error)
}

// Decision is one user's access as the policies decided it.
type Decision struct {
	Access policies.Access
	// InputHash is the SHA-256 (hex) of the policy input, canonical JSON:
	// users with equal hashes got one evaluation.
	InputHash string
	// Err is the policy's failure for this user's input (Access is then
	// zero): ctx.Err(), policies.ErrEval, ErrUndefined or ErrMultipleResults.
	Err error
}

// Evaluation is the decisions of a batch of users.
type Evaluation struct {
	// Revision is the policy revision that decided.
	Revision string
	// Decisions holds a decision for each user that exists.
	Decisions map[string]Decision
	// Subjects are the users as read, in the order asked, with the stored
	// record each had (Exists false: no such user).
	Subjects []storage.AccessSubject
	// Signatures is the number of distinct inputs, each decided once.
	Signatures int
	// Evaluations is how many of them the policies were asked (the others
	// were known).
	Evaluations int
}

// Evaluate decides the access of the users uids: it reads them, their
// groups and the tenant's grants, custom roles and sub-accounts (two round
// trips), groups the users whose policy input is the same (the same grants
// through their groups, the same active flag) and asks the policies once per
// input. A policy failure is per input, in Decision.Err; the error returned
// is the read's: storage.ErrUnavailable.
func Evaluate(ctx context.Context, eng Engine, st Reader, tenant string, uids []string) (Evaluation, error) {
	return evaluate(ctx, eng, st, tenant, uids, nil)
}

// evaluate is Evaluate that takes decisions from known (by input hash)
// where it has them, and adds those it makes; nil knows nothing.
func evaluate(ctx context.Context, eng Engine, st Reader, tenant string, uids []string, known *known) (Evaluation, error) {
	in, err := st.AccessInputs(ctx, tenant, uids)
	if err != nil {
		return Evaluation{}, err
	}
	return evaluateInputs(ctx, eng, in, known), nil
}

// known remembers the policies' answers by input hash, so that a job's
// batches ask once per distinct input: the hash covers the whole input
// (roles, sub-accounts, grants, active), and an Engine runs one revision.
// It is bounded: full, it starts again.
type known struct {
	mu sync.Mutex
	m  map[string]policies.Access
}

// knownMax bounds a known cache.
const knownMax = 10000

func (k *known) get(hash string) (policies.Access, bool) {
	if k == nil {
		return policies.Access{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	a, ok := k.m[hash]
	return a, ok
}

func (k *known) put(hash string, a policies.Access) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= knownMax {
		k.m = map[string]policies.Access{}
	}
	k.m[hash] = a
}

// canonicalInput is the policy input as hashed: encoding/json writes the
// roles' names in order, and the grants come in group order.
type canonicalInput struct {
	Active   bool                     `json:"active"`
	Accounts []string                 `json:"accounts"`
	Roles    map[string]policies.Role `json:"roles"`
	Grants   []policies.Grant         `json:"grants"`
}

// evaluateInputs decides every existing subject of in, once per input.
func evaluateInputs(ctx context.Context, eng Engine, in storage.AccessInputs, known *known) Evaluation {
	roles := make(map[string]policies.Role, len(in.Roles))
	for _, r := range in.Roles {
		roles[r.Name] = policies.Role{Level: policies.Level(r.Level), Permissions: r.Permissions, GroupManager: r.GroupManager, FullAccess: r.FullAccess}
	}
	accounts := in.Accounts
	if accounts == nil {
		accounts = []string{}
	}
	out := Evaluation{Revision: eng.Revision(), Decisions: make(map[string]Decision, len(in.Subjects)), Subjects: in.Subjects}
	bySignature := map[string]Decision{}
	var key strings.Builder
	for _, sub := range in.Subjects {
		if !sub.Exists {
			continue
		}
		grants := []policies.Grant{}
		key.Reset()
		if sub.Active {
			key.WriteString("a")
		} else {
			key.WriteString("i")
		}
		for _, g := range sub.Groups {
			for _, gr := range in.Grants[g] {
				grants = append(grants, policies.Grant{Group: g, Scope: policies.Level(gr.Scope), Account: gr.Account, Role: gr.Role})
				for _, s := range []string{g, gr.Scope, gr.Account, gr.Role} {
					key.WriteByte(0)
					key.WriteString(s)
				}
			}
		}
		sig := key.String()
		d, ok := bySignature[sig]
		if !ok {
			var asked bool
			d, asked = decide(ctx, eng, policies.RoleInput{Roles: roles, Accounts: accounts, Grants: grants, Inactive: !sub.Active}, known)
			bySignature[sig] = d
			if asked {
				out.Evaluations++
			}
		}
		out.Decisions[sub.ID] = d
	}
	out.Signatures = len(bySignature)
	return out
}

// decide hashes the input and asks the policies, unless known has their
// answer to it; asked says whether they were asked.
func decide(ctx context.Context, eng Engine, in policies.RoleInput, known *known) (Decision, bool) {
	raw, err := json.Marshal(canonicalInput{Active: !in.Inactive, Accounts: in.Accounts, Roles: in.Roles, Grants: in.Grants})
	if err != nil {
		// Plain strings, bools and lists: failing is a bug.
		panic("access: input does not encode: " + err.Error())
	}
	sum := sha256.Sum256(raw)
	d := Decision{InputHash: hex.EncodeToString(sum[:])}
	if a, ok := known.get(d.InputHash); ok {
		d.Access = a
		return d, false
	}
	d.Access, d.Err = eng.ResolveRoles(ctx, in)
	if d.Err != nil {
		d.Access = policies.Access{}
		return d, true
	}
	known.put(d.InputHash, d.Access)
	return d, true
}
