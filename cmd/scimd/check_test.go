package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// TestCheckCommand drives `scimd check` over an embedded Redis: a clean
// tenant, a corrupted one, a repair, and the usage errors.
func TestCheckCommand(t *testing.T) {
	url, rdb := storagetest.Embedded(t)
	ctx := t.Context()
	st := storage.New(rdb, storage.Options{})
	at := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"acme", "other"} {
		if err := st.CreateTenant(ctx, storage.Tenant{ID: id, Name: id, LicenseLimit: 10, Mode: "idp", Created: at}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []storage.User{
		{ID: "u1", Version: 1, Active: true, UserName: "alice", WorkEmail: "alice@example.com", EmployeeNumber: "1", Doc: []byte(`{}`)},
		{ID: "u2", Version: 1, Active: true, UserName: "bob", WorkEmail: "bob@example.com", Doc: []byte(`{}`)},
	} {
		if err := st.CreateUser(ctx, "acme", u, nil); err != nil {
			t.Fatal(err)
		}
	}

	check := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"check"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

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
		{"unknown flag", []string{"--tenant", "acme", "--fix"}, "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SCIMD_REDIS_URL", "")
			code, _, stderr := check(tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.stderr)
			}
		})
	}

	t.Setenv("SCIMD_REDIS_URL", url)
	if code, stdout, stderr := check("--tenant", "acme"); code != 0 || !strings.Contains(stdout, "tenant acme: clean") {
		t.Fatalf("clean tenant: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := check("--tenant", "nosuch"); code != 1 || !strings.Contains(stderr, `no tenant "nosuch"`) {
		t.Fatalf("unknown tenant: exit %d, %q", code, stderr)
	}
	// Port 1 refuses connections at once.
	if code, stdout, stderr := check("--tenant", "acme", "--redis-url", "redis://127.0.0.1:1"); code != 1 || stdout != "" || !strings.Contains(stderr, "unavailable") {
		t.Fatalf("unreachable redis: exit %d, %q, %q", code, stdout, stderr)
	}

	// Corrupt without naming a key (keys.go is the only place that spells
	// them): this store holds the two tenants only, and its only sets are
	// acme's email and employeeNumber indexes.
	var sets []string
	iter := rdb.Scan(ctx, 0, "", 100).Iterator()
	for iter.Next(ctx) {
		if typ, err := rdb.Type(ctx, iter.Val()).Result(); err != nil {
			t.Fatal(err)
		} else if typ == "set" {
			sets = append(sets, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(sets) != 3 {
		t.Fatalf("sets %v, want acme's 3 index sets", sets)
	}
	if err := rdb.Del(ctx, sets...).Err(); err != nil {
		t.Fatal(err)
	}

	code, stdout, _ := check("--tenant", "acme")
	if code != 1 || strings.Count(stdout, "index-missing") != 3 || !strings.Contains(stdout, "--repair") {
		t.Fatalf("corrupt tenant: exit %d\n%s", code, stdout)
	}

	code, stdout, stderr := check("--all", "--repair", "--json")
	if code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
	}
	var out struct{ Reports []storage.CheckReport }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	if len(out.Reports) != 2 {
		t.Fatalf("%d reports, want 2: %s", len(out.Reports), stdout)
	}
	for _, rep := range out.Reports {
		want := map[string]int{"acme": 3, "other": 0}[rep.Tenant]
		if len(rep.Findings) != want || rep.Unrepaired() != 0 {
			t.Errorf("tenant %s: %+v, want %d findings, all repaired", rep.Tenant, rep.Findings, want)
		}
	}
	if ids, err := st.FindUsers(ctx, "acme", storage.UserByWorkEmail, "alice@example.com"); err != nil || len(ids) != 1 || ids[0] != "u1" {
		t.Errorf("FindUsers after repair: %v, %v", ids, err)
	}

	if code, stdout, stderr := check("--all"); code != 0 || strings.Count(stdout, ": clean") != 2 {
		t.Fatalf("after repair: exit %d\n%s%s", code, stdout, stderr)
	}
}
