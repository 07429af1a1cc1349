package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/server/feed"
)

// verifySignature is what a receiver does (README): recompute the HMAC over
// "<t>.<body>" with the secret, compare in constant time, and refuse a
// timestamp too far from now (a replay).
func verifySignature(header, secret string, body []byte, now time.Time) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

// receiver is a webhook endpoint of the test's: answer decides each
// attempt's status (by its number, from 1); every delivery is kept.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(n int) int
	// arrived receives after each delivery.
	arrived chan struct{}
}

type delivery struct {
	signature, tenant string
	body              []byte
	status            int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Error(err)
		}
		r.mu.Lock()
		status := r.answer(len(r.got) + 1)
		r.got = append(r.got, delivery{signature: req.Header.Get(feed.SignatureHeader), tenant: req.Header.Get("X-Scimd-Tenant"), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// webhookHarness is a server whose webhooks may reach loopback, retry at
// once and look for work often, with its delivery started.
func webhookHarness(t *testing.T, url string, set func(*feed.WebhookOptions)) *harness {
	h := newHarnessConfig(t, url, func(c *server.Config) {
		c.WebhookOptions = feed.WebhookOptions{AllowPrivate: true, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Scan: 10 * time.Millisecond}
		if set != nil {
			set(&c.WebhookOptions)
		}
	})
	h.srv.Start()
	return h
}

func (h *harness) putWebhook(tenant, url string) string {
	h.t.Helper()
	var out struct{ Secret, URL string }
	h.do(http.MethodPut, "/admin/v1/tenants/"+tenant+"/webhook", operatorToken, map[string]any{"url": url}).want(200).decode(&out)
	if !strings.HasPrefix(out.Secret, "whsec_") || out.URL != url {
		h.t.Fatalf("webhook put: %+v", out)
	}
	return out.Secret
}

type webhookStatus struct {
	URL, Secret, Cursor, LastError string
	LastStatus                     int
	Failures, Delivered            int64
	DeadLetters                    int64
	RecentDeadLetters              []struct {
		First, Last, Error string
		Count, Attempts    int
	}
}

func (h *harness) webhookStatus(tenant string) webhookStatus {
	h.t.Helper()
	var s webhookStatus
	h.do(http.MethodGet, "/admin/v1/tenants/"+tenant+"/webhook", operatorToken, nil).want(200).decode(&s)
	return s
}

// eventually waits until cond holds; the bound only keeps a broken test
// from hanging, no assertion depends on it.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		<-tick.C
	}
}

func TestWebhookDelivery(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, url string) {
		h := webhookHarness(t, url, nil)
		ten := h.newTenant(10)
		// The first attempt fails; the retry succeeds.
		rcv := newReceiver(t, func(n int) int {
			if n == 1 {
				return 500
			}
			return 200
		})
		secret := h.putWebhook(ten.ID, rcv.srv.URL+"/hook")
		ids := []string{h.appendChange(ten.ID, "u1"), h.appendChange(ten.ID, "u2")}
		eventually(t, "the batch delivered", func() bool { return h.webhookStatus(ten.ID).Cursor == ids[1] })

		got := rcv.deliveries()
		if len(got) < 2 || got[0].status != 500 {
			t.Fatalf("deliveries %+v, want a 500 then a success", got)
		}
		var changes []string
		for i, d := range got {
			if !verifySignature(d.signature, secret, d.body, time.Now()) {
				t.Errorf("delivery %d: signature %q does not verify", i, d.signature)
			}
			if verifySignature(d.signature, "whsec_other", d.body, time.Now()) {
				t.Errorf("delivery %d verifies with another secret", i)
			}
			if d.tenant != ten.ID {
				t.Errorf("X-Scimd-Tenant %q", d.tenant)
			}
			var b struct {
				Tenant  string
				Changes []struct{ ID, User string }
				Next    string
			}
			if err := json.Unmarshal(d.body, &b); err != nil || b.Tenant != ten.ID {
				t.Fatalf("body %s: %v", d.body, err)
			}
			if d.status == 200 {
				for _, c := range b.Changes {
					changes = append(changes, c.ID)
				}
			}
		}
		if strings.Join(changes, " ") != strings.Join(ids, " ") {
			t.Errorf("delivered %v, want %v in order", changes, ids)
		}
		st := h.webhookStatus(ten.ID)
		if st.Delivered != 2 || st.LastStatus != 200 || st.LastError != "" || st.Failures != 0 || st.Secret != "" {
			t.Errorf("status %+v", st)
		}
	})
}

func TestWebhookDeadLetter(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, url string) {
		h := webhookHarness(t, url, func(o *feed.WebhookOptions) { o.Attempts = 3 })
		ten := h.newTenant(10)
		rcv := newReceiver(t, func(int) int { return 503 })
		h.putWebhook(ten.ID, rcv.srv.URL)
		id := h.appendChange(ten.ID, "u1")
		eventually(t, "the batch dead-lettered", func() bool { return h.webhookStatus(ten.ID).DeadLetters == 1 })
		st := h.webhookStatus(ten.ID)
		if st.Cursor != id || len(st.RecentDeadLetters) != 1 {
			t.Fatalf("status %+v", st)
		}
		if d := st.RecentDeadLetters[0]; d.First != id || d.Last != id || d.Count != 1 || d.Attempts != 3 || !strings.Contains(d.Error, "503") {
			t.Errorf("dead letter %+v", d)
		}
		if n := len(rcv.deliveries()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
}

// TestWebhookDoesNotBlockProvisioning: a receiver that never answers, and
// one nobody listens at, leave SCIM writes as they were.
func TestWebhookDoesNotBlockProvisioning(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, url string) {
		h := webhookHarness(t, url, func(o *feed.WebhookOptions) { o.Timeout = time.Hour })
		hang := make(chan struct{})
		entered := make(chan struct{}, 10)
		stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-hang
		}))
		t.Cleanup(stuck.Close)
		t.Cleanup(func() { close(hang) })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String()
		ln.Close()

		a, b := h.newTenant(10), h.newTenant(10)
		h.putWebhook(a.ID, stuck.URL)
		h.putWebhook(b.ID, closed)
		h.appendChange(a.ID, "u1")
		h.appendChange(b.ID, "u1")
		<-entered // a's delivery hangs from here on
		eventually(t, "b's delivery failing", func() bool { return h.webhookStatus(b.ID).LastError != "" })
		for _, ten := range []tenant{a, b} {
			id, _ := h.do(http.MethodPost, ten.Base+"/Users", ten.SCIMToken, userBody("hook.user@example.com")).want(201).json()["id"].(string)
			h.do(http.MethodPatch, ten.Base+"/Users/"+id, ten.SCIMToken, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "replace", "path": "active", "value": false}},
			}).want(200)
		}
		if st := h.webhookStatus(b.ID); !strings.Contains(st.LastError, "sending") {
			t.Errorf("unreachable hook's status %+v", st)
		}
	})
}

func TestWebhookOperatorOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ten := h.newTenant(10)
		for _, tt := range []struct {
			name, url string
			want      int
		}{
			{"loopback", "http://127.0.0.1:9/hook", 400},
			{"loopback v6", "http://[::1]/hook", 400},
			{"localhost", "https://localhost/hook", 400},
			{"private", "http://10.1.2.3/hook", 400},
			{"private 192.168", "https://192.168.1.1/", 400},
			{"metadata (link-local)", "http://169.254.169.254/latest", 400},
			{"carrier NAT", "http://100.64.0.1/", 400},
			{"mapped loopback", "http://[::ffff:127.0.0.1]/", 400},
			{"unspecified", "http://0.0.0.0/", 400},
			{"not http", "ftp://example.com/", 400},
			{"relative", "/hook", 400},
			{"credentials", "https://user:pw@93.184.216.34/", 400},
			{"public address", "https://93.184.216.34/hook", 200},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := h.do(http.MethodPut, "/admin/v1/tenants/"+ten.ID+"/webhook", operatorToken, map[string]any{"url": tt.url}).want(tt.want)
				if tt.want == 400 {
					r.detail()
				}
			})
		}
		h.do(http.MethodPut, "/admin/v1/tenants/"+ten.ID+"/webhook", ten.AdminToken, map[string]any{"url": "https://93.184.216.34/"}).want(401)
		h.do(http.MethodGet, "/admin/v1/tenants/"+ten.ID+"/webhook", ten.AdminToken, nil).want(401)
		h.do(http.MethodPut, "/admin/v1/tenants/"+ten.ID+"/webhook", operatorToken, map[string]any{"url": "https://93.184.216.34/", "extra": 1}).want(400)
		h.do(http.MethodPut, "/admin/v1/tenants/no-such-"+ten.ID+"/webhook", operatorToken, map[string]any{"url": "https://93.184.216.34/"}).want(404)
		if st := h.webhookStatus(ten.ID); st.URL != "https://93.184.216.34/hook" || st.Secret != "" {
			t.Errorf("status %+v", st)
		}
		h.do(http.MethodDelete, "/admin/v1/tenants/"+ten.ID+"/webhook", operatorToken, nil).want(204)
		h.do(http.MethodGet, "/admin/v1/tenants/"+ten.ID+"/webhook", operatorToken, nil).want(404)
		h.do(http.MethodDelete, "/admin/v1/tenants/"+ten.ID+"/webhook", operatorToken, nil).want(404)
	})
}

// forEachBackendURL runs fn once per backend with its URL, for tests that
// build their own servers.
func forEachBackendURL(t *testing.T, fn func(t *testing.T, url string)) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) { fn(t, url) })
	}
}
