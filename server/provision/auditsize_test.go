package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAuditEventBound: whatever a change holds, its stored event is at most
// MaxAuditEventBytes (one tenant's stream reached 106 MB for 120 events of
// 1 MB values); small values stay whole, large ones become a marker whose
// hash matches the value.
func TestAuditEventBound(t *testing.T) {
	big := strings.Repeat("é", 1<<20) // 2 MB, and cut only at a character boundary
	ids := make([]any, 20000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
	}
	many := make([]Change, 5000)
	for i := range many {
		many[i] = Change{Attribute: fmt.Sprintf("urn:x:attr%d", i), Old: strings.Repeat("o", 400), New: strings.Repeat("n", 400)}
	}
	dropped := make([]string, 10000)
	for i := range dropped {
		dropped[i] = strings.Repeat("x", 1000)
	}
	actor := &ActorRef{Kind: ActorAdmin, Name: "ines@acme.example"}
	for _, tc := range []struct {
		name string
		e    AuditEvent
		// check looks at the stored event, decoded.
		check func(t *testing.T, got map[string]any)
	}{
		{"small values stay whole", AuditEvent{Changes: []Change{{Attribute: "displayName", Old: "Ines", New: "Inès"}}},
			func(t *testing.T, got map[string]any) {
				want := `[{"attribute":"displayName","new":"Inès","old":"Ines"}]`
				if g := compact(t, got["changes"]); g != want {
					t.Errorf("changes %s, want %s", g, want)
				}
			}},
		{"a 2 MB value", AuditEvent{Actor: actor, Changes: []Change{{Attribute: "displayName", Old: "Ines", New: big}}},
			func(t *testing.T, got map[string]any) {
				sum := sha256.Sum256([]byte(big))
				nv := got["changes"].([]any)[0].(map[string]any)["new"].(map[string]any)
				if nv["truncated"] != true || nv["sha256"] != hex.EncodeToString(sum[:]) || nv["bytes"] != float64(len(big)) || !strings.HasPrefix(big, nv["prefix"].(string)) || nv["prefix"] == "" {
					t.Errorf("marker %v", nv)
				}
				if old := got["changes"].([]any)[0].(map[string]any)["old"]; old != "Ines" {
					t.Errorf("old %v", old)
				}
			}},
		{"20,000 members added", AuditEvent{Changes: []Change{{Attribute: "members", Added: ids, Removed: ids[:3]}}},
			func(t *testing.T, got map[string]any) {
				c := got["changes"].([]any)[0].(map[string]any)
				if m, ok := c["added"].(map[string]any); !ok || m["count"] != float64(20000) || m["truncated"] != true {
					t.Errorf("added %v", c["added"])
				}
				if l, ok := c["removed"].([]any); !ok || len(l) != 3 {
					t.Errorf("removed %v", c["removed"])
				}
			}},
		{"5,000 attributes", AuditEvent{Changes: many},
			func(t *testing.T, got map[string]any) {
				c := got["changes"].([]any)
				if len(c) != 1 || c[0].(map[string]any)["attribute"] != "*" || c[0].(map[string]any)["new"].(map[string]any)["count"] != float64(5000) {
					t.Errorf("changes %.200v", c)
				}
			}},
		{"10,000 dropped attributes", AuditEvent{Dropped: dropped},
			func(t *testing.T, got map[string]any) {
				d := got["droppedAttributes"].([]any)
				if len(d) != auditDroppedNames+1 || d[auditDroppedNames] != "(9968 more)" {
					t.Errorf("dropped %d names, last %v", len(d), d[len(d)-1])
				}
			}},
		{"a huge target id", AuditEvent{TargetID: big}, func(t *testing.T, got map[string]any) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.e.Time, tc.e.Source, tc.e.Action, tc.e.TargetType = time.Now(), "admin", "user.update", "User"
			b := tc.e.encode()
			raw, _ := json.Marshal(tc.e)
			t.Logf("%d bytes unbounded, %d stored", len(raw), len(b))
			if len(b) > MaxAuditEventBytes {
				t.Fatalf("event is %d bytes, more than %d", len(b), MaxAuditEventBytes)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			var back AuditEvent
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("does not read back: %v", err)
			}
			tc.check(t, got)
		})
	}
}

func compact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAuditEventJSON: the hand-written encoding of an event is
// encoding/json's, byte for byte, whatever its fields hold.
func TestAuditEventJSON(t *testing.T) {
	ip := "192.0.2.1"
	at := time.Date(2026, 12, 7, 3, 4, 5, 60708, time.UTC)
	for name, e := range map[string]AuditEvent{
		"empty":          {},
		"scim create":    {Time: at, Source: "scim", Action: "user.create", TargetType: "User", TargetID: "u1", Changes: []Change{{Attribute: "userName", New: "a<b>@x"}, {Attribute: "emails", New: []any{map[string]any{"value": "a@x", "primary": true}}}}},
		"admin":          {Time: at.In(time.FixedZone("x", 3600)), Source: "admin", Actor: &ActorRef{Kind: ActorAdmin, Name: "ann\u2028"}, IP: &ip, Action: "group.update", Changes: []Change{{Attribute: "members", Added: []any{"u1"}, Removed: []string{"u2"}}, {Attribute: "n", Old: 1.5, New: 1e21}}},
		"operator":       {Time: at, Actor: &ActorRef{Kind: ActorOperator}, Dropped: []string{"x", "\xff"}},
		"marker":         {Time: at, Changes: []Change{{Attribute: "*", New: Truncated{Truncated: true, Bytes: 3, SHA256: "ab", Prefix: "p"}}}},
		"no time at all": {Time: time.Time{}, Changes: []Change{{Attribute: "a", Old: nil, New: false}}},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.json(); string(got) != string(want) {
			t.Errorf("%s: %s\nencoding/json: %s", name, got, want)
		}
	}
}

// TestIDListEncodesAsAnySlice: a member change's ids as idList (no boxing)
// are stored exactly as anySlice stored them, whole or as a marker.
func TestIDListEncodesAsAnySlice(t *testing.T) {
	for _, n := range []int{0, 1, 3, 20, 20000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%08d-0000-4000-8000-<&>\u2028", i)
		}
		at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
		event := func(added, removed any) string {
			return string(AuditEvent{Time: at, Source: "scim", Action: "group.update", TargetType: "Group", TargetID: "g",
				Changes: []Change{{Attribute: "members", Added: added, Removed: removed}}}.encode())
		}
		if got, want := event(idList(ids), idList(ids[:n/2])), event(anySlice(ids), anySlice(ids[:n/2])); got != want {
			t.Errorf("%d ids: idList gives\n%.300s\nanySlice gives\n%.300s", n, got, want)
		}
	}
}
