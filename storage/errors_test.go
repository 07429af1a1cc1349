package storage

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// calls exercises every Store method once; each must fail with
// ErrUnavailable when Redis does not answer properly.
func calls(ctx context.Context, s *Store, tenant string) map[string]func() error {
	u := user("u1", "alice")
	next := u
	next.Version++
	g := group("g1", "G")
	ng := g
	ng.Version++
	return map[string]func() error{
		"Ping":         func() error { return s.Ping(ctx) },
		"CreateTenant": func() error { return s.CreateTenant(ctx, Tenant{ID: tenant}) },
		"GetTenant":    func() error { _, err := s.GetTenant(ctx, tenant); return err },
		"ListTenants":  func() error { _, err := s.ListTenants(ctx); return err },
		"UpdateTenant": func() error { return s.UpdateTenant(ctx, Tenant{ID: tenant}, Tenant{ID: tenant}, nil) },
		"DeleteTenant": func() error { return s.DeleteTenant(ctx, tenant) },
		"SeatsUsed":    func() error { _, err := s.SeatsUsed(ctx, tenant); return err },
		"CreateUser":   func() error { return s.CreateUser(ctx, tenant, u, nil) },
		"CreateUserUnlinked": func() error {
			_, err := s.CreateUserUnlinked(ctx, tenant, u, nil)
			return err
		},
		"GetUser":    func() error { _, err := s.GetUser(ctx, tenant, "u1"); return err },
		"GetUsers":   func() error { _, err := s.GetUsers(ctx, tenant, []string{"u1"}); return err },
		"UpdateUser": func() error { return s.UpdateUser(ctx, tenant, u, next, nil) },
		"DeleteUser": func() error { return s.DeleteUser(ctx, tenant, "u1", nil) },
		"FindUsers":  func() error { _, err := s.FindUsers(ctx, tenant, UserByWorkEmail, "a@b.c"); return err },
		"RevokeAdminTokens": func() error {
			_, err := s.RevokeAdminTokens(ctx, tenant, "x", "tenant-admin", nil)
			return err
		},
		"AdminTokenNames":    func() error { _, err := s.AdminTokenNames(ctx, tenant, "tenant-admin"); return err },
		"PublishTokenChange": func() error { return s.PublishTokenChange(ctx, tenant) },
		"UserNamePrefix": func() error {
			_, err := s.UsersWithUserNamePrefix(ctx, tenant, "a", 10)
			return err
		},
		"PageUsers":   func() error { _, _, err := s.PageUsers(ctx, tenant, 0, 10); return err },
		"ScanUsers":   func() error { return s.ScanUsers(ctx, tenant, func([]User) bool { return true }) },
		"UserGroups":  func() error { _, err := s.UserGroups(ctx, tenant, "u1"); return err },
		"CreateGroup": func() error { return s.CreateGroup(ctx, tenant, g, []string{"u1"}, nil) },
		"GetGroup":    func() error { _, err := s.GetGroup(ctx, tenant, "g1"); return err },
		"GetGroups":   func() error { _, err := s.GetGroups(ctx, tenant, []string{"g1"}); return err },
		"UpdateGroup": func() error {
			return s.UpdateGroup(ctx, tenant, g, ng, MemberChange{Replace: true}, nil)
		},
		"DeleteGroup":  func() error { return s.DeleteGroup(ctx, tenant, "g1", nil) },
		"FindGroups":   func() error { _, err := s.FindGroups(ctx, tenant, GroupByExternalID, "x"); return err },
		"PageGroups":   func() error { _, _, err := s.PageGroups(ctx, tenant, 0, 10); return err },
		"ScanGroups":   func() error { return s.ScanGroups(ctx, tenant, func([]Group) bool { return true }) },
		"GroupMembers": func() error { _, err := s.GroupMembers(ctx, tenant, "g1"); return err },
		"IsMember":     func() error { _, err := s.IsMember(ctx, tenant, "g1", "u1"); return err },
		"AppendAudit":  func() error { return s.AppendAudit(ctx, tenant, []byte(`{}`)) },
		"ReadAudit":    func() error { _, err := s.ReadAudit(ctx, tenant, "", 10); return err },
	}
}

func TestUnavailableWhenServerGone(t *testing.T) {
	e, err := StartEmbedded()
	must(t, err)
	opt, err := redis.ParseURL(e.URL())
	must(t, err)
	e.Close() // the port refuses connections from now on
	// Fail at once rather than after go-redis's retries and backoff.
	opt.MaxRetries, opt.DialerRetries = -1, 1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Error(err)
		}
	})
	s := New(rdb, Options{})
	for name, call := range calls(t.Context(), s, "acme") {
		t.Run(name, func(t *testing.T) {
			err := call()
			checkErr(t, err, ErrUnavailable)
			var ue *unavailableError
			if !errors.As(err, &ue) || ue.cause == nil {
				t.Errorf("err %v keeps no cause", err)
			}
		})
	}
}

func TestUnavailableOnErrorReplies(t *testing.T) {
	e, err := StartEmbedded()
	must(t, err)
	t.Cleanup(e.Close)
	s := New(openClient(t, e.URL()), Options{})
	e.srv.SetError("ERR injected")
	for name, call := range calls(t.Context(), s, "acme") {
		t.Run(name, func(t *testing.T) {
			err := call()
			checkErr(t, err, ErrUnavailable)
			if !strings.Contains(err.Error(), "injected") {
				t.Errorf("err %q lost its cause", err)
			}
		})
	}
}

func TestUnavailableOnCanceledContext(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := e.s.CreateUser(ctx, e.tenant, user("u1", "alice"), nil)
		checkErr(t, err, ErrUnavailable)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v does not keep context.Canceled", err)
		}
	})
}

// A key of the wrong type or a record that does not parse is an unexpected
// reply: ErrUnavailable, never a panic or a zero record.
func TestUnavailableOnBadData(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		must(t, e.rdb.Set(ctx, userKey(e.tenant, "str"), "x", 0).Err())
		must(t, e.rdb.HSet(ctx, userKey(e.tenant, "bad"), fVersion, "one").Err())
		must(t, e.rdb.HSet(ctx, groupKey(e.tenant, "bad"), fCreated, "noon", fVersion, "1").Err())
		must(t, e.rdb.HSet(ctx, tenantKey(e.tenant), fLicenseLimit, "many").Err())
		tests := map[string]func() error{
			"wrong type":             func() error { _, err := e.s.GetUser(ctx, e.tenant, "str"); return err },
			"bad version":            func() error { _, err := e.s.GetUser(ctx, e.tenant, "bad"); return err },
			"bad version many":       func() error { _, err := e.s.GetUsers(ctx, e.tenant, []string{"bad"}); return err },
			"bad time":               func() error { _, err := e.s.GetGroup(ctx, e.tenant, "bad"); return err },
			"bad limit":              func() error { _, err := e.s.GetTenant(ctx, e.tenant); return err },
			"delete over wrong type": func() error { return e.s.DeleteUser(ctx, e.tenant, "str", nil) },
			"refusal to link meets a bad record": func() error {
				if err := e.rdb.SAdd(ctx, userEmailIndexKey(e.tenant, "bad@x"), "bad").Err(); err != nil {
					return err
				}
				_, err := e.s.CreateUserUnlinked(ctx, e.tenant, user("u2", "u2", func(u *User) { u.WorkEmail = "bad@x" }), nil)
				return err
			},
			"script meets wrong type": func() error {
				if err := e.rdb.HSet(ctx, seatsKey(e.tenant), "n", "1").Err(); err != nil {
					return err
				}
				return e.s.CreateUser(ctx, e.tenant, user("u1", "alice"), nil)
			},
		}
		for name, call := range tests {
			t.Run(name, func(t *testing.T) { checkErr(t, call(), ErrUnavailable) })
		}
	})
}

func TestScriptResult(t *testing.T) {
	tests := []struct {
		name  string
		reply any
		want  error
	}{
		{"ok", []any{int64(0)}, nil},
		{"not found", []any{int64(1), "user"}, ErrNotFound},
		{"exists", []any{int64(2), "user"}, ErrExists},
		{"unique", []any{int64(3), "userName", "u1"}, &UniquenessError{"userName", "u1"}},
		{"license", []any{int64(4), int64(10), int64(10)}, &LicenseError{Limit: 10, Used: 10}},
		{"version", []any{int64(5)}, ErrVersionConflict},
		{"member", []any{int64(6), "u9"}, ErrMemberNotFound},
		{"retry", []any{int64(7)}, errRetry},
		{"not an array", "OK", ErrUnavailable},
		{"empty array", []any{}, ErrUnavailable},
		{"code not a number", []any{"0"}, ErrUnavailable},
		{"unknown code", []any{int64(42)}, ErrUnavailable},
		{"unique without holder", []any{int64(3), "userName"}, ErrUnavailable},
		{"license with string", []any{int64(4), "10", int64(1)}, ErrUnavailable},
		{"not found without what", []any{int64(1)}, ErrUnavailable},
		{"member id not a string", []any{int64(6), int64(1)}, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, scriptResult("test", tt.reply), tt.want) })
	}
}

// TestParseHolders: a refusal to link of another shape is a bad reply (errPlain
// here), never a panic or a guess; any other reply is errNotHolders.
func TestParseHolders(t *testing.T) {
	names := []any{"", ""}
	for _, tc := range []struct {
		name  string
		reply any
		want  error // nil: parsed
	}{
		{"ids only", []any{int64(7), "", names, []any{"b", "a"}, []any{}}, nil},
		{"with records", []any{int64(7), "email", names, []any{"a"}, []any{}, []any{"a", ""}}, nil},
		{"another code", []any{int64(3), "userName", "u1"}, errNotHolders},
		{"not an array", "OK", errNotHolders},
		{"empty", []any{}, errNotHolders},
		{"bare retry", []any{int64(7)}, errPlain},
		{"matchBy not a string", []any{int64(7), int64(1), names, []any{}, []any{}}, errPlain},
		{"one name", []any{int64(7), "", []any{"a"}, []any{}, []any{}}, errPlain},
		{"ids not strings", []any{int64(7), "", names, []any{int64(1)}, []any{}}, errPlain},
		{"odd records", []any{int64(7), "", names, []any{"a"}, []any{}, []any{"a"}}, errPlain},
		{"bad packing", []any{int64(7), "", names, []any{"a"}, []any{}, []any{"a", "9:x"}}, errPlain},
		{"bad record", []any{int64(7), "", names, []any{"a"}, []any{}, []any{"a", "1:v3:one"}}, errPlain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, _, err := parseHolders(tc.reply)
			switch tc.want {
			case nil:
				if err != nil {
					t.Errorf("err %v", err)
				}
			case errPlain: // a bad reply
				if err == nil || errors.Is(err, errNotHolders) {
					t.Errorf("err %v, want a bad reply", err)
				}
			default:
				if !errors.Is(err, tc.want) {
					t.Errorf("err %v, want %v", err, tc.want)
				}
			}
		})
	}
}

func TestPing(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) { must(t, e.s.Ping(t.Context())) })
}
