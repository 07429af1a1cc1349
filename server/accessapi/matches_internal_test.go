package accessapi

import "testing"

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{``, false},
		{`"e1"`, true},
		{`W/"e1"`, true},
		{` "x" ,  W/"e1" `, true},
		{`*`, true},
		{`"e10"`, false},
		{`"e"`, false},
		{`e1`, false},
		{`,,`, false},
	} {
		if got := matches([]byte(tc.header), []byte(`"e1"`)); got != tc.want {
			t.Errorf("matches(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
