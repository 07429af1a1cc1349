package main

import (
	"context"
	"io"
	"log/slog"
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
		args := append([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, tc.args...)
		cfg, err := parseServeEnv(args, io.Discard, func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.wait(ctx) }()
		resp, err := http.Get("http://" + m.ln.Addr().String() + "/console/operator/sign-in")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%v: /console/operator/sign-in answered %d, want %d", tc.args, resp.StatusCode, tc.want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		m.close()
	}
}
