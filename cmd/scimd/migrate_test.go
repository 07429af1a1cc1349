package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// migrateEnv is an embedded Redis with tenants acme and other, and a runner
// of `scimd migrate` against it.
type migrateEnv struct {
	url string
	rdb redis.UniversalClient
	st  *storage.Store
}

func newMigrateEnv(t *testing.T) migrateEnv {
	t.Helper()
	url, rdb := storagetest.Embedded(t)
	st := storage.New(rdb, storage.Options{})
	at := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"acme", "other"} {
		if err := st.CreateTenant(t.Context(), storage.Tenant{ID: id, Name: id, LicenseLimit: 10, Mode: "idp", Created: at}); err != nil {
			t.Fatal(err)
		}
	}
	return migrateEnv{url: url, rdb: rdb, st: st}
}

// cli runs a subcommand and returns its exit code, stdout and stderr.
func cli(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestMigrateCommandUsage pins the flags and exit codes of `scimd migrate`.
func TestMigrateCommandUsage(t *testing.T) {
	e := newMigrateEnv(t)
	url := e.url
	for _, tt := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no tenant", []string{"--redis-url", url}, "--tenant ID or --all"},
		{"tenant and all", []string{"--tenant", "acme", "--all", "--redis-url", url}, "--tenant ID or --all"},
		{"no redis url", []string{"--tenant", "acme"}, "SCIMD_REDIS_URL is required"},
		{"bad redis url", []string{"--tenant", "acme", "--redis-url", "http://x"}, "--redis-url"},
		{"extra argument", []string{"--tenant", "acme", "--redis-url", url, "now"}, "unexpected argument"},
		{"unknown flag", []string{"--tenant", "acme", "--force"}, "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SCIMD_REDIS_URL", "")
			code, _, stderr := cli(append([]string{"migrate"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.stderr)
			}
		})
	}
	t.Setenv("SCIMD_REDIS_URL", url)
	if code, stdout, stderr := cli("migrate", "--list"); code != 0 || stderr != "" || strings.Count(stdout, "\n") != len(storage.Migrations()) {
		t.Errorf("--list: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := cli("migrate", "--tenant", "nosuch"); code != 1 || !strings.Contains(stderr, `no tenant "nosuch"`) {
		t.Errorf("unknown tenant: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := cli("migrate", "--tenant", "acme", "--redis-url", "redis://127.0.0.1:1"); code != 1 || stdout != "" || !strings.Contains(stderr, "unavailable") {
		t.Errorf("unreachable redis: exit %d, %q, %q", code, stdout, stderr)
	}
	if code, _, _ := cli("help"); code != 0 {
		t.Errorf("help: exit %d", code)
	}
	if _, stdout, _ := cli("help"); !strings.Contains(stdout, "scimd migrate") {
		t.Errorf("usage does not name migrate:\n%s", stdout)
	}
	code, stdout, stderr := cli("migrate", "--all", "--json")
	var out struct{ Reports []storage.MigrateReport }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 || len(out.Reports) != 2 {
		t.Fatalf("--all --json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	for _, rep := range out.Reports {
		if len(rep.Steps) != len(storage.Migrations()) || !rep.Complete() {
			t.Errorf("tenant %s: %+v", rep.Tenant, rep)
		}
	}
}

// TestMigrateCommandOldData: on users whose externalId index is in the form
// of the release before (found here without spelling a key: the set of a
// value, renamed to the hash it used to be), migrate --dry-run reports and
// changes nothing, migrate moves it, a second run changes nothing, and
// check finds nothing.
func TestMigrateCommandOldData(t *testing.T) {
	e := newMigrateEnv(t)
	ctx := t.Context()
	for _, u := range []storage.User{
		{ID: "u1", Version: 1, Active: true, UserName: "ann", ExternalID: "ext-1", Doc: []byte(`{}`)},
		{ID: "u2", Version: 1, Active: true, UserName: "ben", ExternalID: "ext-2", Doc: []byte(`{}`)},
	} {
		if err := e.st.CreateUser(ctx, "acme", u, nil); err != nil {
			t.Fatal(err)
		}
		var setKey string
		iter := e.rdb.Scan(ctx, 0, "*:"+u.ExternalID, 100).Iterator()
		for iter.Next(ctx) {
			setKey = iter.Val()
		}
		if err := iter.Err(); err != nil || setKey == "" {
			t.Fatalf("no index set for %s: %v", u.ExternalID, err)
		}
		legacy := strings.TrimSuffix(setKey, ":"+u.ExternalID)
		if err := e.rdb.Del(ctx, setKey).Err(); err != nil {
			t.Fatal(err)
		}
		if err := e.rdb.HSet(ctx, legacy, u.ExternalID, u.ID).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A userName indexed lower-cased, as before userName keys: the index
	// is the hash holding the key.
	if err := e.st.CreateUser(ctx, "acme", storage.User{ID: "u3", Version: 1, UserName: "\uff23arl", Doc: []byte(`{}`)}, nil); err != nil {
		t.Fatal(err)
	}
	var nameIndex string
	iter := e.rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		if id, _ := e.rdb.HGet(ctx, iter.Val(), "carl").Result(); id == "u3" {
			nameIndex = iter.Val()
		}
	}
	if err := iter.Err(); err != nil || nameIndex == "" {
		t.Fatalf("no userName index: %v", err)
	}
	if err := e.rdb.HDel(ctx, nameIndex, "carl").Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.HSet(ctx, nameIndex, "\uff43arl", "u3").Err(); err != nil {
		t.Fatal(err)
	}

	t.Setenv("SCIMD_REDIS_URL", e.url)
	if code, stdout, stderr := cli("check", "--all"); code != 0 {
		t.Fatalf("check on old data: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := cli("migrate", "--tenant", "acme", "--dry-run")
	if code != 1 || !strings.Contains(stdout, "user-externalid-sets: pending (examined 2, would change 2)") ||
		!strings.Contains(stdout, "user-username-keys: pending (examined 3, would change 1)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli("migrate", "--all")
	if code != 0 || !strings.Contains(stdout, "tenant acme: user-externalid-sets: done (examined 2, changed 2)") ||
		!strings.Contains(stdout, "tenant acme: user-username-keys: done (examined 3, changed 1)") {
		t.Fatalf("migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli("migrate", "--all")
	if code != 0 || strings.Count(stdout, "done-before (examined 0, changed 0)") != 2*len(storage.Migrations()) {
		t.Fatalf("second migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := cli("check", "--all"); code != 0 || strings.Count(stdout, ": clean") != 2 {
		t.Fatalf("check after migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	if ids, err := e.st.FindUsers(ctx, "acme", storage.UserByUserName, "CARL"); err != nil || len(ids) != 1 {
		t.Errorf("FindUsers(CARL) = %v, %v", ids, err)
	}
	for _, v := range []string{"ext-1", "ext-2"} {
		if ids, err := e.st.FindUsers(ctx, "acme", storage.UserByExternalID, v); err != nil || len(ids) != 1 {
			t.Errorf("FindUsers(%s) = %v, %v", v, ids, err)
		}
	}
}
