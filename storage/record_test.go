package storage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTimeRoundTrip(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
	}{
		{"zero", time.Time{}},
		{"nanoseconds", t0},
		{"other zone", time.Date(2025, 12, 31, 23, 59, 59, 999999999, paris)},
		{"epoch", time.Unix(0, 0)},
		{"before epoch", time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTime(encodeTime(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			// cmp compares times with Time.Equal: same instant, any zone.
			if d := cmp.Diff(tt.in, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("location = %v, want UTC", got.Location())
			}
		})
	}
}

func TestLexMember(t *testing.T) {
	tests := []struct {
		name, id string
	}{
		{"alice", "u1"},
		{"", "u2"},
		{"a\x00b", "u3"}, // a NUL in the name still leaves the id last
	}
	for _, tt := range tests {
		if got := lexID(lexMember(tt.name, tt.id)); got != tt.id {
			t.Errorf("lexID(lexMember(%q, %q)) = %q", tt.name, tt.id, got)
		}
	}
}

// TestUnpackHash reads find_users.lua's packing: values may hold ':' and
// digits, or be empty; a broken packing is an error, never a wrong record.
func TestUnpackHash(t *testing.T) {
	for _, tc := range []struct {
		packed string
		want   map[string]string
		bad    bool
	}{
		{packed: "3:doc13:{\"a\":\"1:2:3\"}1:v0:", want: map[string]string{"doc": `{"a":"1:2:3"}`, "v": ""}},
		{packed: "1:a2:éx", bad: true},   // a length past the end
		{packed: "1:a1:b1:c", bad: true}, // a field without a value
		{packed: "x:a1:b", bad: true},    // no length
		{packed: "1:a-1:b", bad: true},   // a negative length
		{packed: "1:a1", bad: true},      // no colon
	} {
		got, err := unpackHash(tc.packed)
		var p packedFields
		inPlace := p.unpack(tc.packed)
		if tc.bad {
			if err == nil || inPlace {
				t.Errorf("%q: %v (in place: %v), want an error", tc.packed, got, inPlace)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.packed, got, err, tc.want)
		}
		for f, v := range tc.want {
			if !inPlace || p.get(f) != v {
				t.Errorf("%q: in place %v, field %q = %q, want %q", tc.packed, inPlace, f, p.get(f), v)
			}
		}
		if p.get("absent") != "" {
			t.Errorf("%q: an absent field reads %q", tc.packed, p.get("absent"))
		}
	}
	// More fields than packedFields has room for: read through a map.
	var many strings.Builder
	for i := range 20 {
		f := fmt.Sprintf("f%d", i)
		fmt.Fprintf(&many, "%d:%s1:%d", len(f), f, i%10)
	}
	var p packedFields
	if p.unpack(many.String()) {
		t.Errorf("20 fields unpacked in place")
	}
	if u, err := parsePackedUser("u1", many.String()+"1:v1:7"); err != nil || u.Version != 7 {
		t.Errorf("a record of 21 fields: version %d, %v; want it read (version 7)", u.Version, err)
	}
}

// TestUserNameKeyASCII: the ASCII shortcut of UserNameKey gives the key the
// general folding gives, for every ASCII character alone and among others.
func TestUserNameKeyASCII(t *testing.T) {
	cases := []string{"", "  Ann.Lee@Example.COM\t", "\v\f\r\n x \x00\x1f\x7f", "KELVIN k", "a\u00a0b"[:1]}
	for c := 0; c < 0x80; c++ {
		cases = append(cases, string(rune(c)), "A"+string(rune(c))+"z", string(rune(c))+" Q ")
	}
	for _, s := range cases {
		if got, want := UserNameKey(s), foldUserName(s); got != want {
			t.Errorf("UserNameKey(%q) = %q, want %q", s, got, want)
		}
	}
}
