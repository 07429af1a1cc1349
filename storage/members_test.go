package storage

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestChangeMembers(t *testing.T) {
	run(t, Options{}, 1000, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g", "G"), nil, nil))
		for i := 0; i < 3; i++ {
			must(t, e.s.CreateUser(ctx, e.tenant, user(fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@x", i)), nil))
		}
		v, err := e.s.ChangeMembers(ctx, e.tenant, "g", []string{"u0", "u1"}, nil, t0.Add(time.Hour), []byte(`{"e":1}`))
		must(t, err)
		if v != 2 {
			t.Errorf("version %d, want 2", v)
		}
		checkMembers(t, e, "g", []string{"u0", "u1"}, "u0", "u1", "u2")
		_, err = e.s.ChangeMembers(ctx, e.tenant, "g", []string{"u2"}, []string{"u0"}, t0, nil)
		must(t, err)
		checkMembers(t, e, "g", []string{"u1", "u2"}, "u0", "u1", "u2")
		g, err := e.s.GetGroup(ctx, e.tenant, "g")
		must(t, err)
		if g.Version != 3 || !g.Modified.Equal(t0) {
			t.Errorf("group after changes: version %d modified %v", g.Version, g.Modified)
		}

		for _, tc := range []struct {
			name   string
			group  string
			add    []string
			tenant string
			want   error
		}{
			{"unknown member", "g", []string{"u1", "ghost"}, e.tenant, ErrMemberNotFound},
			{"unknown group", "nope", []string{"u1"}, e.tenant, ErrNotFound},
			{"unknown tenant", "g", nil, "st-none", ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.s.ChangeMembers(ctx, tc.tenant, tc.group, tc.add, nil, t0, nil)
				checkErr(t, err, tc.want)
			})
		}
		checkMembers(t, e, "g", []string{"u1", "u2"}, "u0", "u1", "u2") // refusals changed nothing
	})
}

// TestChangeMembersConcurrent: concurrent member additions to one group all
// land: the union, nothing lost.
func TestChangeMembersConcurrent(t *testing.T) {
	run(t, Options{}, 1000, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.s.CreateGroup(ctx, e.tenant, group("g", "G"), nil, nil))
		const n = 64
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("c%d", i)
			must(t, e.s.CreateUser(ctx, e.tenant, user(ids[i], ids[i]+"@x"), nil))
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, id := range ids {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				_, err := e.s.ChangeMembers(ctx, e.tenant, "g", []string{id}, nil, t0, nil)
				errs <- err
			}(id)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		members, err := e.s.GroupMembers(ctx, e.tenant, "g")
		must(t, err)
		if len(members) != n {
			t.Fatalf("%d members after %d concurrent adds", len(members), n)
		}
		g, err := e.s.GetGroup(ctx, e.tenant, "g")
		must(t, err)
		if g.Version != n+1 {
			t.Errorf("version %d, want %d", g.Version, n+1)
		}
	})
}

// TestChangeMembersManualGroup: a group made in the app is left alone
// (ErrManualGroup, nothing written): a SCIM member change takes it over,
// which only UpdateGroup can write.
func TestChangeMembersManualGroup(t *testing.T) {
	run(t, Options{}, 1000, func(t *testing.T, e env) {
		ctx := t.Context()
		g := group("g", "G")
		g.ManagedBy = "manual"
		must(t, e.s.CreateGroup(ctx, e.tenant, g, nil, nil))
		must(t, e.s.CreateUser(ctx, e.tenant, user("u0", "u0@x"), nil))
		_, err := e.s.ChangeMembers(ctx, e.tenant, "g", []string{"u0"}, nil, t0.Add(time.Hour), []byte(`{"e":1}`))
		checkErr(t, err, ErrManualGroup)
		checkMembers(t, e, "g", nil, "u0")
		got, err := e.s.GetGroup(ctx, e.tenant, "g")
		must(t, err)
		if got.Version != 1 || got.ManagedBy != "manual" {
			t.Errorf("group after the refusal: version %d managedBy %q", got.Version, got.ManagedBy)
		}
	})
}
