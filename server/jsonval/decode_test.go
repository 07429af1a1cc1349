package jsonval

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// decodeSame fails unless Decode(doc) is what a json.Decoder with UseNumber
// decodes (one value, then only whitespace), or Decode refuses it.
// mustTake says Decode may not refuse it.
func decodeSame(t *testing.T, doc []byte, mustTake bool) {
	t.Helper()
	got, gerr := Decode(doc)
	var want any
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	werr := d.Decode(&want)
	if werr == nil && len(bytes.TrimLeft(doc[d.InputOffset():], " \t\r\n")) > 0 {
		werr = errors.New("data after the value")
	}
	switch {
	case gerr != nil && mustTake:
		t.Errorf("Decode(%q) refused it; encoding/json: %#v, %v", doc, want, werr)
	case gerr == nil && werr != nil:
		t.Errorf("Decode(%q) = %#v; encoding/json refuses it: %v", doc, got, werr)
	case gerr == nil && !reflect.DeepEqual(got, want):
		t.Errorf("Decode(%q) = %#v; encoding/json: %#v", doc, got, want)
	}
}

func TestDecodeIsEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `""`, `"x"`, `0`, `-0`, `1.5e-9`, `-12E+3`, `true`, `false`, `null`, ` {"a" : [ 1 , "b" , null , true , false , {} , [] ] } `,
		`{"userName":"a@b","name":{"givenName":"A"},"emails":[{"value":"x","primary":true}]}`,
		`{"a":1,"a":2}`, `{"a":{"b":1},"a":"c"}`, `"esc \" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u2028 \u0000"`,
		`"ünïcödé 日本 🙂"`, `{"k\u00e9y":"v"}`, `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18}`,
	} {
		decodeSame(t, []byte(doc), true)
	}
	for _, doc := range []string{
		``, ` `, `{`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{a:1}`, `{'a':1}`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `[+1]`, `[-]`,
		`"unterminated`, "\"ctl \x01\"", `"bad \x escape"`, `"\u12"`, `"\u12g4"`, `tru`, `nul`, `falsey`, `{} {}`, `{}]`, `[] x`,
		`"\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"a":1 "b":2}`, `[1 2]`, `{"a" 1}`, `NaN`, `Infinity`, `0x10`,
	} {
		decodeSame(t, []byte(doc), false)
	}
}

func FuzzDecodeIsEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-9,"x\u2028<>&"],"b":{"c":null,"d":true}}`, `"\ud800"`, `[1e300, -0, 0.000001]`, `{"a":1,"a":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		decodeSame(t, doc, false)
	})
}
