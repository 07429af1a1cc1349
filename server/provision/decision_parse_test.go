package provision

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestParseDecision: the one-pass reader answers what encoding/json does
// for every record, taking the slow path where it must.
func TestParseDecision(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		fast bool // the one pass reads it
	}{
		{"as written", `{"user":"u1","active":true,"enterprise":{"role":"Enterprise Admin","score":90,"rule":"highest_score"},"accounts":{"a":{"role":"Editor","score":50,"rule":"x"},"b":null},"revision":"r","generation":42,"input_hash":"abc","etag":"e","decided_at":"2026-12-06T00:00:00Z","stale":false}`, true},
		{"spaces and order", " { \"stale\" : true , \"accounts\" : { } , \"enterprise\" : null, \"user\":\"u2\", \"generation\": 0 }\n", true},
		{"nested brackets in strings", `{"user":"u3","enterprise":{"role":"a}]\"b","score":1,"rule":"r"},"accounts":{}}`, true},
		{"unknown fields", `{"user":"u4","later":[1,{"x":[2]}],"active":false}`, true},
		{"escaped user", `{"user":"u\u00e9","active":true}`, false},
		{"empty", `{}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fast := scanDecision([]byte(tc.raw))
			if fast != tc.fast {
				t.Errorf("one pass: %v, want %v", fast, tc.fast)
			}
			got, err := parseDecision([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			var r decisionRecord
			if err := json.Unmarshal([]byte(tc.raw), &r); err != nil {
				t.Fatal(err)
			}
			want := Decision{User: r.User, Active: r.Active, Enterprise: r.Enterprise, Accounts: r.Accounts, Revision: r.Revision,
				Generation: r.Generation, ETag: r.ETag, DecidedAt: r.DecidedAt, Stale: r.Stale}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"user":}`, `{"user":"u"`, `{"active":"yes"}`, `{"generation":"1"}`} {
		if _, err := parseDecision([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
