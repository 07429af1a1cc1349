package main

import (
	"context"
	"io"
	"log/slog"
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

// TestServeLogsConsoleURL: plain serve logs where the console is, so a
// newcomer's quick start leads to it; the page it names answers.
func TestServeLogsConsoleURL(t *testing.T) {
	cfg, err := parseServeEnv([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, io.Discard, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	m, err := start(cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.wait(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		m.close()
	})
	want := "url=http://" + m.ln.Addr().String() + "/console/ "
	if got := logs.String(); !strings.Contains(got, "msg=console "+want) {
		t.Fatalf("serve logged %q, want a console line with %q", got, want)
	}
	resp, err := http.Get("http://" + m.ln.Addr().String() + "/console/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the logged console's sign-in page answered %d", resp.StatusCode)
	}
}
