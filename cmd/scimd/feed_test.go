package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestShutdownEndsChangeStreams: an open change stream does not hold the
// shutdown (which would wait for it up to 15 s and report an error): serve
// ends it first, and the client sees its end.
func TestShutdownEndsChangeStreams(t *testing.T) {
	cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.wait(ctx) }()
	base := "http://" + m.ln.Addr().String()

	req, _ := http.NewRequest(http.MethodPost, base+"/admin/v1/tenants", strings.NewReader(`{"id":"feed","name":"Feed","licenseLimit":5}`))
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create tenant: %v %v", res, err)
	}
	var created struct{ AdminToken string }
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	req, _ = http.NewRequest(http.MethodPost, base+"/admin/v1/tenants/feed/decision-tokens", strings.NewReader(`{"name":"platform"}`))
	req.Header.Set("Authorization", "Bearer "+created.AdminToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("decision token: %v %v", res, err)
	}
	var minted struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&minted); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	req, _ = http.NewRequest(http.MethodGet, base+"/access/v1/tenants/feed/changes", nil)
	req.Header.Set("Authorization", "Bearer "+minted.Token)
	req.Header.Set("Accept", "text/event-stream")
	res, err = (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("open stream: %v %v", res, err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("first line %q, %v", line, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("stream ended with %v, want its end", err)
	}
}
