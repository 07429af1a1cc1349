package storage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// outboxFixture is the tenant every write-path case starts from: sub-account
// acc1; custom roles Auditor (granted) and Spare (not); users u1..u3 active,
// u4 inactive; group "granted" (an enterprise grant of Auditor) holding u1
// and u2, and group "plain" (no grants) holding u1.
func outboxFixture(t *testing.T, e env) {
	t.Helper()
	ctx := t.Context()
	_, err := e.s.PutAccount(ctx, e.tenant, Account{ID: "acc1", Name: "One", Created: t0}, nil)
	must(t, err)
	for _, r := range []Role{{Name: "Auditor", Level: "enterprise", Permissions: []string{"read"}}, {Name: "Spare", Level: "account"}} {
		_, err := e.s.PutRole(ctx, e.tenant, r, nil)
		must(t, err)
	}
	for _, u := range []User{user("u1", "one"), user("u2", "two", func(u *User) { u.ExternalID = "x2" }), user("u3", "three"), user("u4", "four", inactive)} {
		must(t, e.s.CreateUser(ctx, e.tenant, u, nil))
	}
	must(t, e.s.CreateGroup(ctx, e.tenant, group("granted", "Granted"), []string{"u1", "u2"}, nil))
	must(t, e.s.CreateGroup(ctx, e.tenant, group("plain", "Plain"), []string{"u1"}, nil))
	must(t, e.s.PutGrants(ctx, e.tenant, "granted", auditorGrant, map[string]string{"Auditor": "enterprise"}, nil))
}

var auditorGrant = []Grant{{Scope: "enterprise", Role: "Auditor"}}

// updateUser applies change to the stored user and writes it back.
func updateUser(ctx context.Context, e env, id string, change func(*User)) error {
	prev, err := e.s.GetUser(ctx, e.tenant, id)
	if err != nil {
		return err
	}
	next := prev
	next.Version++
	change(&next)
	return e.s.UpdateUser(ctx, e.tenant, prev, next, []byte(`{}`))
}

// updateGroup applies edit and change to the stored group.
func updateGroup(ctx context.Context, e env, id string, edit func(*Group), change MemberChange) error {
	prev, err := e.s.GetGroup(ctx, e.tenant, id)
	if err != nil {
		return err
	}
	next := prev
	next.Version++
	if edit != nil {
		edit(&next)
	}
	return e.s.UpdateGroup(ctx, e.tenant, prev, next, change, []byte(`{}`))
}

// TestOutboxWrites: every write that can change a user's effective access
// appends exactly its cause, with the next generations, and a write that
// changes no decision or is refused appends nothing.
func TestOutboxWrites(t *testing.T) {
	audit := []byte(`{}`)
	deleted := func(id, userName, externalID string) map[string]any {
		return map[string]any{"kind": CauseUserDeleted, "id": id, "userName": userName, "externalId": externalID}
	}
	tests := []struct {
		name    string
		write   func(ctx context.Context, e env) error
		wantErr error
		want    []outboxItem // Gen counts from 1 after the fixture's
	}{
		{"create user", func(ctx context.Context, e env) error {
			return e.s.CreateUser(ctx, e.tenant, user("u5", "five"), audit)
		}, nil, []outboxItem{{OutboxUsers, "u5", 1, cause(CauseUserCreated, "u5")}}},
		{"create inactive user", func(ctx context.Context, e env) error {
			return e.s.CreateUser(ctx, e.tenant, user("u5", "five", inactive), audit)
		}, nil, []outboxItem{{OutboxUsers, "u5", 1, cause(CauseUserCreated, "u5")}}},
		{"create user refused", func(ctx context.Context, e env) error {
			return e.s.CreateUser(ctx, e.tenant, user("u1", "again"), audit)
		}, ErrExists, nil},
		{"rename user", func(ctx context.Context, e env) error {
			return updateUser(ctx, e, "u1", func(u *User) { u.UserName, u.ExternalID = "uno", "x1" })
		}, nil, nil},
		{"deactivate user", func(ctx context.Context, e env) error {
			return updateUser(ctx, e, "u1", func(u *User) { u.Active = false })
		}, nil, []outboxItem{{OutboxUsers, "u1", 1, cause(CauseActive, "u1")}}},
		{"reactivate user", func(ctx context.Context, e env) error {
			return updateUser(ctx, e, "u4", func(u *User) { u.Active = true })
		}, nil, []outboxItem{{OutboxUsers, "u4", 1, cause(CauseActive, "u4")}}},
		{"deactivate user refused", func(ctx context.Context, e env) error {
			return updateUser(ctx, e, "u1", func(u *User) { u.Active, u.Version = false, u.Version+1 })
		}, errPlain, nil},
		{"delete user", func(ctx context.Context, e env) error {
			return e.s.DeleteUser(ctx, e.tenant, "u2", audit)
		}, nil, []outboxItem{{OutboxUsers, "u2", 1, deleted("u2", "two", "x2")}}},
		{"delete user without externalId", func(ctx context.Context, e env) error {
			return e.s.DeleteUser(ctx, e.tenant, "u3", audit)
		}, nil, []outboxItem{{OutboxUsers, "u3", 1, deleted("u3", "three", "")}}},
		{"delete user refused", func(ctx context.Context, e env) error {
			return e.s.DeleteUser(ctx, e.tenant, "u9", audit)
		}, ErrNotFound, nil},
		{"members of a granting group", func(ctx context.Context, e env) error {
			_, err := e.s.ChangeMembers(ctx, e.tenant, "granted", []string{"u3", "u2"}, []string{"u1", "u4"}, t0, audit)
			return err
		}, nil, []outboxItem{{OutboxUsers, "u3 u1", 1, cause(CauseMembership, "granted")}}},
		{"members of a granting group unchanged", func(ctx context.Context, e env) error {
			_, err := e.s.ChangeMembers(ctx, e.tenant, "granted", []string{"u1"}, []string{"u3"}, t0, audit)
			return err
		}, nil, nil},
		{"members of a plain group", func(ctx context.Context, e env) error {
			_, err := e.s.ChangeMembers(ctx, e.tenant, "plain", []string{"u3"}, []string{"u1"}, t0, audit)
			return err
		}, nil, nil},
		{"members refused", func(ctx context.Context, e env) error {
			_, err := e.s.ChangeMembers(ctx, e.tenant, "granted", []string{"u3", "u9"}, nil, t0, audit)
			return err
		}, ErrMemberNotFound, nil},
		{"replace members", func(ctx context.Context, e env) error {
			return updateGroup(ctx, e, "granted", nil, MemberChange{Replace: true, Add: []string{"u2", "u3"}})
		}, nil, []outboxItem{{OutboxUsers, "u1 u3", 1, cause(CauseMembership, "granted")}}},
		{"update group members", func(ctx context.Context, e env) error {
			return updateGroup(ctx, e, "granted", nil, MemberChange{Add: []string{"u4"}, Remove: []string{"u2"}})
		}, nil, []outboxItem{{OutboxUsers, "u4 u2", 1, cause(CauseMembership, "granted")}}},
		{"rename group", func(ctx context.Context, e env) error {
			return updateGroup(ctx, e, "granted", func(g *Group) { g.DisplayName = "Renamed" }, MemberChange{})
		}, nil, nil},
		{"update plain group members", func(ctx context.Context, e env) error {
			return updateGroup(ctx, e, "plain", nil, MemberChange{Replace: true, Add: []string{"u3"}})
		}, nil, nil},
		{"update group refused", func(ctx context.Context, e env) error {
			return updateGroup(ctx, e, "granted", func(g *Group) { g.DisplayName = "Plain" }, MemberChange{Add: []string{"u3"}})
		}, &UniquenessError{Attribute: "displayName", HolderID: "plain"}, nil},
		{"create group", func(ctx context.Context, e env) error {
			return e.s.CreateGroup(ctx, e.tenant, group("new", "New"), []string{"u1", "u3"}, audit)
		}, nil, nil},
		{"create group under grants left behind", func(ctx context.Context, e env) error {
			if err := e.rdb.HSet(ctx, grantsKey(e.tenant), "new", `[{"scope":"enterprise","role":"Auditor"}]`).Err(); err != nil {
				return err
			}
			return e.s.CreateGroup(ctx, e.tenant, group("new", "New"), []string{"u3", "u1"}, audit)
		}, nil, []outboxItem{{OutboxUsers, "u3 u1", 1, cause(CauseMembership, "new")}}},
		{"delete granting group", func(ctx context.Context, e env) error {
			return e.s.DeleteGroup(ctx, e.tenant, "granted", audit)
		}, nil, []outboxItem{{OutboxUsers, "u1 u2", 1, cause(CauseMembership, "granted")}}},
		{"delete plain group", func(ctx context.Context, e env) error {
			return e.s.DeleteGroup(ctx, e.tenant, "plain", audit)
		}, nil, nil},
		{"delete group refused", func(ctx context.Context, e env) error {
			return e.s.DeleteGroup(ctx, e.tenant, "nope", audit)
		}, ErrNotFound, nil},
		{"grant", func(ctx context.Context, e env) error {
			return e.s.PutGrants(ctx, e.tenant, "plain", []Grant{{Scope: "account", Account: "acc1", Role: "Spare"}}, map[string]string{"Spare": "account"}, audit)
		}, nil, []outboxItem{{OutboxGroup, "plain", 1, cause(CauseGrants, "plain")}}},
		{"revoke grants", func(ctx context.Context, e env) error {
			return e.s.PutGrants(ctx, e.tenant, "granted", nil, nil, audit)
		}, nil, []outboxItem{{OutboxGroup, "granted", 1, cause(CauseGrants, "granted")}}},
		{"same grants", func(ctx context.Context, e env) error {
			return e.s.PutGrants(ctx, e.tenant, "granted", auditorGrant, map[string]string{"Auditor": "enterprise"}, audit)
		}, nil, nil},
		{"no grants, none before", func(ctx context.Context, e env) error {
			return e.s.PutGrants(ctx, e.tenant, "plain", nil, nil, audit)
		}, nil, nil},
		{"grant refused", func(ctx context.Context, e env) error {
			return e.s.PutGrants(ctx, e.tenant, "plain", []Grant{{Scope: "account", Account: "acc9", Role: "Spare"}}, nil, audit)
		}, ErrNotFound, nil},
		{"edit role", func(ctx context.Context, e env) error {
			_, err := e.s.PutRole(ctx, e.tenant, Role{Name: "Auditor", Level: "enterprise", Permissions: []string{"read", "export"}}, audit)
			return err
		}, nil, []outboxItem{{OutboxRole, "Auditor", 1, cause(CauseRole, "Auditor")}}},
		{"create role", func(ctx context.Context, e env) error {
			_, err := e.s.PutRole(ctx, e.tenant, Role{Name: "Clerk", Level: "account"}, audit)
			return err
		}, nil, []outboxItem{{OutboxRole, "Clerk", 1, cause(CauseRole, "Clerk")}}},
		{"same role", func(ctx context.Context, e env) error {
			_, err := e.s.PutRole(ctx, e.tenant, Role{Name: "Auditor", Level: "enterprise", Permissions: []string{"read"}}, audit)
			return err
		}, nil, nil},
		{"role refused", func(ctx context.Context, e env) error {
			_, err := e.s.PutRole(ctx, e.tenant, Role{Name: "Auditor", Level: "account"}, audit)
			return err
		}, errRoleInUse, nil},
		{"delete role", func(ctx context.Context, e env) error {
			return e.s.DeleteRole(ctx, e.tenant, "Spare", audit)
		}, nil, []outboxItem{{OutboxRole, "Spare", 1, cause(CauseRole, "Spare")}}},
		{"delete role refused", func(ctx context.Context, e env) error {
			return e.s.DeleteRole(ctx, e.tenant, "Auditor", audit)
		}, errRoleInUse, nil},
		{"create account", func(ctx context.Context, e env) error {
			_, err := e.s.PutAccount(ctx, e.tenant, Account{ID: "acc2", Name: "Two"}, audit)
			return err
		}, nil, []outboxItem{{OutboxAll, "", 1, cause(CauseAccount, "acc2")}}},
		{"rename account", func(ctx context.Context, e env) error {
			_, err := e.s.PutAccount(ctx, e.tenant, Account{ID: "acc1", Name: "Uno"}, audit)
			return err
		}, nil, nil},
		{"delete account", func(ctx context.Context, e env) error {
			_, err := e.s.DeleteAccount(ctx, e.tenant, "acc1", audit)
			return err
		}, nil, []outboxItem{{OutboxAll, "", 1, cause(CauseAccount, "acc1")}}},
		{"delete account refused", func(ctx context.Context, e env) error {
			_, err := e.s.DeleteAccount(ctx, e.tenant, "acc9", audit)
			return err
		}, ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, Options{}, 10, func(t *testing.T, e env) {
				ctx := t.Context()
				outboxFixture(t, e)
				_, gen0, cursor := outboxAfter(t, e, "")
				err := tt.write(ctx, e)
				if tt.wantErr == errRoleInUse {
					var inUse *RoleInUseError
					if !errors.As(err, &inUse) {
						t.Fatalf("err = %v, want a *RoleInUseError", err)
					}
				} else {
					checkErr(t, err, tt.wantErr)
				}
				got, gen, _ := outboxAfter(t, e, cursor)
				want := []outboxItem{}
				for _, w := range tt.want {
					w.Gen += gen0
					want = append(want, w)
				}
				for i := range got {
					if got[i].Kind == OutboxUsers && strings.Contains(tt.name, "delete granting group") {
						ids := strings.Fields(got[i].Target) // a member set's order
						slices.Sort(ids)
						got[i].Target = strings.Join(ids, " ")
					}
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("outbox (-want +got):\n%s", d)
				}
				if want := gen0 + int64(len(tt.want)); gen != want {
					t.Errorf("generation = %d, want %d", gen, want)
				}
			})
		})
	}
}

// errRoleInUse stands for a *RoleInUseError in the table.
var errRoleInUse = errors.New("role in use")

// TestOutboxWriteBound: a write path coalesces into one 'all' when the
// outbox is full, like EnqueueAccess.
func TestOutboxWriteBound(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		outboxFixture(t, e)
		must(t, e.rdb.Del(ctx, accessOutboxKey(e.tenant)).Err())
		fillOutbox(t, e, OutboxMax)
		_, err := e.s.ChangeMembers(ctx, e.tenant, "granted", []string{"u3", "u4"}, nil, t0, nil)
		must(t, err)
		last, err := e.rdb.XRevRangeN(ctx, accessOutboxKey(e.tenant), "+", "-", 1).Result()
		must(t, err)
		en, err := outboxEntry(last[0])
		must(t, err)
		want := OutboxEntry{ID: en.ID, Kind: OutboxAll, Generation: OutboxMax + 1, Cause: []byte(`{"kind":"membership","id":"granted"}`)}
		if d := cmp.Diff(want, en); d != "" {
			t.Errorf("newest entry (-want +got):\n%s", d)
		}
	})
}

// TestOutboxAuditFull: a write refused because the audit log is full
// appends nothing to the outbox either.
func TestOutboxAuditFull(t *testing.T) {
	const limit = 3
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	run(t, Options{AuditMaxLen: limit, AuditMinAge: time.Hour, Clock: clock}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		outboxFixture(t, e)
		for range limit {
			must(t, e.s.AppendAudit(ctx, e.tenant, []byte(`{}`)))
		}
		_, gen0, cursor := outboxAfter(t, e, "")
		var full *AuditFullError
		for name, write := range map[string]func() error{
			"create user": func() error { return e.s.CreateUser(ctx, e.tenant, user("u5", "five"), []byte(`{}`)) },
			"members": func() error {
				_, err := e.s.ChangeMembers(ctx, e.tenant, "granted", []string{"u3"}, nil, t0, []byte(`{}`))
				return err
			},
			"delete user":    func() error { return e.s.DeleteUser(ctx, e.tenant, "u2", []byte(`{}`)) },
			"delete account": func() error { _, err := e.s.DeleteAccount(ctx, e.tenant, "acc1", []byte(`{}`)); return err },
		} {
			if err := write(); !errors.As(err, &full) {
				t.Errorf("%s: %v, want *AuditFullError", name, err)
			}
		}
		got, gen, _ := outboxAfter(t, e, cursor)
		if len(got) != 0 || gen != gen0 {
			t.Errorf("refused writes appended %v, generation %d -> %d", got, gen0, gen)
		}
	})
}

// TestOutboxRepairMember: scimd check --repair moving a user's reverse set
// (the groups the resolver reads for the user) appends the user; a repair
// that does nothing appends nothing.
func TestOutboxRepairMember(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		outboxFixture(t, e)
		must(t, e.rdb.SRem(ctx, userGroupsKey(e.tenant, "u1"), "granted").Err())
		_, gen0, cursor := outboxAfter(t, e, "")
		c := newChecker(e.s, e.tenant, true)
		for _, fix := range []struct {
			gid, uid, op string
			want         bool
		}{
			{"plain", "u3", "add", false},
			{"granted", "u1", "add", true},
		} {
			done, err := c.fixReverse(fix.gid, fix.uid, fix.op)(ctx)
			if err != nil || done != fix.want {
				t.Fatalf("fixReverse(%s, %s, %s) = %v, %v, want %v", fix.gid, fix.uid, fix.op, done, err, fix.want)
			}
		}
		got, _, _ := outboxAfter(t, e, cursor)
		want := []outboxItem{{OutboxUsers, "u1", gen0 + 1, cause(CauseRepair, "granted")}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("outbox (-want +got):\n%s", d)
		}
	})
}
