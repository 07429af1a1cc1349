package policies

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEnterpriseGrantNeverLowersSubAccountAccess is a property test over the
// engine, with a fixed seed: adding an enterprise grant to any user never
// lowers the access they have in any sub-account (a role that grants full
// access to all sub-accounts is inherited whichever enterprise role wins, and
// an explicit sub-account grant is not touched).
func TestEnterpriseGrantNeverLowersSubAccountAccess(t *testing.T) {
	e := mustNew(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(10, 11))
	score := func(er *EffectiveRole) int {
		if er == nil {
			return -1 // no access
		}
		return er.Score
	}
	for i := range 500 {
		in := randomRoleInput(r)
		before, err := e.ResolveRoles(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"Enterprise Admin", "Enterprise Group Manager", "Editor"}
		for name := range in.Roles {
			names = append(names, name)
		}
		slices.Sort(names) // map order must not change what the seed draws
		added := Grant{Group: fmt.Sprintf("new%d", i), Scope: LevelEnterprise, Role: names[r.IntN(len(names))]}
		more := in
		more.Grants = append(slices.Clip(in.Grants), added)
		after, err := e.ResolveRoles(ctx, more)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range in.Accounts {
			if score(after.Accounts[a]) < score(before.Accounts[a]) {
				t.Fatalf("case %d: adding %+v lowered %s from %+v to %+v\nroles %+v\ngrants %+v",
					i, added, a, before.Accounts[a], after.Accounts[a], in.Roles, in.Grants)
			}
		}
	}
}
