package access

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimd/scimd/policies"
)

var (
	editor  = &policies.EffectiveRole{Role: "Editor", Score: 40, Rule: "highest_score"}
	admin   = &policies.EffectiveRole{Role: "Enterprise Admin", Score: 100, Rule: "highest_score"}
	oddRole = &policies.EffectiveRole{Role: `<"q\u2028">&`, Score: 1, Rule: "tie"}
)

// encodeCases are decisions and names the encoder must write exactly as
// encoding/json does.
var encodeCases = []struct {
	name, user, userName, externalID, revision string
	access                                     policies.Access
}{
	{"no access", "u1", "a@x", "ext-a", "rev1", policies.Access{Active: true}},
	{"roles", "u2", "b@x", "", "rev1", policies.Access{Active: true, Enterprise: admin, Accounts: map[string]*policies.EffectiveRole{"news": editor, "sport": nil}}},
	{"inactive", "u3", "c@x", "c", "r", policies.Access{Accounts: map[string]*policies.EffectiveRole{}}},
	{"odd names", `u"4\`, "é<d>&\x01@x", "\xff", `r"ev`, policies.Access{Active: true, Enterprise: oddRole, Accounts: map[string]*policies.EffectiveRole{`a"b`: oddRole}}},
}

// TestEncoderRecord: a record is byte for byte what encoding/json writes
// for the Record, and reads back.
func TestEncoderRecord(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 4, 5, 600, time.FixedZone("x", 3600))
	for _, tt := range encodeCases {
		t.Run(tt.name, func(t *testing.T) {
			enc := newEncoder(tt.revision, at)
			got := enc.record(tt.user, enc.decision("hash", tt.access), "hash", 42)
			a := tt.access
			if a.Accounts == nil {
				a.Accounts = map[string]*policies.EffectiveRole{}
			}
			want := mustJSON(Record{User: tt.user, Active: a.Active, Enterprise: a.Enterprise, Accounts: a.Accounts, Revision: tt.revision,
				Generation: 42, InputHash: "hash", ETag: etag(a, tt.revision), DecidedAt: at.UTC()})
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("record (-encoding/json +encoder):\n%s", diff)
			}
			o, ok := enc.old(got)
			if !ok {
				t.Fatalf("old(%s) not read", got)
			}
			if diff := cmp.Diff(a, o.access); diff != "" {
				t.Errorf("old access (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEncoderEntry: a feed entry is byte for byte what encoding/json writes
// for the FeedEntry.
func TestEncoderEntry(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC)
	cause := Cause{Kind: "grant", ID: `g"1`, Generation: 7}
	for _, tt := range encodeCases {
		for _, shape := range []string{"new", "changed", "deleted"} {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				enc := newEncoder(tt.revision, at)
				want := FeedEntry{User: tt.user, UserName: tt.userName, ExternalID: tt.externalID, Cause: cause, Revision: tt.revision, Generation: 7, At: at}
				var old, new []byte
				if shape != "new" {
					prev := policies.Access{Active: true, Enterprise: editor}
					want.Old = &prev
					old = mustJSON(prev)
				}
				if shape != "deleted" {
					d := enc.decision("h", tt.access)
					a := tt.access
					if a.Accounts == nil {
						a.Accounts = map[string]*policies.EffectiveRole{}
					}
					want.New = &a
					new = d.json
				}
				got := enc.entry(tt.user, tt.userName, tt.externalID, old, new, cause)
				if diff := cmp.Diff(string(mustJSON(want)), string(got)); diff != "" {
					t.Errorf("entry (-encoding/json +encoder):\n%s", diff)
				}
			})
		}
	}
}

// TestEncoderOld: a stored record's decision is read in place when the
// record is one this package writes; anything else is left to parseRecord.
func TestEncoderOld(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want *policies.Access // nil: not read in place
	}{
		{"null accounts", `{"user":"u","active":true,"enterprise":null,"accounts":null,"revision":"r"}`, &policies.Access{Active: true}},
		{"escaped user", `{"user":"a\",\"active\":false","active":true,"enterprise":null,"accounts":{},"revision":"r"}`,
			&policies.Access{Active: true, Accounts: map[string]*policies.EffectiveRole{}}},
		{"other order", `{"active":true,"user":"u","enterprise":null,"accounts":{},"revision":"r"}`, nil},
		{"no revision", `{"user":"u","active":true,"enterprise":null,"accounts":{}}`, nil},
		{"bad part", `{"user":"u","active":yes,"revision":"r"}`, nil},
		{"cut", `{"user":"u`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ok := newEncoder("r", time.Time{}).old([]byte(tt.raw))
			if ok != (tt.want != nil) {
				t.Fatalf("read = %v, want %v", ok, tt.want != nil)
			}
			if ok {
				if diff := cmp.Diff(*tt.want, o.access); diff != "" {
					t.Errorf("access (-want +got):\n%s", diff)
				}
				var back policies.Access
				if err := json.Unmarshal(o.json, &back); err != nil || !cmp.Equal(back, o.access) {
					t.Errorf("json %s does not read back (%v)", o.json, err)
				}
			}
		})
	}
}
