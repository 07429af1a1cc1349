package storage

import (
	"errors"
	"testing"
)

// TestUserNameEntryLeftByOldRelease: a replica of the release before
// UserNameKey deletes or renames a user by its lower-cased userName only,
// so a user a new replica created under a key that differs (ß folds to ss)
// leaves that key behind during a rolling restart. The entry must not hold
// the userName for good: a write that meets it, and finds its holder gone
// or renamed, drops it and goes on; a live holder still wins.
func TestUserNameEntryLeftByOldRelease(t *testing.T) {
	run(t, Options{}, 100, func(t *testing.T, e env) {
		ctx := t.Context()
		create := func(u User) error { return e.s.CreateUser(ctx, e.tenant, u, nil) }
		if err := create(user("u1", "Straße")); err != nil {
			t.Fatal(err)
		}
		if err := create(user("u3", "Weiß")); err != nil {
			t.Fatal(err)
		}
		// An old replica deletes u1: record gone, idx[lower(userName)] removed (it never existed).
		redisDo(t, e, "DEL", userKey(e.tenant, "u1"))
		redisDo(t, e, "ZREM", usersKey(e.tenant), "u1")
		redisDo(t, e, "ZREM", userNameLexKey(e.tenant), lexMember("straße", "u1"))
		redisDo(t, e, "HDEL", userNameIndexKey(e.tenant), "straße")
		// An old replica renames u3 to Anna: only lower-cased keys move.
		redisDo(t, e, "HSET", userKey(e.tenant, "u3"), fUserName, "Anna")
		redisDo(t, e, "HDEL", userNameIndexKey(e.tenant), "weiß")
		redisDo(t, e, "HSET", userNameIndexKey(e.tenant), "anna", "u3")

		if err := create(user("u2", "strasse")); err != nil {
			t.Errorf("userName of a user an old replica deleted: %v", err)
		}
		if err := create(user("u4", "WEISS")); err != nil {
			t.Errorf("userName of a user an old replica renamed: %v", err)
		}
		// Live holders still hold: u2 now, and u3 under its new name.
		for _, tc := range []struct{ name, holder string }{{"STRASSE", "u2"}, {"anna", "u3"}} {
			var ue *UniquenessError
			if err := create(user("u5", tc.name)); !errors.As(err, &ue) || ue.HolderID != tc.holder {
				t.Errorf("create %q: %v, want the uniqueness error naming %s", tc.name, err, tc.holder)
			}
		}
		// An update that meets such an entry goes on too.
		if err := create(user("u6", "Fuß")); err != nil {
			t.Fatal(err)
		}
		redisDo(t, e, "DEL", userKey(e.tenant, "u6"))
		if err := create(user("u7", "Bob")); err != nil {
			t.Fatal(err)
		}
		p, err := e.s.GetUser(ctx, e.tenant, "u7")
		if err != nil {
			t.Fatal(err)
		}
		next := p
		next.Version, next.UserName = p.Version+1, "FUSS"
		if err := e.s.UpdateUser(ctx, e.tenant, p, next, nil); err != nil {
			t.Errorf("rename onto the userName of a user an old replica deleted: %v", err)
		}
		// A SCIM create that may link goes on too, and a live holder is
		// named among the holders.
		must(t, create(user("u8", "Groß")))
		must(t, create(user("u9", "Maß")))
		redisDo(t, e, "DEL", userKey(e.tenant, "u8"))
		redisDo(t, e, "HSET", userKey(e.tenant, "u9"), fUserName, "Eve")
		for _, name := range []string{"GROSS", "MASS"} {
			if _, err := e.s.CreateUserUnlinked(ctx, e.tenant, user("n-"+name, name), nil); err != nil {
				t.Errorf("SCIM create of %q, held by an entry an old replica left: %v", name, err)
			}
		}
		h, err := e.s.CreateUserUnlinked(ctx, e.tenant, user("u10", "anna"), nil)
		if !errors.Is(err, ErrMayLink) || len(h.UserName) != 1 || h.UserName[0] != "u3" {
			t.Errorf("SCIM create of anna: %v, holders %v; want ErrMayLink naming u3", err, h.UserName)
		}
	})
}
