package main

import (
	"io"
	"net/http"
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
