package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestConsoleOperatorFlag: the operator's console pages answer only when
// serve is given --console-operator.
func TestConsoleOperatorFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, http.StatusNotFound},
		{[]string{"--console-operator"}, http.StatusOK},
	} {
		m := serveForTest(t, io.Discard, tc.args...)
		resp, err := http.Get("http://" + m.ln.Addr().String() + "/console/operator/sign-in")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%v: /console/operator/sign-in answered %d, want %d", tc.args, resp.StatusCode, tc.want)
		}
	}
}

// TestServePrintsConsoleURL: plain serve prints where the console is, so a
// newcomer's quick start leads to it; the page it names answers.
func TestServePrintsConsoleURL(t *testing.T) {
	var out strings.Builder
	m := serveForTest(t, &out)
	want := "console: http://" + m.ln.Addr().String() + "/console/ "
	if !strings.Contains(out.String(), want) {
		t.Fatalf("serve printed %q, want a line with %q", out.String(), want)
	}
	resp, err := http.Get("http://" + m.ln.Addr().String() + "/console/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the printed console's sign-in page answered %d", resp.StatusCode)
	}
}
