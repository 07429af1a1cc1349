package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/access"
	"github.com/scimd/scimd/storage"
)

// TestCheckDecisions: `scimd check --decisions` compares each stored
// access decision with a fresh evaluation and names what is wrong; with
// --repair it queues the tenant for the resolver (cause repair) and writes
// no decision itself.
func TestCheckDecisions(t *testing.T) {
	url := diffTenant(t)
	t.Setenv("SCIMD_REDIS_URL", url)
	ctx := t.Context()
	rdb, err := storage.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Error(err)
		}
	})
	st := storage.New(rdb, storage.Options{})
	engine, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := access.Evaluate(ctx, engine, st, "acme", []string{"u1", "u2", "u3", "u4", "u5", "u6"})
	if err != nil {
		t.Fatal(err)
	}
	record := func(uid string, edit func(m map[string]any)) storage.DecisionWrite {
		a := ev.Decisions[uid].Access
		m := map[string]any{"user": uid, "active": a.Active, "enterprise": a.Enterprise, "accounts": a.Accounts, "revision": ev.Revision, "stale": false}
		if edit != nil {
			edit(m)
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return storage.DecisionWrite{User: uid, Record: raw}
	}
	// u1 and u5 right; u2 says another role; u3 made at another revision;
	// u4 stale; nothing stored for u6.
	if _, err := st.WriteDecisions(ctx, "acme", storage.DecisionBatch{Records: []storage.DecisionWrite{
		record("u1", nil),
		record("u2", func(m map[string]any) {
			m["enterprise"] = policies.EffectiveRole{Role: "Enterprise Admin", Score: 140, Rule: policies.RuleHighestScore}
		}),
		record("u3", func(m map[string]any) { m["revision"] = "0123456789abcdef" }),
		record("u4", func(m map[string]any) { m["stale"] = true }),
		record("u5", nil),
	}}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI("check", "--tenant", "acme", "--decisions")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"access decisions of 6 users checked against policy revision " + engine.Revision(),
		"decisions differs: 1 (u2)",
		"decisions missing: 1 (u6)",
		"decisions other_revision: 1 (u3)",
		"decisions stale: 1 (u4)",
		"4 decisions found wrong (run with --repair",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	before, err := st.OutboxLen(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr = runCLI("check", "--tenant", "acme", "--decisions", "--repair")
	if code != 0 || !strings.Contains(stdout, "every user queued for the resolver to decide again (cause repair)") {
		t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
	}
	entries, err := st.ReadOutbox(ctx, "acme", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(entries)) != before+1 {
		t.Fatalf("outbox holds %d entries after the repair, %d before", len(entries), before)
	}
	last := entries[len(entries)-1]
	if last.Kind != storage.OutboxAll || !strings.Contains(string(last.Cause), `"kind":"repair"`) {
		t.Errorf("queued %+v (cause %s), want all, repair", last, last.Cause)
	}
	// The check writes no decision: u2 is as wrong as before.
	raw, err := st.AccessDecision(ctx, "acme", "u2")
	if err != nil || !strings.Contains(string(raw), "Enterprise Admin") {
		t.Errorf("u2's record changed: %s, %v", raw, err)
	}

	// Without --decisions nothing about decisions is said (tenants whose
	// resolver has not run yet stay clean).
	if code, stdout, _ := runCLI("check", "--tenant", "acme"); code != 0 || strings.Contains(stdout, "decisions") {
		t.Errorf("plain check: exit %d\n%s", code, stdout)
	}
}
