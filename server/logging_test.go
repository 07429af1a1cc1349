package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/reqbody"
	"github.com/scimd/scimd/storage"
)

// TestMain keeps the access log (a line per request, at info) out of test
// output; warnings and errors still show. It fails the run if any request
// of any test had its body read around reqbody.Read (unbounded).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var stray atomic.Int64
	reqbody.StrayRead = func(c *fiber.Ctx) {
		stray.Add(1)
		fmt.Fprintf(os.Stderr, "FAIL: %s %s read its request body around reqbody.Read\n", c.Method(), c.Route().Path)
	}
	code := m.Run()
	if stray.Load() > 0 && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// lockedBuffer is a log destination tests read while the app may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLog sends the default logger, as scimd serve builds it, to a
// buffer until the test ends. Not parallel: the default logger is global.
func captureLog(t *testing.T) *lockedBuffer {
	t.Helper()
	var buf lockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(server.LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &buf
}

// TestAccessLog: every request gets an id, in X-Request-ID and on its access
// log line; the log holds route templates and ids, never the tokens, user
// names or emails the requests carried.
func TestAccessLog(t *testing.T) {
	logs := captureLog(t)
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	h := newMeteredHarness(t, e.URL())
	tn := h.newTenant(5)
	email := "ada.lovelace@analytical.example"
	created := h.do("POST", tn.Base+"/Users", tn.SCIMToken, map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": email,
		"emails":   []map[string]any{{"value": email, "type": "work", "primary": true}},
		"name":     map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"password": "Secret-Passw0rd",
	}).want(201)
	userID, _ := created.json()["id"].(string)
	responses := []response{
		created,
		h.do("GET", tn.Base+"/Users?filter="+url.QueryEscape(`userName eq "`+email+`"`), tn.SCIMToken, nil).want(200),
		h.do("GET", "/admin/v1/tenants/"+tn.ID+"/users/"+userID, tn.AdminToken, nil).want(200),
		h.do("GET", tn.Base+"/Users", "not-the-token", nil).want(401),
		h.do("GET", "/healthz", "", nil, "X-Request-ID", "proxy-7f3a.2").want(200),
		h.do("GET", "/healthz", "", nil, "X-Request-ID", `forged" level=ERROR`).want(200),
	}
	// An outage makes the SCIM edge log a warning of its own (the token
	// check is cached, so the request gets that far).
	e.Close()
	responses = append(responses, h.do("GET", tn.Base+"/Users/"+userID, tn.SCIMToken, nil).want(503))

	type line struct {
		Msg       string  `json:"msg"`
		RequestID string  `json:"request_id"`
		Method    string  `json:"method"`
		Route     string  `json:"route"`
		Status    int     `json:"status"`
		Duration  float64 `json:"duration_ms"`
		Tenant    string  `json:"tenant"`
	}
	text := logs.String()
	byID := map[string]line{}
	dec := json.NewDecoder(strings.NewReader(text))
	for {
		var l line
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("log is not JSON lines: %v\n%s", err, text)
		}
		if l.RequestID == "" {
			t.Errorf("log line %q has no request id", l.Msg)
		}
		if l.Msg == "request" {
			byID[l.RequestID] = l
		}
	}
	for i, r := range responses {
		id := r.header.Get("X-Request-ID")
		if id == "" {
			t.Errorf("response %d has no X-Request-ID", i)
			continue
		}
		if _, ok := byID[id]; !ok {
			t.Errorf("response %d: request id %q is on no access log line", i, id)
		}
	}
	if got := responses[4].header.Get("X-Request-ID"); got != "proxy-7f3a.2" {
		t.Errorf("a plain client request id became %q", got)
	}
	if got := responses[5].header.Get("X-Request-ID"); strings.Contains(got, "forged") {
		t.Errorf("a client request id with quotes and spaces was kept: %q", got)
	}
	want := line{Msg: "request", RequestID: responses[0].header.Get("X-Request-ID"), Method: "POST", Route: "/scim/v2/{tenant}/Users", Status: 201, Tenant: tn.ID}
	got := byID[want.RequestID]
	got.Duration = 0
	if got != want {
		t.Errorf("access log line %+v, want %+v", got, want)
	}
	for name, secret := range map[string]string{
		"SCIM token": tn.SCIMToken, "admin token": tn.AdminToken, "operator token": operatorToken,
		"email": email, "email (escaped)": url.QueryEscape(email), "family name": "Lovelace", "password": "Secret-Passw0rd", "bearer": "Bearer",
	} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds the %s", name)
		}
	}
}
